"""Decoding a pixel-in-pixel head (PIPNet, Jin et al. 2021): the best cell of each point plus its offset in that cell.

The network's last 1x1 convolution gives, on a G x G grid of cells over the crop (stride
16), one score per point and cell and, per annotation style, the point's x and y offset
from each cell's corner in cell units. Channels (NHWC, last axis): 68 scores, then for each
style head 68 (x, y) offset pairs. Training (convert/cnn/pip.py) uses the same layout.
"""

from __future__ import annotations

import numpy as np

N_POINTS = 68


def pip_heads(channels: int) -> int:
    """Style heads of a pip output with `channels` channels (68 scores + 136 offsets per head); 0 if not one."""
    rest = channels - N_POINTS
    return rest // (2 * N_POINTS) if rest > 0 and rest % (2 * N_POINTS) == 0 else 0


def decode_pip(maps: np.ndarray, head: int, size: int) -> np.ndarray:
    """(G, G, C) maps of one crop -> (136,) points of style head `head` in crop units ([0, 1] across the crop)."""
    g = maps.shape[0]
    heads = pip_heads(maps.shape[-1])
    scores = maps[..., :N_POINTS].reshape(g * g, N_POINTS)
    best = scores.argmax(0)  # (68,) flat cell index (row * g + column)
    offsets = maps[..., N_POINTS:].reshape(g * g, heads, N_POINTS, 2)[best, head, np.arange(N_POINTS)]
    cells = np.stack([best % g, best // g], -1).astype(np.float64)
    return ((cells + offsets) * (size / g) / (size - 1)).reshape(-1)
