"""Generalised Procrustes alignment and PCA over training shapes -> ShapeModel."""

from __future__ import annotations

import numpy as np

from edge.geometry import fit_similarity
from edge.landmarks68 import OUTER_EYE_LEFT, OUTER_EYE_RIGHT
from edge.shape_model import ShapeModel


def _normalise(shape: np.ndarray) -> np.ndarray:
    c = shape - shape.mean(0)
    return c / np.sqrt((c**2).sum(1).mean())


def _upright(shape: np.ndarray) -> np.ndarray:
    """Rotate a centred shape so its outer-eye-corner line is horizontal: the model frame is an upright face."""
    d = shape[OUTER_EYE_RIGHT] - shape[OUTER_EYE_LEFT]
    if shape.shape[0] <= max(OUTER_EYE_LEFT, OUTER_EYE_RIGHT) or not np.any(d):
        return shape
    a = -np.arctan2(d[1], d[0])
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return shape @ rot.T


def procrustes_align(shapes: np.ndarray, n_iter: int = 20, tol: float = 1e-7) -> tuple[np.ndarray, np.ndarray]:
    """Align every shape to a common mean by similarity; returns (aligned shapes, mean)."""
    shapes = np.asarray(shapes, dtype=np.float64)
    mean = _upright(_normalise(shapes[0]))
    aligned = shapes.copy()
    for _ in range(n_iter):
        aligned = np.stack([fit_similarity(s, mean).apply(s) for s in shapes])
        new_mean = _normalise(aligned.mean(0))
        # keep the mean upright: align it to the previous mean, so the frame does not drift
        new_mean = _normalise(fit_similarity(new_mean, mean).apply(new_mean))
        if np.abs(new_mean - mean).max() < tol:
            mean = new_mean
            break
        mean = new_mean
    mean = _upright(mean)
    aligned = np.stack([fit_similarity(s, mean).apply(s) for s in shapes])
    return aligned, mean


def _similarity_basis(mean: np.ndarray) -> np.ndarray:
    """Orthonormal directions of scale, rotation and translation around the mean."""
    x, y = mean[:, 0], mean[:, 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    basis = np.stack([
        np.stack([x, y], 1).ravel(),
        np.stack([-y, x], 1).ravel(),
        np.stack([one, zero], 1).ravel(),
        np.stack([zero, one], 1).ravel(),
    ])
    q, _ = np.linalg.qr(basis.T)
    return q.T


def train_shape_model(shapes: np.ndarray, variance_kept: float = 0.97, max_params: int = 24) -> ShapeModel:
    """PCA of the Procrustes residuals, with the similarity directions projected out so
    that rigid motion lives only in the Similarity and non-rigid only in the parameters."""
    aligned, mean = procrustes_align(shapes)
    residual = (aligned - mean).reshape(len(aligned), -1)
    sim = _similarity_basis(mean)
    residual = residual - (residual @ sim.T) @ sim
    cov = residual.T @ residual / max(len(residual) - 1, 1)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    frac = np.cumsum(evals) / evals.sum()
    k = int(min(max_params, np.searchsorted(frac, variance_kept) + 1))
    comps = evecs[:, :k].T
    # deterministic sign: largest-magnitude entry positive
    signs = np.sign(comps[np.arange(k), np.abs(comps).argmax(1)])
    comps = comps * signs[:, None]
    return ShapeModel(mean, comps, evals[:k])
