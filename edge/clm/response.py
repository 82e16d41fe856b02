"""Response maps of the 68 patch experts: one TFLite invoke (default) or the numba float reference.

Both compute logistic(sum_c correlate(window_kc, filter_kc) + bias_k) over every valid patch position,
so windows (68, W, W) (or (68, C, W, W) with C feature channels, e.g. a blend) and filters of size P
give (68, W-P+1, W-P+1) maps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

from edge.inference import TFLiteModel


@njit(cache=True, fastmath=True)
def _correlate(windows: np.ndarray, filters: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """windows (n, C, W, W), filters (n, C, P, P) -> (n, R, R) logistic responses."""
    n, nc, wsz, _ = windows.shape
    p = filters.shape[2]
    r = wsz - p + 1
    out = np.empty((n, r, r), np.float32)
    for k in range(n):
        for i in range(r):
            for j in range(r):
                acc = bias[k]
                for c in range(nc):
                    for u in range(p):
                        for v in range(p):
                            acc += windows[k, c, i + u, j + v] * filters[k, c, u, v]
                out[k, i, j] = 1.0 / (1.0 + np.exp(-acc))
    return out


def stack_channels(windows: np.ndarray) -> np.ndarray:
    """(n, W, W) or (n, C, W, W) -> (1, W, W*C, n) float32, what the TFLite experts take: landmark k's window as
    channel k, its C feature images interleaved along the columns (column x*C + c), so one depthwise
    convolution with a (P, P*C) kernel and column stride C sums over the channels in its own accumulator."""
    w = np.asarray(windows, dtype=np.float32)
    if w.ndim == 3:
        w = w[:, None]
    n, c, h, wd = w.shape
    return np.ascontiguousarray(np.transpose(w, (2, 3, 1, 0)).reshape(h, wd * c, n)[None])


class FloatResponses:
    """The reference path: float32 filters, numba correlation."""

    name = "float"

    def __init__(self, filters: np.ndarray, bias: np.ndarray) -> None:
        f = np.asarray(filters, dtype=np.float32)
        self.filters = np.ascontiguousarray(f[:, None] if f.ndim == 3 else f)
        self.bias = np.ascontiguousarray(bias, dtype=np.float32)

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        w = np.asarray(windows, dtype=np.float32)
        if w.ndim == 3:
            w = w[:, None]
        if w.shape[1] != self.filters.shape[1]:
            raise ValueError(f"windows have {w.shape[1]} feature channels, the experts {self.filters.shape[1]}")
        return _correlate(np.ascontiguousarray(w), self.filters, self.bias)


class TFLiteResponses:
    """All 68 windows stacked as channels -> all 68 response maps, one invoke."""

    name = "tflite"

    def __init__(self, path: Path | str, num_threads: int = 1) -> None:
        self.model = TFLiteModel(path, num_threads=num_threads)

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        y = self.model.run(stack_channels(windows))[0][0]
        return np.ascontiguousarray(np.transpose(y, (2, 0, 1)))
