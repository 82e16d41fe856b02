"""Per-frame pixel work of the synthetic face, kept to what must change every frame:
one blend of the warped face into its own region, and sensor noise by slicing
precomputed tiles (no fresh Gaussian draws per frame)."""

from __future__ import annotations

import cv2
import numpy as np
from numba import njit


@njit(cache=True)
def blend_face(roi, face, colour, cx, cy, lx, ly, strength, inv_r):
    """roi (h, w, 3) uint8 in place <- face (h, w, 4) BGRA over it, the face lit by a colour gain
    and a soft directional gradient (brighter towards (lx, ly), `strength` at one radius)."""
    h, w = roi.shape[0], roi.shape[1]
    for y in range(h):
        dy = (y - cy) * inv_r
        for x in range(w):
            a = face[y, x, 3]
            if a == 0:
                continue
            al = a * (1.0 / 255.0)
            g = 1.0 + strength * (((x - cx) * inv_r) * lx + dy * ly)
            if g < 0.3:
                g = 0.3
            for c in range(3):
                v = face[y, x, c] * colour[c] * g
                if v > 255.0:
                    v = 255.0
                o = roi[y, x, c] * (1.0 - al) + v * al + 0.5
                roi[y, x, c] = np.uint8(o)


class NoiseTiles:
    """Gaussian sensor noise, drawn once: a positive and a negative uint8 tile larger than the
    frame; each frame adds/subtracts a window at its own offset (saturating, SIMD in OpenCV)."""

    def __init__(self, width: int, height: int, sigma: float, rng: np.random.Generator, margin: int = 64) -> None:
        self.margin = margin
        n = rng.normal(0.0, sigma, (height + margin, width + margin, 3)).astype(np.float32)
        n += rng.normal(0.0, sigma * 0.6, (height + margin, width + margin, 1)).astype(np.float32)  # luma-correlated part
        n = np.round(n)
        self.pos = np.clip(n, 0, 255).astype(np.uint8)
        self.neg = np.clip(-n, 0, 255).astype(np.uint8)
        self.width, self.height = width, height

    def apply(self, frame: np.ndarray, key: int) -> None:
        ox = key % self.margin
        oy = (key // self.margin) % self.margin
        h, w = self.height, self.width
        cv2.add(frame, self.pos[oy : oy + h, ox : ox + w], dst=frame)
        cv2.subtract(frame, self.neg[oy : oy + h, ox : ox + w], dst=frame)
