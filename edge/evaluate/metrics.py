"""Landmark error metrics, named by their normalisation.

NME here is the mean point-to-point distance divided by the outer-eye-corner distance
(points 36 and 45), the 300-W "inter-ocular" convention. Faces the landmarker could not
find count as failures in the failure rates and the AUC, so a detector that skips hard
faces cannot look better for it.
"""

from __future__ import annotations

import numpy as np

from edge.landmarks68 import N_POINTS, OUTER_EYE_LEFT, OUTER_EYE_RIGHT, REGIONS, interocular

__all__ = [
    "auc",
    "ced",
    "face_frame_errors",
    "failure_rate",
    "interocular",
    "mean_offset_by_region",
    "mean_offsets",
    "nme_by_region",
    "nme_interocular",
    "nme_unbiased",
]


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


# ---- systematic error: the constant offset of each point in the face's own frame


def _check_shapes(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[1:] != (N_POINTS, 2):
        raise ValueError(f"pred and gt must both be (N, {N_POINTS}, 2) arrays of faces, got {pred.shape} and {gt.shape}; stack the faces")
    return pred, gt


def _eye_frame(gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cos, sin, iod) per face of the ground truth's outer-eye-corner line (36 -> 45)."""
    d = gt[:, OUTER_EYE_RIGHT] - gt[:, OUTER_EYE_LEFT]
    iod = np.hypot(d[:, 0], d[:, 1])
    bad = np.flatnonzero(~(iod > 0))
    if bad.size:
        raise ValueError(f"ground-truth face {int(bad[0])} has its outer eye corners (36, 45) on one spot; drop that face from the scoring")
    return d[:, 0] / iod, d[:, 1] / iod, iod


def face_frame_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N, 68, 2) errors pred - gt in each face's own frame: turned so the ground truth's outer-eye-corner
    line (36 -> 45) lies along +x, and divided by that face's inter-ocular distance.

    In this frame "1 % IOD down the face" means the same thing on a rolled, small or large face,
    so errors of different faces can be averaged point by point."""
    pred, gt = _check_shapes(pred, gt)
    c, s, iod = _eye_frame(gt)
    e = pred - gt
    # rotate by minus the eye line's angle: x' = c x + s y, y' = -s x + c y
    x = (c[:, None] * e[..., 0] + s[:, None] * e[..., 1]) / iod[:, None]
    y = (-s[:, None] * e[..., 0] + c[:, None] * e[..., 1]) / iod[:, None]
    return np.stack([x, y], axis=-1)


def mean_offsets(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(68, 2): each point's mean error over the faces, in the face frame (fractions of the IOD): its systematic offset."""
    e = face_frame_errors(pred, gt)
    if not len(e):
        raise ValueError("no faces to average the offsets over; score at least one found face")
    return e.mean(0)


def mean_offset_by_region(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """Systematic error per region: the mean over a region's points of the length of each point's mean
    face-frame error (`mean_offsets`), as a fraction of the IOD like `nme_interocular`; key "all" is over all 68.

    Why: a landmarker trained on one annotation style and scored on another, or fed boxes framed
    differently from its training crops, misses every face in the same direction (a brow drawn a
    little higher, a jaw a little wider). That shows up as a constant offset per point, not as
    scatter; it is fixed by a calibration, not by a better model. Random error averages out over
    the faces (its mean offset shrinks like 1 / sqrt(N)), a systematic one does not.
    """
    m = np.linalg.norm(mean_offsets(pred, gt), axis=-1)
    out = {name: float(m[idx].mean()) for name, idx in REGIONS.items()}
    out["all"] = float(m.mean())
    return out


def nme_unbiased(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-face NME (fraction) after taking each point's systematic offset (`mean_offsets`, mapped back
    into each face's rotation and size) off the predictions: the error that is not a constant offset,
    i.e. how precise the landmarker would be with its bias calibrated away. The offsets are fitted on
    these same faces, so this splits the NME into bias and scatter (a diagnosis); it is not what a
    calibrated landmarker would score on new faces."""
    pred, gt = _check_shapes(pred, gt)
    m = mean_offsets(pred, gt)
    c, s, iod = _eye_frame(gt)
    # back to image axes: x = c x' - s y', y = s x' + c y', times the IOD
    dx = (c[:, None] * m[None, :, 0] - s[:, None] * m[None, :, 1]) * iod[:, None]
    dy = (s[:, None] * m[None, :, 0] + c[:, None] * m[None, :, 1]) * iod[:, None]
    return nme_interocular(pred - np.stack([dx, dy], axis=-1), gt)
