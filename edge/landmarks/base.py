"""The interface every landmarker meets, and the table that picks one by name.

A landmarker is started from a box (the tight box of the 68 points, as produced by
`--box gt` or a mapped detector box) or, when tracking, from the previous frame's
points. It returns 68 points in frame pixels and a score (higher = surer it is a face).
Two optional class attributes tell the tracker more: `scores_faces` (the score is P(face),
so it can judge "still a face" before any detector is asked) and `takes_turned_boxes`
(`fit` levels its own first look by `box.angle`; others are fitted through `fit_box`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from edge.geometry import Box
from edge.imaging import levelled_view
from edge.registry import Registry

FIT_VIEW = 2.0  # a turned box is fitted in an upright window this many box sides wide...
FIT_VIEW_MAX = 480  # ...shrunk to at most this many pixels


@dataclass
class LandmarkResult:
    points: np.ndarray  # (68, 2) float32, frame pixels
    score: float = 1.0  # face confidence; trackers re-detect when it drops
    valid: np.ndarray | None = None  # (68,) bool for landmarkers that only know some points


class Landmarker(Protocol):
    name: str

    def fit(self, frame: np.ndarray, box: Box) -> LandmarkResult:
        """Landmarks for the face in `box` of a BGR (or grey) frame."""
        ...

    def track(self, frame: np.ndarray, previous: np.ndarray) -> LandmarkResult:
        """Landmarks given the previous frame's points; defaults to a fit from their box."""
        ...


CNN_TAKES = {"threads": "num_threads", "model": "model_path", "delegate": "delegate", "style": "style"}

# name -> (factory, help, the common options it takes (edge.parts.PartOptions) -> its keywords), sorted;
# only the named landmarker's module is imported, when it is first made
LANDMARKERS = Registry(
    "landmarker",
    {
        "clm": ("edge.landmarks.clm:CLMLandmarker", "patch experts fitted by the shape model (numpy, TFLite experts)",
                {"threads": "num_threads", "model": "model_path"}),
        "cnn": ("edge.landmarks.cnn:CnnLandmarker", "our CNN regressor, int8 TFLite", CNN_TAKES),
        "cnn+clm": ("edge.landmarks.cnn:CnnClmLandmarker", "the CNN's points refined by the CLM", CNN_TAKES),
        "dlib": ("edge.landmarks.peers:DlibLandmarker", "dlib's shape predictor (workstation peer, `eval` only)"),
        "mean": ("edge.landmarks.mean:MeanLandmarker", "the mean shape in the box (the floor every landmarker must beat)"),
        "mediapipe": ("edge.landmarks.peers:MediapipeLandmarker", "MediaPipe Face Mesh mapped to 68 points (workstation peer)"),
    },
)  # fmt: skip


def make_landmarker(name: str, **kwargs) -> Landmarker:
    """The landmarker `name` with the factory's own keywords (the run options go through `edge.parts.make_part`)."""
    return LANDMARKERS.make(name, **kwargs)


class BoxTracking:
    """Mixin: track by re-fitting from the box of the previous points."""

    def track(self, frame: np.ndarray, previous: np.ndarray) -> LandmarkResult:
        return self.fit(frame, Box.around(previous))  # type: ignore[attr-defined]


def fit_box(landmarker: Landmarker, frame: np.ndarray, box: Box) -> LandmarkResult:
    """`landmarker.fit` from a box that may be turned (`box.angle`, a tilted head): a landmarker that
    takes turned boxes (`takes_turned_boxes`, e.g. the CNN's levelled crop) gets the box as it is;
    any other fits in a window turned upright around it, and its points are turned back."""
    if not box.angle or getattr(landmarker, "takes_turned_boxes", False):
        return landmarker.fit(frame, box)
    side = FIT_VIEW * max(box.w, box.h, 1.0)
    view = levelled_view(frame, box.cx, box.cy, box.angle, side, side, min(1.0, FIT_VIEW_MAX / side))
    s = view.to_view.scale
    cx, cy = view.to_view.apply(np.array([box.cx, box.cy], dtype=np.float64))
    res = landmarker.fit(view.image, Box(cx - box.w * s / 2, cy - box.h * s / 2, box.w * s, box.h * s, box.score))
    points = view.to_frame().apply(np.asarray(res.points, dtype=np.float64)).astype(np.float32)
    return LandmarkResult(points, res.score, res.valid)
