"""The mean shape placed in the box: the floor every real landmarker must beat."""

from __future__ import annotations

import numpy as np

from edge.geometry import Box
from edge.landmarks.base import BoxTracking, LandmarkResult
from edge.shape_model import ShapeModel


def place_in_box(shape: np.ndarray, box: Box) -> np.ndarray:
    """Scale and shift `shape` so its tight box is `box` (no rotation)."""
    lo, hi = shape.min(0), shape.max(0)
    size = np.maximum(hi - lo, 1e-9)
    return ((shape - lo) / size * [box.w, box.h] + [box.x, box.y]).astype(np.float32)


class MeanLandmarker(BoxTracking):
    name = "mean"

    def __init__(self, shape_model: ShapeModel | None = None) -> None:
        self.mean = (shape_model or ShapeModel.load()).mean

    def fit(self, frame: np.ndarray, box: Box) -> LandmarkResult:
        return LandmarkResult(place_in_box(self.mean, box), score=0.0)
