"""The one small interface every face detector meets, and the table that picks one by name."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from edge.geometry import Box
from edge.registry import Registry


class Detector(Protocol):
    name: str

    def detect(self, frame: np.ndarray, max_faces: int = 1) -> list[Box]:
        """Faces in a BGR or grey frame, best first."""
        ...


# name -> factory; the module is imported when that detector is first made
DETECTORS = Registry(
    "detector",
    {
        "haar": ("edge.detect.haar:HaarDetector", "OpenCV's frontal Haar cascade (upright faces)"),
        "cnn": ("edge.detect.cnn:CnnDetector", "our learned detector, int8 TFLite (faces rolled up to 45 degrees, 5 key points)"),
    },
)
TAKES_THREADS = {"cnn"}  # detectors whose own interpreter takes a thread count (Haar uses OpenCV's)


def available_detectors() -> list[str]:
    return DETECTORS.names()


def make_detector(name: str = "haar", min_face: int | None = None, threads: int | None = None, **kwargs) -> Detector:
    """The detector `name`; `min_face` (frame px) and `threads` as the run options give them."""
    if min_face is not None:
        kwargs["min_face"] = min_face
    if threads is not None and name in TAKES_THREADS:
        kwargs["num_threads"] = threads
    return DETECTORS.make(name, **kwargs)
