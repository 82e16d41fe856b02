"""Annotated face data: readers, identity-disjoint splits, flip augmentation, and which detection is the annotated face."""

from edge.data.flip import flip_points, flip_sample
from edge.data.matching import MATCH_IOU, fit_matched, match_detection
from edge.data.readers import FaceSample, LoadReport, load_dataset, load_image
from edge.data.split import Split, identity_of, load_or_make_split, make_split, recorded_split, split_path

__all__ = [
    "MATCH_IOU",
    "FaceSample",
    "LoadReport",
    "Split",
    "fit_matched",
    "flip_points",
    "flip_sample",
    "identity_of",
    "load_dataset",
    "load_image",
    "load_or_make_split",
    "match_detection",
    "make_split",
    "recorded_split",
    "split_path",
]
