"""Animating the synthetic face: expression offsets on a 68-point shape (blink, smile, mouth
open, brow raise). Measuring expressions on tracked points is edge/signals.py.

Applied in the face's own frame (before head pose), in units of the face's own eye and
mouth size, so they look the same on every identity and at every distance. The result
IS the ground truth: the renderer warps the texture onto exactly these points.
"""

from __future__ import annotations

import numpy as np

from edge.landmarks68 import (
    BROWS,
    CHEEKS,
    CHIN,
    INNER_MOUTH_CORNERS,
    LEFT_EYE,
    LID_PAIRS,
    LOWER_INNER_LIP,
    LOWER_LIP_MIDDLE,
    MOUTH_CORNERS,
    MOUTH_LEFT,
    MOUTH_RIGHT,
    RIGHT_EYE,
    UPPER_INNER_LIP,
    UPPER_LIDS,
    eye_centres,
)

# jaw points that follow an opening mouth (the chin and four each side of it), with how much
_JAW_DROP = {CHIN + k: w for k, w in zip(range(-4, 5), (0.15, 0.4, 0.7, 0.9, 1.0, 0.9, 0.7, 0.4, 0.15))}


def apply_expressions(shape: np.ndarray, blink: float = 0.0, smile: float = 0.0, mouth_open: float = 0.0, brow: float = 0.0) -> np.ndarray:
    """A copy of `shape` (68, 2; y down) with the expressions applied (each 0..1)."""
    s = np.array(shape, dtype=np.float64, copy=True)
    eye_l, eye_r = eye_centres(s)  # image left, image right
    across = eye_r - eye_l
    iod = float(np.hypot(*across)) or 1.0
    ux = across / iod
    uy = np.array([-ux[1], ux[0]])  # down the face
    corner_r, corner_l = MOUTH_CORNERS
    mw = float(np.hypot(*(s[corner_l] - s[corner_r]))) or 1.0

    if brow > 0:
        s[BROWS] -= uy * (0.13 * iod * brow)
        s[UPPER_LIDS] -= uy * (0.03 * iod * brow)  # upper lids follow the brows a little

    if smile > 0:
        for m, side in ((MOUTH_RIGHT, -1.0), (MOUTH_LEFT, 1.0)):
            d = (side * 0.12 * ux - 0.10 * uy) * mw * smile
            s[m.corner] += d
            s[m.inner_corner] += 0.9 * d
            s[m.upper] += 0.45 * d
            s[m.lower] += 0.55 * d
        s[UPPER_INNER_LIP] -= uy * (0.03 * mw * smile)
        s[LOWER_INNER_LIP] += uy * (0.09 * mw * smile)
        s[LOWER_LIP_MIDDLE] += uy * (0.05 * mw * smile)
        s[CHEEKS] += np.array([-ux, ux]) * (0.02 * mw * smile)  # cheeks widen

    if mouth_open > 0:
        d = 0.45 * mw * mouth_open
        s[LOWER_INNER_LIP] += uy * d
        s[LOWER_LIP_MIDDLE] += uy * (0.95 * d)
        s[[MOUTH_LEFT.lower, MOUTH_RIGHT.lower]] += uy * (0.7 * d)
        s[MOUTH_CORNERS] += uy * (0.4 * d)
        s[INNER_MOUTH_CORNERS] += uy * (0.5 * d)  # the corners sit half way down an open mouth
        s[[MOUTH_RIGHT.corner, MOUTH_RIGHT.inner_corner]] += ux * (0.05 * d)  # and narrow a little
        s[[MOUTH_LEFT.corner, MOUTH_LEFT.inner_corner]] -= ux * (0.05 * d)
        s[UPPER_INNER_LIP] -= uy * (0.05 * d)
        for j, w in _JAW_DROP.items():
            s[j] += uy * (0.8 * d * w)

    if blink > 0:
        for up, low in LID_PAIRS:
            s[up] += blink * (s[low] - s[up])
    return s


def eye_aspect_ratio(points: np.ndarray) -> float:
    """Mean of both eyes' (vertical lid gaps) / (2 * eye width): ~0.25-0.3 open, 0 closed."""
    p = np.asarray(points, dtype=np.float64)
    out = []
    for a, b, c, d, e, f in (RIGHT_EYE, LEFT_EYE):
        v = np.hypot(*(p[b] - p[f])) + np.hypot(*(p[c] - p[e]))
        out.append(v / (2.0 * np.hypot(*(p[a] - p[d])) + 1e-9))
    return float(np.mean(out))
