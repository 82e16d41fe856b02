"""Frame conversions every stage needs, with one clear error for arrays that are not images."""

from __future__ import annotations

import cv2
import numpy as np


def to_grey(frame: np.ndarray) -> np.ndarray:
    """uint8/float grey image of a BGR, BGRA or grey frame; ValueError for anything else."""
    frame = np.asarray(frame)
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[..., 0]
    if frame.ndim == 2:
        grey = frame
    elif frame.ndim == 3 and frame.shape[2] in (3, 4):
        src = frame if frame.dtype == np.uint8 else np.clip(frame, 0, 255).astype(np.uint8)
        grey = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY if frame.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    else:
        raise ValueError(f"frame of shape {frame.shape} is not an image; pass a HxW grey or HxWx3 BGR (or BGRA) array")
    if grey.size == 0 or min(grey.shape) < 2:
        raise ValueError(f"frame of shape {frame.shape} is empty; pass a real camera frame")
    return grey
