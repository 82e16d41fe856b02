"""`file:PATH`: the annotated frames written to a video file (mp4v for .mp4, MJPG for .avi)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edge.displays.base import Display
from edge.displays.overlay import to_bgr


class VideoFileDisplay(Display):
    name = "file"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self.writer: cv2.VideoWriter | None = None
        self.fps = 30.0
        self.size: tuple[int, int] | None = None

    def open(self, width: int, height: int, fps: float = 30.0) -> None:
        self.fps = fps if fps > 0 else 30.0
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"folder {self.path.parent} for the output video does not exist; create it first")

    def _start(self, w: int, h: int) -> None:
        fourcc = cv2.VideoWriter_fourcc(*("MJPG" if self.path.suffix.lower() == ".avi" else "mp4v"))
        self.writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (w, h))
        if not self.writer.isOpened():
            raise ValueError(f"OpenCV cannot write video {self.path}; use a .mp4 or .avi name")
        self.size = (w, h)

    def show(self, image: np.ndarray) -> None:
        image = to_bgr(image)
        h, w = image.shape[:2]
        if self.writer is None:
            self._start(w, h)
        if (w, h) != self.size:
            image = cv2.resize(image, self.size)
        self.writer.write(image)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
            self.writer = None
