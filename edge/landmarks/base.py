"""The interface every landmarker meets, and the table that picks one by name.

A landmarker is started from a box (the tight box of the 68 points, as produced by
`--box gt` or a mapped detector box) or, when tracking, from the previous frame's
points. It returns 68 points in frame pixels and a score (higher = surer it is a face).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from edge.geometry import Box
from edge.registry import Registry


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


# name -> factory, sorted; only the named landmarker's module is imported, when it is first made
LANDMARKERS = Registry(
    "landmarker",
    {
        "clm": "edge.landmarks.clm:CLMLandmarker",
        "cnn": "edge.landmarks.cnn:CnnLandmarker",
        "cnn+clm": "edge.landmarks.cnn:CnnClmLandmarker",
        "dlib": "edge.landmarks.peers:DlibLandmarker",
        "mean": "edge.landmarks.mean:MeanLandmarker",
        "mediapipe": "edge.landmarks.peers:MediapipeLandmarker",
    },
)


def make_landmarker(name: str, **kwargs) -> Landmarker:
    return LANDMARKERS.make(name, **kwargs)


class BoxTracking:
    """Mixin: track by re-fitting from the box of the previous points."""

    def track(self, frame: np.ndarray, previous: np.ndarray) -> LandmarkResult:
        return self.fit(frame, Box.around(previous))  # type: ignore[attr-defined]
