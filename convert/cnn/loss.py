"""Wing loss (Feng et al. 2018): log-shaped near zero so small errors still pull, L1 beyond `w`."""

from __future__ import annotations

import math

import torch


def _wing(d: torch.Tensor, w: float, eps: float) -> torch.Tensor:
    c = w - w * math.log1p(w / eps)
    return torch.where(d < w, w * torch.log1p(d / eps), d - c)


def wing_loss(pred: torch.Tensor, target: torch.Tensor, w: float = 10.0, eps: float = 2.0) -> torch.Tensor:
    """Mean Wing loss; pred/target in pixels of the crop (w and eps are in those pixels)."""
    return _wing((pred - target).abs(), w, eps).mean()


def masked_wing_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, w: float = 10.0, eps: float = 2.0) -> torch.Tensor:
    """Wing loss averaged over the coordinates whose `weight` is 1 (0: not a target, e.g. a point not marked).

    Its scale per supervised coordinate is `wing_loss`'s, so mixing faces with and without all
    their points does not change the step size of the ones that have them."""
    return (_wing((pred - target).abs(), w, eps) * weight).sum() / weight.sum().clamp(min=1.0)
