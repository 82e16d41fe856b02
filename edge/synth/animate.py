"""Animating the synthetic face: expression offsets on a 68-point shape (blink, smile, mouth
open, brow raise). Measuring expressions on tracked points is edge/signals.py.

Applied in the face's own frame (before head pose), in units of the face's own eye and
mouth size, so they look the same on every identity and at every distance. The result
IS the ground truth: the renderer warps the texture onto exactly these points.
"""

from __future__ import annotations

import numpy as np

# upper eyelid point -> the lower eyelid point it closes onto
LID_PAIRS = ((37, 41), (38, 40), (43, 47), (44, 46))
# jaw points that follow an opening mouth, with how much
_JAW_DROP = {4: 0.15, 5: 0.4, 6: 0.7, 7: 0.9, 8: 1.0, 9: 0.9, 10: 0.7, 11: 0.4, 12: 0.15}


def apply_expressions(shape: np.ndarray, blink: float = 0.0, smile: float = 0.0, mouth_open: float = 0.0, brow: float = 0.0) -> np.ndarray:
    """A copy of `shape` (68, 2; y down) with the expressions applied (each 0..1)."""
    s = np.array(shape, dtype=np.float64, copy=True)
    eye_l, eye_r = s[36:42].mean(0), s[42:48].mean(0)
    across = eye_r - eye_l
    iod = float(np.hypot(*across)) or 1.0
    ux = across / iod
    uy = np.array([-ux[1], ux[0]])  # down the face
    mw = float(np.hypot(*(s[54] - s[48]))) or 1.0

    if brow > 0:
        s[17:27] -= uy * (0.13 * iod * brow)
        s[[37, 38, 43, 44]] -= uy * (0.03 * iod * brow)  # upper lids follow the brows a little

    if smile > 0:
        for corner, inner, near, near2, side in ((48, 60, 49, 59, -1.0), (54, 64, 53, 55, 1.0)):
            d = (side * 0.12 * ux - 0.10 * uy) * mw * smile
            s[corner] += d
            s[inner] += 0.9 * d
            s[near] += 0.45 * d
            s[near2] += 0.55 * d
        s[[61, 62, 63]] -= uy * (0.03 * mw * smile)
        s[[65, 66, 67]] += uy * (0.09 * mw * smile)
        s[[56, 57, 58]] += uy * (0.05 * mw * smile)
        s[[2, 14]] += np.array([-ux, ux]) * (0.02 * mw * smile)  # cheeks widen

    if mouth_open > 0:
        d = 0.45 * mw * mouth_open
        s[[65, 66, 67]] += uy * d
        s[[56, 57, 58]] += uy * (0.95 * d)
        s[[55, 59]] += uy * (0.7 * d)
        s[[48, 54]] += uy * (0.4 * d)
        s[[60, 64]] += uy * (0.5 * d)  # the corners sit half way down an open mouth
        s[48] += ux * (0.05 * d)
        s[54] -= ux * (0.05 * d)
        s[60] += ux * (0.05 * d)
        s[64] -= ux * (0.05 * d)
        s[[61, 62, 63]] -= uy * (0.05 * d)
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
    for a, b, c, d, e, f in ((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47)):
        v = np.hypot(*(p[b] - p[f])) + np.hypot(*(p[c] - p[e]))
        out.append(v / (2.0 * np.hypot(*(p[a] - p[d])) + 1e-9))
    return float(np.mean(out))
