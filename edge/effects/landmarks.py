"""Draw the tracked points: the plainest effect, and the one that shows what every other effect sees."""

from __future__ import annotations

import cv2
import numpy as np

from edge.effects import parse_args, parse_float
from edge.faces import TrackedFace
from edge.landmarks68 import REGIONS, interocular

# One colour per region (BGR), so a swapped eye/brow is visible at a glance.
_COLOURS = [
    (REGIONS["jaw"], (255, 200, 0)),
    (REGIONS["brows"], (0, 200, 255)),
    (REGIONS["nose"], (0, 255, 120)),
    (REGIONS["eyes"], (255, 80, 255)),
    (REGIONS["mouth"], (60, 60, 255)),
]


class LandmarksEffect:
    name = "landmarks"

    def __init__(self, radius: float = 0.0) -> None:
        self.radius = radius  # 0 = scale with the face

    def apply(self, frame: np.ndarray, faces: list[TrackedFace]) -> np.ndarray:
        for face in faces:
            pts = np.asarray(face.points, dtype=np.float64)
            iod = float(interocular(pts))
            r = self.radius or max(1.0, iod / 40.0)
            shift = 4  # sub-pixel drawing: coordinates in 1/16 pixel
            for idx, colour in _COLOURS:
                for x, y in pts[idx]:
                    cv2.circle(frame, (int(round(x * 16)), int(round(y * 16))), int(round(r * 16)), colour, -1, cv2.LINE_AA, shift)
        return frame


def create(args: str) -> LandmarksEffect:
    pos, kw = parse_args(args)
    radius = parse_float(kw.get("radius", pos[0] if pos else "0"), "radius", "landmarks")
    if radius < 0:
        raise ValueError(f"effect 'landmarks': radius must be >= 0, got {radius}")
    return LandmarksEffect(radius)
