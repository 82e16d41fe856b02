"""Annotated face data: readers, identity-disjoint splits, flip augmentation, which detection is the annotated face; video clip splits."""

from edge.data.flip import flip_points, flip_sample
from edge.data.matching import MATCH_IOU, fit_matched, match_detection
from edge.data.readers import FaceSample, LoadReport, load_dataset, load_image
from edge.data.split import Split, identity_of, load_or_make_split, make_split, recorded_split, split_path
from edge.data.videos import video_clips

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
    "video_clips",
]
