"""`file:PATH`: the annotated frames written to a new video file (mp4v for .mp4, MJPG for .avi).

The file must not exist: a run never overwrites an earlier video. The name is taken with an
exclusive create at the first frame, so a file that appeared since `open` is not overwritten either.
"""

from __future__ import annotations

import os
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
        if self.path.is_dir():
            raise ValueError(f"output video {self.path} is a folder; give a file name, e.g. file:{self.path / 'out.mp4'}")
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"folder {self.path.parent} for the output video does not exist; create it first")
        if self.path.exists() or self.path.is_symlink():
            raise ValueError(self._exists())

    def _exists(self) -> str:
        return f"output video {self.path} already exists; remove it or give a new --display file:PATH (a run never overwrites a video)"

    def _start(self, w: int, h: int) -> None:
        try:  # claim the name: fails if anything appeared there since open()
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            raise ValueError(self._exists()) from None
        except OSError as exc:
            raise RuntimeError(f"cannot create output video {self.path} ({exc.strerror}); give another --display file:PATH") from None
        fourcc = cv2.VideoWriter_fourcc(*("MJPG" if self.path.suffix.lower() == ".avi" else "mp4v"))
        self.writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (w, h))
        if not self.writer.isOpened():
            self.writer = None
            self.path.unlink(missing_ok=True)  # the empty file just claimed above: ours, nothing else in it
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
