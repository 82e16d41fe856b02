"""One linear patch expert per landmark: L2-regularised logistic regression on P x P patches.

Positives: the patch centred on the annotation. Negatives: patches of the same window at
least `neg_min` pixels away (the ring around it), so the expert learns to peak at the
point and fall off around it, which is what the mean-shift needs.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convert.patches.data import WindowSet
from edge.clm.preprocessing import normalise_windows
from edge.clm.response import FloatResponses


def logistic_regression(x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, l2: float, n_iter: int = 12) -> tuple[np.ndarray, float]:
    """(weights, bias) minimising weighted log-loss + l2/2 |w|^2 (bias unpenalised), by Newton's method (IRLS).

    P*P + 1 unknowns, so each Newton step is one (d x d) Gram matrix: far faster than
    first-order solvers here, and it converges in a handful of steps.
    """
    n, d = x.shape
    xa = np.empty((n, d + 1), np.float32)
    xa[:, :d] = x
    xa[:, d] = 1.0
    sw = (sample_weight / sample_weight.sum()).astype(np.float64)
    yy = (y > 0).astype(np.float64)
    theta = np.zeros(d + 1)
    pen = np.full(d + 1, l2)
    pen[d] = 1e-9
    for _ in range(n_iter):
        z = xa @ theta.astype(np.float32)
        prob = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        grad = xa.T @ (sw * (prob - yy)).astype(np.float32) + pen * theta
        s = (sw * prob * (1 - prob)).astype(np.float32)
        hess = (xa * s[:, None]).T @ xa + np.diag(pen)
        step = np.linalg.solve(hess.astype(np.float64), grad.astype(np.float64))
        theta -= step
        if np.abs(step).max() < 1e-6:
            break
    return theta[:d], float(theta[d])


def patch_samples(
    feats: np.ndarray, offsets: np.ndarray, patch: int, n_neg: int, neg_min: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(patches (N*(1+n_neg), P*P), labels) from normalised windows (N, W, W) and their offsets (N, 2)."""
    n, w, _ = feats.shape
    r = w - patch + 1
    h = (r - 1) // 2
    views = sliding_window_view(feats, (patch, patch), axis=(1, 2))  # (N, R, R, P, P)
    pr, pc = h - offsets[:, 1].astype(int), h - offsets[:, 0].astype(int)
    cand_r = rng.integers(0, r, size=(n, 4 * n_neg))
    cand_c = rng.integers(0, r, size=(n, 4 * n_neg))
    far = np.maximum(np.abs(cand_r - pr[:, None]), np.abs(cand_c - pc[:, None])) >= neg_min
    order = np.argsort(~far, axis=1, kind="stable")[:, :n_neg]
    nr = np.take_along_axis(cand_r, order, 1)
    nc = np.take_along_axis(cand_c, order, 1)
    rows = np.concatenate([pr[:, None], nr], 1)
    cols = np.concatenate([pc[:, None], nc], 1)
    patches = views[np.arange(n)[:, None], rows, cols].reshape(-1, patch * patch)
    labels = np.zeros((n, 1 + n_neg), np.int8)
    labels[:, 0] = 1
    return patches, labels.ravel()


def train_patch_experts(
    data: WindowSet, kind: str, patch: int = 11, n_neg: int = 8, neg_min: int = 2, l2: float = 1e-3, seed: int = 0, progress: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(filters (68, P, P), bias (68,)) for preprocessing `kind`."""
    rng = np.random.default_rng(seed)
    n_pts = data.windows.shape[1]
    filters = np.zeros((n_pts, patch, patch), np.float32)
    bias = np.zeros(n_pts, np.float32)
    t0 = time.perf_counter()
    for i in range(n_pts):
        feats = normalise_windows(data.windows[:, i], kind)
        x, y = patch_samples(feats, data.offsets[:, i], patch, n_neg, neg_min, rng)
        # unweighted: the responses keep the true 1:n_neg prior, so peaks stay below saturation
        # (the mean-shift sees a shape, and int8 outputs do not tie at 127); measured better than class-balanced
        w, b = logistic_regression(x, y, np.ones(len(y)), l2)
        filters[i] = w.reshape(patch, patch)
        bias[i] = b
        if progress and (i + 1) % 17 == 0:
            print(f"  {kind} experts: {i + 1}/{n_pts} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return filters, bias


def patch_accuracy(data: WindowSet, kind: str, filters: np.ndarray, bias: np.ndarray) -> dict[str, float]:
    """How well the experts alone find the truth in held-out windows: argmax within 1 px, mean argmax error."""
    resp = FloatResponses(filters, bias)
    r = data.windows.shape[-1] - filters.shape[-1] + 1
    h = (r - 1) // 2
    hits, errs = [], []
    for n0 in range(0, len(data), 256):
        wins = data.windows[n0 : n0 + 256]
        offs = data.offsets[n0 : n0 + 256].astype(int)
        for j in range(len(wins)):
            maps = resp(normalise_windows(wins[j], kind))
            arg = maps.reshape(len(maps), -1).argmax(1)
            ar, ac = arg // r, arg % r
            dr, dc = ar - (h - offs[j, :, 1]), ac - (h - offs[j, :, 0])
            d = np.hypot(dr, dc)
            hits.append(np.maximum(np.abs(dr), np.abs(dc)) <= 1)
            errs.append(d)
    hits_a, errs_a = np.concatenate(hits), np.concatenate(errs)
    return {"argmax_within_1px_pct": 100.0 * float(hits_a.mean()), "argmax_err_px": float(errs_a.mean())}
