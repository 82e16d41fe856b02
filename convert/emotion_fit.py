"""Fitting one emotion head: multinomial logistic regression (numpy, Newton's method), its penalty chosen by a
subject-disjoint cross-validation, and a temperature fitted on out-of-fold logits so its scores are
probabilities on people it has not seen (Guo et al. 2017, temperature scaling)."""

from __future__ import annotations

import numpy as np

from edge.emotion import Head

L2_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
INNER_FOLDS = 5
SEED = 0
TEMPERATURES = np.exp(np.linspace(np.log(0.2), np.log(10.0), 121))  # the grid the temperature is picked from


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(0), np.maximum(x.std(0), 1e-6)


def train_head(x: np.ndarray, y: np.ndarray, n_classes: int, l2: float, iters: int = 30) -> Head:
    """Multinomial logistic regression, L2 on the weights, classes weighted to equal total weight; Newton steps."""
    mean, scale = standardiser(x)
    xs = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    n, d = xs.shape
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    present = counts > 0
    sw = (n / (present.sum() * np.maximum(counts, 1)))[y]
    sw /= sw.sum()
    onehot = np.eye(n_classes)[y]
    penalty = np.full(d, l2)
    penalty[-1] = 1e-6  # the bias: barely (keeps the Hessian invertible)
    w = np.zeros((n_classes, d))
    outer = (xs[:, :, None] * xs[:, None, :]).reshape(n, d * d)  # x x^T per sample, for the Hessian

    def loss_grad(w):
        logits = xs @ w.T
        logits -= logits.max(1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        p = np.exp(logp)
        loss = -(sw * (onehot * logp).sum(1)).sum() + 0.5 * (penalty * w**2).sum()
        grad = ((p - onehot) * sw[:, None]).T @ xs + penalty * w
        return loss, grad, p

    loss, grad, p = loss_grad(w)
    for _ in range(iters):
        a = p[:, :, None] * (np.eye(n_classes)[None] - p[:, None, :]) * sw[:, None, None]  # (n, K, K)
        hess = (a.reshape(n, -1).T @ outer).reshape(n_classes, n_classes, d, d).transpose(0, 2, 1, 3).reshape(n_classes * d, -1)
        hess += np.diag(np.tile(penalty, n_classes))
        step = np.linalg.solve(hess, grad.ravel()).reshape(n_classes, d)
        t = 1.0
        while t > 1e-4:
            new = w - t * step
            new_loss, new_grad, new_p = loss_grad(new)
            if new_loss <= loss:
                break
            t *= 0.5
        else:
            break
        converged = loss - new_loss < 1e-10
        w, loss, grad, p = new, new_loss, new_grad, new_p
        if converged:
            break
    return Head(mean, scale, w[:, :-1], w[:, -1])


def group_folds(subjects: np.ndarray, k: int, seed: int = SEED) -> np.ndarray:
    """Fold index per sample; every subject's samples in one fold (subject-disjoint)."""
    uniq = np.unique(subjects)
    order = np.random.default_rng(seed).permutation(len(uniq))
    fold_of = {s: i % k for i, s in zip(range(len(uniq)), uniq[order])}
    return np.array([fold_of[s] for s in subjects])


def balanced_accuracy(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    rec = [np.mean(pred[y == c] == c) for c in range(n_classes) if np.any(y == c)]
    return float(np.mean(rec))


def out_of_fold_logits(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, n_classes: int, l2: float, k: int = INNER_FOLDS, seed: int = SEED + 1
) -> np.ndarray:
    """Logits of every sample from a head trained without its subject's samples (group k-fold)."""
    k = min(k, len(np.unique(groups)))
    folds = group_folds(groups, k, seed)
    out = np.zeros((len(y), n_classes))
    for f in range(k):
        te = folds == f
        out[te] = train_head(x[~te], y[~te], n_classes, l2).logits(x[te])
    return out


def choose_l2(x: np.ndarray, y: np.ndarray, groups: np.ndarray, n_classes: int, grid=L2_GRID, k: int = INNER_FOLDS) -> float:
    """The penalty with the best balanced accuracy in an inner subject-disjoint cross-validation."""
    best, best_score = grid[0], -1.0
    for l2 in grid:
        score = balanced_accuracy(y, out_of_fold_logits(x, y, groups, n_classes, l2, k).argmax(1), n_classes)
        if score > best_score:
            best, best_score = l2, score
    return best


def nll(logits: np.ndarray, y: np.ndarray) -> float:
    z = logits - logits.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature (from a log grid, 0.2..10) that minimises the negative log-likelihood of `y` under softmax(logits / T)."""
    losses = [nll(logits / t, y) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def fit_head(x: np.ndarray, y: np.ndarray, groups: np.ndarray, n_classes: int, calibrate: bool = True) -> Head:
    """A head on all of (x, y): penalty by inner subject-disjoint CV; with `calibrate` its temperature is
    fitted on out-of-fold logits of the same CV (people the fold's head did not see)."""
    l2 = choose_l2(x, y, groups, n_classes)
    head = train_head(x, y, n_classes, l2)
    t = fit_temperature(out_of_fold_logits(x, y, groups, n_classes, l2), y) if calibrate else 1.0
    return Head(head.mean, head.scale, head.weights, head.bias, t)
