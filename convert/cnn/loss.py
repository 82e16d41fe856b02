"""Wing loss (Feng et al. 2018): log-shaped near zero so small errors still pull, L1 beyond `w`."""

from __future__ import annotations

import math

import torch


def wing_loss(pred: torch.Tensor, target: torch.Tensor, w: float = 10.0, eps: float = 2.0) -> torch.Tensor:
    """Mean Wing loss; pred/target in pixels of the crop (w and eps are in those pixels)."""
    d = (pred - target).abs()
    c = w - w * math.log1p(w / eps)
    return torch.where(d < w, w * torch.log1p(d / eps), d - c).mean()
