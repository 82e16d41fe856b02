"""A pixel-in-pixel head (PIPNet, Jin et al. 2021) for the landmark network, as an alternative to flatten-and-dense.

The last feature map (stride 16: 6x6 cells for a 96 px crop) predicts, per point, a score
for each cell and the point's offset inside each cell; the answer is the best cell plus
its offset. The head is a 1x1 convolution, so positions stay positions instead of going
through a dense layer that must learn them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

N = 68
SCORE_WEIGHT = 10.0  # PIPNet's weighting of the cell scores against the offsets


def _split(out: torch.Tensor, heads: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, G, G, C) network output (edge/cnn/pip.py layout) -> (scores (n, 68, G, G), offsets (n, heads, 68, 2, G, G)) in cell units."""
    n, g, _, _ = out.shape
    scores = out[..., :N].permute(0, 3, 1, 2)
    offsets = out[..., N:].reshape(n, g, g, heads, N, 2).permute(0, 3, 4, 5, 1, 2)
    return scores, offsets


def pip_loss(out: torch.Tensor, y: torch.Tensor, styles: torch.Tensor, heads: int, size: int) -> torch.Tensor:
    """MSE of the cell scores against the true cell, L1 of the offset in the true cell (own style's head)."""
    scores, offsets = _split(out, heads)
    n, _, g, _ = scores.shape
    cell = size / g
    pts = y.reshape(n, N, 2) * (size - 1) / cell  # in cells
    ij = pts.floor().clamp(0, g - 1).long()  # (n, 68, 2): column, row
    flat = ij[..., 1] * g + ij[..., 0]
    target = F.one_hot(flat, g * g).float().reshape(n, N, g, g)
    score_loss = F.mse_loss(scores, target)
    own = offsets[torch.arange(n, device=out.device), styles]  # (n, 68, 2, G, G)
    at = own.reshape(n, N, 2, g * g).gather(3, flat[:, :, None, None].expand(n, N, 2, 1))[..., 0]
    return SCORE_WEIGHT * score_loss + F.l1_loss(at, pts - ij.float())


def pip_decode(out: torch.Tensor, heads: int, size: int) -> torch.Tensor:
    """(n, 136 * heads) points in crop units ([0, 1]) from the best cell of each point and that cell's offsets."""
    scores, offsets = _split(out, heads)
    n, _, g, _ = scores.shape
    cell = size / g
    flat = scores.reshape(n, N, g * g).argmax(-1)  # (n, 68)
    ij = torch.stack([flat % g, flat // g], -1).float()  # column, row
    off = offsets.reshape(n, heads, N, 2, g * g).gather(4, flat[:, None, :, None, None].expand(n, heads, N, 2, 1))[..., 0]
    pts = (ij[:, None] + off) * cell / (size - 1)
    return pts.reshape(n, heads * 2 * N)
