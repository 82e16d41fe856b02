"""Response maps of the 68 patch experts: one TFLite invoke (default) or the numba float reference.

Both compute logistic(correlate(window_k, filter_k) + bias_k) over every valid patch position,
so the window of size W and filters of size P give (68, W-P+1, W-P+1) maps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

from edge.inference import TFLiteModel


@njit(cache=True, fastmath=True)
def _correlate(windows: np.ndarray, filters: np.ndarray, bias: np.ndarray) -> np.ndarray:
    n, wsz, _ = windows.shape
    p = filters.shape[1]
    r = wsz - p + 1
    out = np.empty((n, r, r), np.float32)
    for k in range(n):
        for i in range(r):
            for j in range(r):
                acc = bias[k]
                for u in range(p):
                    for v in range(p):
                        acc += windows[k, i + u, j + v] * filters[k, u, v]
                out[k, i, j] = 1.0 / (1.0 + np.exp(-acc))
    return out


class FloatResponses:
    """The reference path: float32 filters, numba correlation."""

    name = "float"

    def __init__(self, filters: np.ndarray, bias: np.ndarray) -> None:
        self.filters = np.ascontiguousarray(filters, dtype=np.float32)
        self.bias = np.ascontiguousarray(bias, dtype=np.float32)

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        return _correlate(np.ascontiguousarray(windows, dtype=np.float32), self.filters, self.bias)


class TFLiteResponses:
    """All 68 windows stacked as channels -> all 68 response maps, one invoke."""

    name = "tflite"

    def __init__(self, path: Path | str, num_threads: int = 1) -> None:
        self.model = TFLiteModel(path, num_threads=num_threads)

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(np.transpose(windows, (1, 2, 0))[None], dtype=np.float32)
        y = self.model.run(x)[0][0]
        return np.ascontiguousarray(np.transpose(y, (2, 0, 1)))
