"""Patch experts per landmark, each (C, P, P) filters + bias under a logistic, by expert type.

Linear experts (`raw`, `sobel`, `lbp`): L2-regularised logistic regression on P x P patches of one
feature image. Positives: the patch centred on the annotation. Negatives: patches of the same window at
least `neg_min` pixels away (the ring around it), so the expert learns to peak at the point and fall off
around it, which is what the mean-shift needs.

`blend`: per landmark a logistic regression over the raw, Sobel and LBP experts' logits at the same
samples (3 weights + bias), folded into one (3, P, P) filter. `mosse`: a correlation filter per landmark
trained in the Fourier domain (edge.clm.mosse), whose correlation is put under a logistic fitted on the
same positive / negative patches.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convert.patches.data import WindowSet
from edge.clm.mosse import Mosse
from edge.clm.preprocessing import channels_of, normalise_windows
from edge.clm.response import FloatResponses


def logistic_regression(
    x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, l2: float, n_iter: int = 12, init: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """(weights, bias) minimising weighted log-loss + l2/2 |w|^2 (bias unpenalised), by Newton's method (IRLS).

    P*P + 1 unknowns, so each Newton step is one (d x d) Gram matrix: far faster than
    first-order solvers here, and it converges in a handful of steps (fewer from a close `init`, (d + 1,)).
    """
    n, d = x.shape
    xa = np.empty((n, d + 1), np.float32)
    xa[:, :d] = x
    xa[:, d] = 1.0
    sw = (sample_weight / sample_weight.sum()).astype(np.float64)
    yy = (y > 0).astype(np.float64)
    theta = np.zeros(d + 1) if init is None else np.asarray(init, dtype=np.float64).copy()
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
    """(patches (N*(1+n_neg), C*P*P), labels) from normalised windows (N, W, W) or (N, C, W, W) and their offsets (N, 2)."""
    if feats.ndim == 3:
        feats = feats[:, None]
    n, c, w, _ = feats.shape
    r = w - patch + 1
    h = (r - 1) // 2
    views = np.moveaxis(sliding_window_view(feats, (patch, patch), axis=(2, 3)), 1, 3)  # (N, R, R, C, P, P)
    pr, pc = h - offsets[:, 1].astype(int), h - offsets[:, 0].astype(int)
    cand_r = rng.integers(0, r, size=(n, 4 * n_neg))
    cand_c = rng.integers(0, r, size=(n, 4 * n_neg))
    far = np.maximum(np.abs(cand_r - pr[:, None]), np.abs(cand_c - pc[:, None])) >= neg_min
    order = np.argsort(~far, axis=1, kind="stable")[:, :n_neg]
    nr = np.take_along_axis(cand_r, order, 1)
    nc = np.take_along_axis(cand_c, order, 1)
    rows = np.concatenate([pr[:, None], nr], 1)
    cols = np.concatenate([pc[:, None], nc], 1)
    patches = views[np.arange(n)[:, None], rows, cols].reshape(-1, c * patch * patch)
    labels = np.zeros((n, 1 + n_neg), np.int8)
    labels[:, 0] = 1
    return patches, labels.ravel()


def train_patch_experts(
    data: WindowSet, kind: str, patch: int = 11, n_neg: int = 8, neg_min: int = 2, l2: float = 1e-3, seed: int = 0, progress: bool = True,
    init: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(filters (68, P, P), bias (68,)) for preprocessing `kind` ((68, C, P, P) for C channels joined by '+', trained jointly)."""
    rng = np.random.default_rng(seed)
    n_pts = data.windows.shape[1]
    nc = len(channels_of(kind))
    filters = np.zeros((n_pts, nc, patch, patch) if nc > 1 else (n_pts, patch, patch), np.float32)
    bias = np.zeros(n_pts, np.float32)
    t0 = time.perf_counter()
    for i in range(n_pts):
        feats = normalise_windows(data.windows[:, i], kind)
        x, y = patch_samples(feats, data.offsets[:, i], patch, n_neg, neg_min, rng)
        # unweighted: the responses keep the true 1:n_neg prior, so peaks stay below saturation
        # (the mean-shift sees a shape, and int8 outputs do not tie at 127); measured better than class-balanced
        start = None if init is None else np.append(init[0][i].ravel(), init[1][i])
        w, b = logistic_regression(x, y, np.ones(len(y)), l2, init=start)
        filters[i] = w.reshape(filters.shape[1:])
        bias[i] = b
        if progress and (i + 1) % 17 == 0:
            print(f"  {kind} experts: {i + 1}/{n_pts} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return filters, bias


def train_blend(
    data: WindowSet, experts: dict[str, tuple[np.ndarray, np.ndarray]], patch: int = 11, n_neg: int = 8, neg_min: int = 2,
    l2: float = 1e-4, seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per landmark, a logistic regression over the logits of single-channel experts (kind -> (filters, bias))
    at the same positive / negative patches. Returns (weights (68, K), bias (68,), folded filters (68, K, P, P),
    folded bias (68,)): logistic(sum_k w_k (f_k * x_k + b_k) + b0) is one K-channel expert."""
    kinds = list(experts)
    rng = np.random.default_rng(seed)
    n_pts = data.windows.shape[1]
    weights = np.zeros((n_pts, len(kinds)))
    bias0 = np.zeros(n_pts)
    for i in range(n_pts):
        feats = normalise_windows(data.windows[:, i], "+".join(kinds))
        x, y = patch_samples(feats, data.offsets[:, i], patch, n_neg, neg_min, rng)
        x = x.reshape(len(x), len(kinds), patch * patch)
        z = np.stack([x[:, k] @ experts[kind][0][i].ravel() + experts[kind][1][i] for k, kind in enumerate(kinds)], 1)
        weights[i], bias0[i] = logistic_regression(z.astype(np.float32), y, np.ones(len(y)), l2)
    filters = np.stack([weights[:, k, None, None] * experts[kind][0] for k, kind in enumerate(kinds)], 1).astype(np.float32)
    bias = (bias0 + sum(weights[:, k] * experts[kind][1] for k, kind in enumerate(kinds))).astype(np.float32)
    return weights, bias0, filters, bias


def train_mosse_experts(
    data: WindowSet, kind: str = "raw", patch: int = 11, sigma: float = 0.5, lam: float = 0.01, n_neg: int = 8, neg_min: int = 2,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(filters (68, P, P), bias (68,)): per landmark a MOSSE filter trained in the Fourier domain on the whole
    search windows (the point wherever the window put it, a Gaussian target of `sigma` px there, regulariser
    `lam` times the mean spectral energy; edge.clm.mosse), cut to a P x P sliding-correlation kernel, then
    scale and bias of a logistic on its correlation at positive / negative patches (so the response maps
    are probabilities like every other expert's)."""
    rng = np.random.default_rng(seed)
    n_pts = data.windows.shape[1]
    filters = np.zeros((n_pts, patch, patch), np.float32)
    bias = np.zeros(n_pts, np.float32)
    for i in range(n_pts):
        feats = normalise_windows(data.windows[:, i], kind)
        offs = data.offsets[:, i].astype(int)
        kernel = Mosse.train(feats, -offs, sigma=sigma, lam=lam).spatial_filter(patch)  # the truth is centre - offset
        x, y = patch_samples(feats, offs, patch, n_neg, neg_min, rng)
        corr = (x @ kernel.ravel()).astype(np.float32)
        sd = float(corr.std()) + 1e-12
        a, b = logistic_regression((corr / sd)[:, None], y, np.ones(len(y)), 1e-6)
        filters[i] = kernel * (a[0] / sd)
        bias[i] = b
    return filters, bias


def landmark_weights(data: WindowSet, kind: str, filters: np.ndarray, bias: np.ndarray, n: int = 1500, seed: int = 0) -> np.ndarray:
    """(68,) how reliable each landmark's expert is on training windows: 1 / (mean squared argmax error + 1 px^2),
    scaled to mean 1 (the fit's per-landmark weights)."""
    pick = np.sort(np.random.default_rng(seed).permutation(len(data))[:n])
    resp = FloatResponses(filters, bias)
    r = data.windows.shape[-1] - filters.shape[-1] + 1
    h = (r - 1) // 2
    sq = np.zeros(data.windows.shape[1])
    for j in pick:
        maps = resp(normalise_windows(data.windows[j], kind))
        arg = maps.reshape(len(maps), -1).argmax(1)
        offs = data.offsets[j].astype(int)
        sq += (arg // r - (h - offs[:, 1])) ** 2 + (arg % r - (h - offs[:, 0])) ** 2
    w = 1.0 / (sq / len(pick) + 1.0)
    return w / w.mean()


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
