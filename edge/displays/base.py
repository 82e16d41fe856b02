"""The display interface: open once, show(BGR frame) per frame, close; `where` says where to look."""

from __future__ import annotations

import numpy as np


class Display:
    name = "display"
    where = ""  # a URL, a path, a device: printed at start so a person knows where to look

    def open(self, width: int, height: int, fps: float = 30.0) -> None:
        pass

    def show(self, image: np.ndarray) -> None:
        raise NotImplementedError

    def status(self, **stats) -> None:
        """Live numbers (fps, frame, faces, info) for displays that show them outside the picture."""

    def wants_frames(self) -> bool:
        """False lets the pipeline skip drawing when nobody watches (http with no browser)."""
        return True

    @property
    def closed_by_user(self) -> bool:
        """True when the person closed the window (sdl): the run ends."""
        return False

    def close(self) -> None:
        pass

    def __enter__(self) -> Display:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class NoDisplay(Display):
    name = "none"

    def show(self, image: np.ndarray) -> None:
        pass

    def wants_frames(self) -> bool:
        return False
