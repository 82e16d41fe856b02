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
DETECTORS = Registry("detector", {"haar": "edge.detect.haar:HaarDetector"})


def available_detectors() -> list[str]:
    return DETECTORS.names()


def make_detector(name: str = "haar", **kwargs) -> Detector:
    return DETECTORS.make(name, **kwargs)
