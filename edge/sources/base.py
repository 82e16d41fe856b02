"""What every frame source hands over, and the small interface they all meet."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


class SourceLost(RuntimeError):
    """The device stopped giving frames (unplugged, driver reset); the capture thread reopens it."""


@dataclass
class Frame:
    image: np.ndarray  # BGR uint8 (or grey) at tracking resolution
    index: int  # frame number from the source (0-based)
    t: float = field(default_factory=time.monotonic)  # capture time, time.monotonic()
    display: np.ndarray | None = None  # optional bigger BGR image for the screen (picamera2 main stream)
    release: Callable[[], None] | None = None  # hands a zero-copy camera buffer back; call once, when done
    cut: bool = False  # a new scene, unrelated to the frame before (each photo of an image folder): track afresh

    def done(self) -> None:
        """Give the camera buffer back (no-op for sources that copy); safe to call twice."""
        if self.release is not None:
            rel, self.release = self.release, None
            rel()


class Source:
    """Base class: open() -> read() ... -> close(), usable as a context manager.

    read() returns the next Frame, None at the end of a file, and raises SourceLost
    when a live device goes away. `live` sources are read by a capture thread that keeps
    only the newest frame; the others are read frame by frame.
    """

    name = "source"
    live = False
    fps = 30.0

    def open(self) -> None:  # pragma: no cover - trivial
        pass

    def read(self) -> Frame | None:
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - trivial
        pass

    def __enter__(self) -> Source:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> str:
        return self.name
