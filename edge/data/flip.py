"""Horizontal flip that keeps point meaning: the left eye corner stays a left eye corner."""

from __future__ import annotations

import numpy as np

from edge.landmarks68 import FLIP_PERMUTATION


def flip_points(points: np.ndarray, width: int) -> np.ndarray:
    """Mirror 68 points in an image `width` pixels wide (pixel centres, 0-based)."""
    flipped = points.copy()
    flipped[:, 0] = (width - 1) - flipped[:, 0]
    return flipped[FLIP_PERMUTATION]


def flip_sample(image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(image[:, ::-1]), flip_points(points, image.shape[1])
