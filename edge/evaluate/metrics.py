"""Landmark error metrics, named by their normalisation.

NME here is the mean point-to-point distance divided by the outer-eye-corner distance
(points 36 and 45), the 300-W "inter-ocular" convention. Faces the landmarker could not
find count as failures in the failure rates and the AUC, so a detector that skips hard
faces cannot look better for it.
"""

from __future__ import annotations

import numpy as np

from edge.landmarks68 import REGIONS, interocular

__all__ = ["auc", "ced", "failure_rate", "interocular", "nme_by_region", "nme_interocular"]


def nme_interocular(pred: np.ndarray, gt: np.ndarray, points: np.ndarray | None = None) -> np.ndarray:
    """Per-face NME (fraction, not percent) over `points` (all 68 by default)."""
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    idx = slice(None) if points is None else points
    dist = np.linalg.norm(pred[..., idx, :] - gt[..., idx, :], axis=-1).mean(-1)
    return dist / interocular(gt)


def nme_by_region(pred: np.ndarray, gt: np.ndarray) -> dict[str, np.ndarray]:
    return {name: nme_interocular(pred, gt, idx) for name, idx in REGIONS.items()}


def failure_rate(nme: np.ndarray, threshold: float, n_missing: int = 0) -> float:
    """Share of faces (missing ones included) with NME above `threshold`."""
    n = len(nme) + n_missing
    return float(((nme > threshold).sum() + n_missing) / n) if n else float("nan")


def ced(nme: np.ndarray, limit: float, n_missing: int = 0, steps: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative error distribution: (thresholds, share of all faces at or below each)."""
    thresholds = np.linspace(0.0, limit, steps + 1)
    n = len(nme) + n_missing
    sorted_nme = np.sort(nme)
    share = np.searchsorted(sorted_nme, thresholds, side="right") / max(n, 1)
    return thresholds, share


def auc(nme: np.ndarray, limit: float = 0.08, n_missing: int = 0) -> float:
    """Area under the CED up to `limit`, scaled to [0, 1]."""
    t, share = ced(nme, limit, n_missing)
    return float(np.trapezoid(share, t) / limit) if hasattr(np, "trapezoid") else float(np.trapz(share, t) / limit)
