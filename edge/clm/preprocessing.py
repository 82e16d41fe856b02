"""From a frame to the search windows the patch experts look at, identical in training and at run time.

The face is sampled in a reference frame where the mean shape has a fixed inter-ocular
distance (`ref_scale` pixels per model unit), so one set of 11x11 filters fits every face
size. A large face is first shrunk once per fit with area averaging (no aliasing); each
iteration then samples the 68 windows straight from that working image with bilinear
interpolation (numba), centred exactly on the current landmarks.
"""

from __future__ import annotations

import cv2
import numpy as np
from numba import njit

from edge.geometry import Similarity
from edge.imaging import to_grey  # noqa: F401  (re-exported: the CLM reads frames through it)

PREPROCESSINGS = ("raw", "sobel", "lbp")  # one feature image each; a blend stacks several, joined by '+'

# LBP bit k compares neighbour (dy, dx) = LBP_NEIGHBOURS[k] with the centre: clockwise from the top-left
LBP_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


def working_image(
    grey: np.ndarray, ref_to_image: Similarity, half_extent: float, max_downscale: float = 1.25
) -> tuple[np.ndarray, Similarity]:
    """(float32 crop around the face, shrunk near reference scale, image -> crop similarity).

    `half_extent` is how far (in reference pixels) from the reference origin anything will
    be sampled. Faces larger than reference scale are shrunk with INTER_AREA once, so every
    bilinear sample afterwards is close to 1:1 and never aliased.
    """
    scale = ref_to_image.scale  # image pixels per reference pixel
    r = half_extent * scale
    cx, cy = ref_to_image.tx, ref_to_image.ty
    h, w = grey.shape
    x0, y0 = int(max(0, np.floor(cx - r))), int(max(0, np.floor(cy - r)))
    x1, y1 = int(min(w, np.ceil(cx + r) + 1)), int(min(h, np.ceil(cy + r) + 1))
    if x1 - x0 < 2 or y1 - y0 < 2:  # face entirely outside the frame: sample the nearest border
        x0, y0 = int(np.clip(cx, 0, w - 2)), int(np.clip(cy, 0, h - 2))
        x1, y1 = x0 + 2, y0 + 2
    crop = grey[y0:y1, x0:x1]
    shrink = scale if scale > max_downscale else 1.0
    to_crop = Similarity(1.0, 0.0, -float(x0), -float(y0))
    if shrink > 1.0:
        nw, nh = max(2, int(round((x1 - x0) / shrink))), max(2, int(round((y1 - y0) / shrink)))
        crop = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA)
        sx, sy = nw / (x1 - x0), nh / (y1 - y0)
        f = 0.5 * (sx + sy)
        # pixel-centre convention of cv2.resize: x' = (x + 0.5) * f - 0.5
        to_crop = Similarity(f, 0.0, -x0 * f + 0.5 * f - 0.5, -y0 * f + 0.5 * f - 0.5)
    return np.ascontiguousarray(crop, dtype=np.float32), to_crop


@njit(cache=True, fastmath=True)
def sample_windows(img: np.ndarray, a: float, b: float, tx: float, ty: float, centres: np.ndarray, size: int) -> np.ndarray:
    """(n, size, size) float32 bilinear windows; window k is centred on centres[k] (reference pixels).

    Reference point (u, v) maps to image (a u - b v + tx, b u + a v + ty); outside the image
    the nearest border pixel is repeated.
    """
    n = centres.shape[0]
    h, w = img.shape
    out = np.empty((n, size, size), np.float32)
    half = (size - 1) / 2.0
    for k in range(n):
        for r in range(size):
            v = centres[k, 1] + r - half
            for c in range(size):
                u = centres[k, 0] + c - half
                x = a * u - b * v + tx
                y = b * u + a * v + ty
                x = min(max(x, 0.0), w - 1.001)
                y = min(max(y, 0.0), h - 1.001)
                xi = int(x)
                yi = int(y)
                fx = x - xi
                fy = y - yi
                top = img[yi, xi] * (1 - fx) + img[yi, xi + 1] * fx
                bot = img[yi + 1, xi] * (1 - fx) + img[yi + 1, xi + 1] * fx
                out[k, r, c] = top * (1 - fy) + bot * fy
    return out


def channels_of(kind: str) -> tuple[str, ...]:
    """The feature images of a preprocessing: 'raw' -> ('raw',), 'raw+sobel+lbp' -> ('raw', 'sobel', 'lbp')."""
    parts = tuple(k.strip() for k in kind.split("+"))
    for k in parts:
        if k not in PREPROCESSINGS:
            raise ValueError(f"unknown patch preprocessing {k!r}; choose one of {', '.join(PREPROCESSINGS)} (or several joined by '+')")
    return parts


def normalise_windows(windows: np.ndarray, kind: str) -> np.ndarray:
    """Per-window feature image: 'raw' = zero-mean unit-variance intensity, 'sobel' = normalised gradient magnitude,
    'lbp' = local binary pattern codes (8 neighbours, see `lbp_codes`), zero-mean unit-variance.

    Windows (..., W, W) give (..., W, W); a compound kind ('raw+sobel+lbp') gives (..., C, W, W), one
    channel per part. Normalising the whole window (not each patch) keeps the patch experts a plain
    convolution, so all 68 responses are one depthwise conv in TFLite.
    """
    x = np.asarray(windows, dtype=np.float32)
    parts = channels_of(kind)
    if len(parts) > 1:
        return np.stack([normalise_windows(x, k) for k in parts], axis=-3)
    flat = np.ascontiguousarray(x.reshape(-1, x.shape[-2], x.shape[-1]))
    if kind == "sobel":
        return _sobel(flat).reshape(x.shape)
    if kind == "lbp":
        return _normalise_raw(lbp_codes(flat)).reshape(x.shape)
    return _normalise_raw(flat).reshape(x.shape)


@njit(cache=True, fastmath=True)
def lbp_codes(x: np.ndarray) -> np.ndarray:
    """(n, h, w) float32 LBP codes 0..255 of (n, h, w) windows: bit k is set when neighbour LBP_NEIGHBOURS[k]
    is at least as bright as the centre (values rounded to whole grey levels first, so float windows at run
    time and the uint8 training windows give the same codes; the border repeats its edge pixels)."""
    n, h, w = x.shape
    out = np.empty((n, h, w), np.float32)
    q = np.empty((h + 2, w + 2), np.float32)
    for k in range(n):
        for i in range(h + 2):
            ii = min(max(i - 1, 0), h - 1)
            for j in range(w + 2):
                jj = min(max(j - 1, 0), w - 1)
                q[i, j] = np.floor(x[k, ii, jj] + 0.5)
        for i in range(h):
            for j in range(w):
                c = q[i + 1, j + 1]
                code = 0
                if q[i, j] >= c:
                    code += 1
                if q[i, j + 1] >= c:
                    code += 2
                if q[i, j + 2] >= c:
                    code += 4
                if q[i + 1, j + 2] >= c:
                    code += 8
                if q[i + 2, j + 2] >= c:
                    code += 16
                if q[i + 2, j + 1] >= c:
                    code += 32
                if q[i + 2, j] >= c:
                    code += 64
                if q[i + 1, j] >= c:
                    code += 128
                out[k, i, j] = code
    return out


@njit(cache=True, fastmath=True)
def _sobel(x: np.ndarray) -> np.ndarray:
    """Central-difference gradient magnitude (zero on the border), divided by its window mean + 4, minus 1."""
    n, h, w = x.shape
    out = np.zeros((n, h, w), np.float32)
    for k in range(n):
        s = 0.0
        for i in range(h):
            for j in range(w):
                gx = x[k, i, j + 1] - x[k, i, j - 1] if 0 < j < w - 1 else 0.0
                gy = x[k, i + 1, j] - x[k, i - 1, j] if 0 < i < h - 1 else 0.0
                g = np.sqrt(gx * gx + gy * gy)
                out[k, i, j] = g
                s += g
        f = 1.0 / (s / (h * w) + 4.0)
        for i in range(h):
            for j in range(w):
                out[k, i, j] = out[k, i, j] * f - 1.0
    return out


@njit(cache=True, fastmath=True)
def _normalise_raw(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per window (std regularised by +4 grey levels so flat windows stay flat)."""
    out = np.empty_like(x)
    n, h, w = x.shape
    inv = 1.0 / (h * w)
    for k in range(n):
        s = 0.0
        ss = 0.0
        for i in range(h):
            for j in range(w):
                v = x[k, i, j]
                s += v
                ss += v * v
        m = s * inv
        sd = np.sqrt(max(ss * inv - m * m, 0.0))
        f = 1.0 / (sd + 4.0)
        for i in range(h):
            for j in range(w):
                out[k, i, j] = (x[k, i, j] - m) * f
    return out
