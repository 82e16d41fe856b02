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


# name -> (factory, help, the common options it takes (edge.parts.PartOptions) -> its keywords); the module is
# imported when that detector is first made. Haar takes no thread count: it runs on OpenCV's threads.
DETECTORS = Registry(
    "detector",
    {
        "haar": ("edge.detect.haar:HaarDetector", "OpenCV's frontal Haar cascade (upright faces)", {"min_face": "min_face"}),
        "cnn": ("edge.detect.cnn:CnnDetector", "our learned detector, int8 TFLite (faces rolled up to 45 degrees, 5 key points)",
                {"min_face": "min_face", "threads": "num_threads"}),
        "dlib": ("edge.detect.peers:DlibDetector", "dlib's HOG detector (workstation peer, for comparisons; edgetrack[peers])",
                 {"min_face": "min_face"}),
    },
)  # fmt: skip


def available_detectors() -> list[str]:
    return DETECTORS.names()


def make_detector(name: str = "haar", min_face: int | None = None, threads: int | None = None, **kwargs) -> Detector:
    """The detector `name`; `min_face` (frame px) and `threads` as the run options give them (`edge.parts.make_part`)."""
    from edge.parts import PartOptions, make_part

    return make_part(DETECTORS, name, PartOptions(threads=threads, min_face=min_face), **kwargs)
