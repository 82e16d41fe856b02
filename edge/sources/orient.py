"""Mirror and rotation of the camera picture (smart mirror, portrait screen, camera mounted sideways).

Applied to every frame right after capture, before tracking, so landmarks, effects, the
overlay and `--landmarks-out` are all in the coordinates of the picture as shown.
`rotate` turns the camera picture clockwise by 0/90/180/270 degrees; `mirror` then flips
the result left-right, as a mirror shows it. Each combination is one OpenCV call, and the
identity hands the frame back untouched (no copy).
"""

from __future__ import annotations

import cv2
import numpy as np

ROTATIONS = (0, 90, 180, 270)

# (rotate, mirror) -> one OpenCV operation; rotate-then-flip folded into a single pass
_OPS = {
    (90, False): lambda im: cv2.rotate(im, cv2.ROTATE_90_CLOCKWISE),
    (180, False): lambda im: cv2.rotate(im, cv2.ROTATE_180),
    (270, False): lambda im: cv2.rotate(im, cv2.ROTATE_90_COUNTERCLOCKWISE),
    (0, True): lambda im: cv2.flip(im, 1),
    (90, True): lambda im: cv2.transpose(im),  # clockwise quarter turn, then left-right flip
    (180, True): lambda im: cv2.flip(im, 0),  # half turn, then left-right flip = upside down
    (270, True): lambda im: cv2.flip(cv2.transpose(im), -1),
}


class Orientation:
    """`apply(image)` turns a captured frame into the picture shown; `size(w, h)` is its size."""

    def __init__(self, mirror: bool = False, rotate: int = 0) -> None:
        if rotate not in ROTATIONS:
            raise ValueError(f"rotate {rotate!r} is not supported; use one of {', '.join(map(str, ROTATIONS))} (degrees clockwise)")
        self.mirror = bool(mirror)
        self.rotate = int(rotate)
        self._op = _OPS.get((self.rotate, self.mirror))

    @property
    def identity(self) -> bool:
        return self._op is None

    def apply(self, image: np.ndarray) -> np.ndarray:
        return image if self._op is None else self._op(image)

    def size(self, width: int, height: int) -> tuple[int, int]:
        return (height, width) if self.rotate in (90, 270) else (width, height)

    def __repr__(self) -> str:
        return f"Orientation(mirror={self.mirror}, rotate={self.rotate})"
