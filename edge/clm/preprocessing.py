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

PREPROCESSINGS = ("raw", "sobel")


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


def normalise_windows(windows: np.ndarray, kind: str) -> np.ndarray:
    """Per-window feature image: 'raw' = zero-mean unit-variance intensity, 'sobel' = normalised gradient magnitude.

    Normalising the whole window (not each patch) keeps the patch experts a plain
    convolution, so all 68 responses are one depthwise conv in TFLite.
    """
    x = np.asarray(windows, dtype=np.float32)
    if kind == "sobel":
        gx = np.zeros_like(x)
        gy = np.zeros_like(x)
        gx[..., :, 1:-1] = x[..., :, 2:] - x[..., :, :-2]
        gy[..., 1:-1, :] = x[..., 2:, :] - x[..., :-2, :]
        x = np.sqrt(gx * gx + gy * gy)
        m = x.mean(axis=(-2, -1), keepdims=True)
        return (x / (m + 4.0) - 1.0).astype(np.float32)
    if kind != "raw":
        raise ValueError(f"unknown patch preprocessing {kind!r}; choose one of {', '.join(PREPROCESSINGS)}")
    return _normalise_raw(np.ascontiguousarray(x.reshape(-1, x.shape[-2], x.shape[-1]))).reshape(x.shape)


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
