"""Regularized landmark mean-shift (Saragih et al. 2011): the numba inner loop.

Given the response maps sampled around fixed window centres, alternate
  1. per landmark, a KDE mean-shift over its response map with an isotropic Gaussian
     kernel of variance `rho` (reference pixels^2), and
  2. one Gauss-Newton step of the similarity (a, b, tx, ty) + non-rigid parameters p
     towards the shifted points, with a Tikhonov prior reg * p_k^2 / eigenvalue_k,
until the points stop moving. Everything is in the reference frame.

Optional per-landmark weights (mean 1) make step 2 a weighted least squares: landmarks whose experts
are reliable pull harder than those that are not (the jaw's), as in non-uniform RLMS (Baltrusaitis et al.).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def shape_points(q: np.ndarray, mean: np.ndarray, comps: np.ndarray) -> np.ndarray:
    """(n, 2) points of parameters q = [a, b, tx, ty, p...]."""
    n = mean.shape[0]
    k = comps.shape[0]
    z = mean.copy()
    for j in range(k):
        pj = q[4 + j]
        for i in range(n):
            z[i, 0] += pj * comps[j, 2 * i]
            z[i, 1] += pj * comps[j, 2 * i + 1]
    out = np.empty_like(z)
    a, b, tx, ty = q[0], q[1], q[2], q[3]
    for i in range(n):
        out[i, 0] = a * z[i, 0] - b * z[i, 1] + tx
        out[i, 1] = b * z[i, 0] + a * z[i, 1] + ty
    return out


@njit(cache=True, fastmath=True)
def mean_shift(resp: np.ndarray, centres: np.ndarray, pts: np.ndarray, rho: float) -> np.ndarray:
    """(n, 2) mean-shift vectors of the current points over their response maps."""
    n, r, _ = resp.shape
    half = (r - 1) / 2.0
    inv = -0.5 / rho
    v = np.zeros((n, 2))
    kx = np.empty(r)
    ky = np.empty(r)
    for i in range(n):
        ox = pts[i, 0] - centres[i, 0]
        oy = pts[i, 1] - centres[i, 1]
        for t in range(r):  # the Gaussian kernel is separable: 2r exponentials instead of r^2
            kx[t] = np.exp(inv * (t - half - ox) * (t - half - ox))
            ky[t] = np.exp(inv * (t - half - oy) * (t - half - oy))
        sw = 0.0
        sx = 0.0
        sy = 0.0
        for row in range(r):
            dy = row - half
            for col in range(r):
                w = resp[i, row, col] * ky[row] * kx[col]
                sw += w
                sx += w * (col - half)
                sy += w * dy
        if sw > 1e-12:
            v[i, 0] = sx / sw - ox
            v[i, 1] = sy / sw - oy
    return v


@njit(cache=True)
def cholesky_solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x with a x = b for symmetric positive-definite a (a tiny ridge keeps a degenerate system finite)."""
    m = a.shape[0]
    low = np.zeros((m, m))
    ridge = 1e-9 * (np.abs(np.diag(a)).max() + 1e-12)
    for i in range(m):
        for j in range(i + 1):
            acc = a[i, j]
            for k in range(j):
                acc -= low[i, k] * low[j, k]
            if i == j:
                low[i, i] = np.sqrt(max(acc + ridge, 1e-300))
            else:
                low[i, j] = acc / low[j, j]
    y = np.empty(m)
    for i in range(m):
        acc = b[i]
        for k in range(i):
            acc -= low[i, k] * y[k]
        y[i] = acc / low[i, i]
    x = np.empty(m)
    for i in range(m - 1, -1, -1):
        acc = y[i]
        for k in range(i + 1, m):
            acc -= low[k, i] * x[k]
        x[i] = acc / low[i, i]
    return x


def rlms_iterations(
    resp: np.ndarray,
    centres: np.ndarray,
    q: np.ndarray,
    mean: np.ndarray,
    comps: np.ndarray,
    eigenvalues: np.ndarray,
    rho: float,
    reg: float,
    n_iter: int,
    tol: float,
    n_sigma: float,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Updated parameters and the number of iterations run (stops when no point moves more than tol);
    `weights` (n,) per landmark, default all 1."""
    w = np.ones(mean.shape[0]) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    return _rlms(resp, centres, q, mean, comps, eigenvalues, float(rho), float(reg), int(n_iter), float(tol), float(n_sigma), w)


@njit(cache=True, fastmath=True)
def _rlms(
    resp: np.ndarray,
    centres: np.ndarray,
    q: np.ndarray,
    mean: np.ndarray,
    comps: np.ndarray,
    eigenvalues: np.ndarray,
    rho: float,
    reg: float,
    n_iter: int,
    tol: float,
    n_sigma: float,
    weights: np.ndarray,
) -> tuple[np.ndarray, int]:
    n = mean.shape[0]
    k = comps.shape[0]
    m = 4 + k
    q = q.copy()
    it = 0
    for _ in range(n_iter):
        it += 1
        pts = shape_points(q, mean, comps)
        v = mean_shift(resp, centres, pts, rho)
        # z = mean + p comps (model frame), Jacobian columns
        z = mean.copy()
        for j in range(k):
            for i in range(n):
                z[i, 0] += q[4 + j] * comps[j, 2 * i]
                z[i, 1] += q[4 + j] * comps[j, 2 * i + 1]
        jac = np.empty((2 * n, m))
        a, b = q[0], q[1]
        for i in range(n):
            jac[2 * i, 0] = z[i, 0]
            jac[2 * i + 1, 0] = z[i, 1]
            jac[2 * i, 1] = -z[i, 1]
            jac[2 * i + 1, 1] = z[i, 0]
            jac[2 * i, 2] = 1.0
            jac[2 * i + 1, 2] = 0.0
            jac[2 * i, 3] = 0.0
            jac[2 * i + 1, 3] = 1.0
            for j in range(k):
                cx = comps[j, 2 * i]
                cy = comps[j, 2 * i + 1]
                jac[2 * i, 4 + j] = a * cx - b * cy
                jac[2 * i + 1, 4 + j] = b * cx + a * cy
        # normal equations by explicit loops: numba's matmul / linalg need SciPy, which the device install lacks
        hess = np.zeros((m, m))
        grad = np.zeros(m)
        for r in range(2 * n):
            wr = weights[r // 2]
            vr = v[r // 2, r % 2] * wr
            for c1 in range(m):
                jc = jac[r, c1]
                grad[c1] += jc * vr
                jw = jc * wr
                for c2 in range(c1, m):
                    hess[c1, c2] += jw * jac[r, c2]
        for c1 in range(m):
            for c2 in range(c1):
                hess[c1, c2] = hess[c2, c1]
        for j in range(k):
            hess[4 + j, 4 + j] += reg / eigenvalues[j]
            grad[4 + j] -= reg / eigenvalues[j] * q[4 + j]
        delta = cholesky_solve(hess, grad)
        q += delta
        for j in range(k):
            lim = n_sigma * np.sqrt(eigenvalues[j])
            q[4 + j] = min(max(q[4 + j], -lim), lim)
        moved = 0.0
        new = shape_points(q, mean, comps)
        for i in range(n):
            d = abs(new[i, 0] - pts[i, 0]) + abs(new[i, 1] - pts[i, 1])
            moved = max(moved, d)
        if moved < tol:
            break
    return q, it
