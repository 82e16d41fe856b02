"""Annotated face data: readers, identity-disjoint splits, flip augmentation."""

from convert.data.flip import flip_points, flip_sample
from convert.data.readers import FaceSample, LoadReport, load_dataset, load_image
from convert.data.split import Split, identity_of, load_or_make_split, make_split

__all__ = [
    "FaceSample",
    "LoadReport",
    "Split",
    "flip_points",
    "flip_sample",
    "identity_of",
    "load_dataset",
    "load_image",
    "load_or_make_split",
    "make_split",
]
