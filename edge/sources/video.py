"""Video files and V4L2 cameras through OpenCV."""

from __future__ import annotations

import time
from pathlib import Path

import cv2

from edge.sources.base import Frame, Source, SourceLost


class _CaptureSource(Source):
    """An OpenCV VideoCapture held open between reads and released once."""

    cap: cv2.VideoCapture | None = None

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None


class VideoFileSource(_CaptureSource):
    """A video file, read frame by frame (every frame, in order)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"file:{self.path}"
        self.cap: cv2.VideoCapture | None = None
        self.index = 0

    def open(self) -> None:
        if not self.path.is_file():
            raise FileNotFoundError(f"video file {self.path} not found; give an existing file:PATH")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise ValueError(f"OpenCV cannot read {self.path} as a video; convert it to mp4/avi")
        self.cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.index = 0

    def read(self) -> Frame | None:
        if self.cap is None:
            self.open()
        ok, image = self.cap.read()
        if not ok or image is None:
            return None
        frame = Frame(image, self.index)
        self.index += 1
        return frame


class V4L2Source(_CaptureSource):
    """A USB / CSI camera through OpenCV's V4L2 backend, buffer of one so frames are fresh."""

    live = True

    def __init__(self, device: int | str, width: int = 640, height: int = 480, fps: int = 30) -> None:
        self.device = device
        self.name = f"v4l2:{device}"
        self.width, self.height, self.fps = width, height, float(fps)
        self.cap: cv2.VideoCapture | None = None
        self.index = 0

    def open(self) -> None:
        _quiet_opencv()  # retries every few seconds must not fill the journal with OpenCV warnings
        dev = self.device
        node = Path(dev if isinstance(dev, str) else f"/dev/video{dev}")
        if not node.exists():  # say it plainly rather than ask OpenCV, which only warns
            raise SourceLost(f"camera {node} is not there (plugged in? `ls /dev/video*` lists the cameras)")
        cap = cv2.VideoCapture(dev, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            raise SourceLost(f"camera {dev} could not be opened")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_FPS, self.fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self.cap = cap

    def read(self) -> Frame | None:
        if self.cap is None:
            self.open()
        ok, image = self.cap.read()
        if not ok or image is None:
            raise SourceLost(f"camera {self.device} stopped giving frames")
        t = time.monotonic()
        frame = Frame(image, self.index, t)
        self.index += 1
        return frame


OPENCV_LOG_ERROR = 2  # cv::utils::logging::LOG_LEVEL_ERROR


def _quiet_opencv() -> None:
    """Only OpenCV's errors: a camera retried every few seconds must not flood the journal with two warnings a try."""
    setter = getattr(getattr(getattr(cv2, "utils", None), "logging", None), "setLogLevel", None) or getattr(cv2, "setLogLevel", None)
    if setter is not None:
        setter(OPENCV_LOG_ERROR)


def parse_v4l2(spec: str) -> int | str:
    """'v4l2:0' -> 0, '/dev/video2' -> '/dev/video2', 'v4l2:/dev/video2' -> '/dev/video2'."""
    rest = spec.split(":", 1)[1] if spec.startswith("v4l2:") else spec
    if rest.isdigit():
        return int(rest)
    if rest.startswith("/dev/video"):
        return rest
    raise ValueError(f"camera {spec!r} not understood; use v4l2:N or /dev/videoN")
