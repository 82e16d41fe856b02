"""OpenCV's frontal Haar cascade, tuned for small frames, plus the learned box mapping.

The raw Haar box is not the box landmark initialisation expects (the tight box of the
68 points); a linear mapping fitted on training data (models/box_mapping.json) closes
that gap.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edge.detect.mapping import BOX_MAPPING_FILE, BoxMapping
from edge.geometry import Box
from edge.imaging import to_grey

__all__ = ["BOX_MAPPING_FILE", "BoxMapping", "HaarDetector", "cascade_path"]  # the mapping lives in edge.detect.mapping


def cascade_path() -> str:
    data = getattr(cv2, "data", None)
    if data is None or not hasattr(cv2, "CascadeClassifier"):
        raise RuntimeError(
            "this OpenCV has no Haar cascades (opencv 5.x dropped them); install opencv-python-headless<5"
        )
    return str(Path(data.haarcascades) / "haarcascade_frontalface_default.xml")


class HaarDetector:
    """Speed comes from working on a downscaled grey frame and a bounded scale pyramid."""

    name = "haar"

    def __init__(
        self,
        work_width: int = 320,
        min_face: int = 24,
        scale_factor: float = 1.15,
        min_neighbors: int = 4,
        mapped: bool = True,
    ) -> None:
        self.cascade = cv2.CascadeClassifier(cascade_path())
        if self.cascade.empty():
            raise RuntimeError(f"could not load the Haar cascade from {cascade_path()}; reinstall opencv-python-headless<5")
        self.work_width = work_width
        self.min_face = min_face
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.mapping = BoxMapping.load(detector=self.name) if mapped else BoxMapping()

    def detect_raw(self, frame: np.ndarray, max_faces: int = 1) -> list[Box]:
        """Cascade boxes in frame pixels, largest first, before the landmark-box mapping."""
        grey = to_grey(frame)
        scale = 1.0
        if grey.shape[1] > self.work_width:
            scale = self.work_width / grey.shape[1]
            grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        grey = cv2.equalizeHist(grey)
        min_size = max(12, int(round(self.min_face * scale)))
        rects, _, weights = self.cascade.detectMultiScale3(
            grey,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(min_size, min_size),
            outputRejectLevels=True,
        )
        if len(rects) == 0:
            return []
        weights = np.asarray(weights, dtype=np.float64).reshape(-1)
        boxes = [
            Box(x / scale, y / scale, w / scale, h / scale, float(s))
            for (x, y, w, h), s in zip(np.asarray(rects, dtype=np.float64), weights)
        ]
        boxes.sort(key=lambda b: b.w * b.h, reverse=True)
        return boxes[:max_faces]

    def detect(self, frame: np.ndarray, max_faces: int = 1) -> list[Box]:
        return [self.mapping.apply(b) for b in self.detect_raw(frame, max_faces)]
