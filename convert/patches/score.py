"""The whole-face score model: logistic regression that tells an aligned face from a misplaced or absent one.

Positives: faces under their annotated similarity with the small jitter a good fit leaves.
Negatives: the same faces under shifted, wrongly scaled or rotated similarities (what a
drifting tracker sees) and random places in the image. Trackers re-detect when it drops.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from convert.patches.data import grey_faces
from edge.clm.model import FaceScore, face_features
from edge.data import FaceSample, flip_sample
from edge.geometry import Similarity, fit_similarity
from edge.shape_model import ShapeModel


def _jitter(sim: Similarity, rng: np.random.Generator, shift: float, log_scale: float, rot_deg: float) -> Similarity:
    """sim after a similarity about the model origin: shift (model units), scale factor exp(log_scale), rotation."""
    ang = np.deg2rad(rot_deg)
    c, s = np.cos(ang) * np.exp(log_scale), np.sin(ang) * np.exp(log_scale)
    d = rng.normal(size=2)
    d = d / (np.linalg.norm(d) + 1e-12) * shift
    return sim.compose(Similarity(c, s, float(d[0]), float(d[1])))


def score_samples(samples: list[FaceSample], shape: ShapeModel, seed: int = 0, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels): per face and its mirror image one positive and three negatives."""
    rng = np.random.default_rng(seed)
    feats, labels = [], []
    for sample, grey0 in grey_faces(samples, "score samples", progress):
        for flip in (False, True):
            grey, pts = flip_sample(grey0, sample.points) if flip else (grey0, sample.points)
            sim = fit_similarity(shape.mean, pts.astype(np.float64))
            pos = _jitter(sim, rng, rng.uniform(0, 0.08), rng.uniform(-0.06, 0.06), rng.uniform(-6, 6))
            negs = [
                _jitter(sim, rng, rng.uniform(0.5, 1.5), rng.uniform(-0.1, 0.1), rng.uniform(-10, 10)),
                _jitter(sim, rng, rng.uniform(0, 0.3), rng.choice([-1, 1]) * rng.uniform(0.45, 0.9), rng.uniform(-10, 10)),
                _jitter(sim, rng, rng.uniform(0, 0.3), rng.uniform(-0.1, 0.1), rng.choice([-1, 1]) * rng.uniform(35, 120)),
            ]
            h, w = grey.shape
            sc = sim.scale * np.exp(rng.uniform(-0.7, 0.7))
            ang = rng.uniform(-0.3, 0.3)
            negs.append(Similarity(sc * np.cos(ang), sc * np.sin(ang), rng.uniform(0, w), rng.uniform(0, h)))
            for s, y in [(pos, 1)] + [(n, 0) for n in negs]:
                feats.append(face_features(grey, s))
                labels.append(y)
    return np.asarray(feats, np.float32), np.asarray(labels, np.int8)


def train_face_score(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, max_iter: int = 300) -> FaceScore:
    """Class-balanced L2 logistic regression on standardised features (L-BFGS)."""
    mu = x.mean(0).astype(np.float64)
    sd = x.std(0).astype(np.float64) + 1e-3
    xs = ((x - mu) / sd).astype(np.float32)
    n_pos, n_neg = max(int((y > 0).sum()), 1), max(int((y == 0).sum()), 1)
    sw = np.where(y > 0, 0.5 / n_pos, 0.5 / n_neg)
    ys = np.where(y > 0, 1.0, -1.0)
    d = xs.shape[1]

    def f(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:d], theta[d]
        z = ys * (xs @ w.astype(np.float32) + b)
        g = -ys * sw / (1.0 + np.exp(np.clip(z, -50, 50)))
        grad = np.empty(d + 1)
        grad[:d] = xs.T @ g.astype(np.float32) + l2 * w
        grad[d] = g.sum()
        return float((sw * np.logaddexp(0.0, -z)).sum() + 0.5 * l2 * (w @ w)), grad

    res = minimize(f, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return FaceScore(res.x[:d], float(res.x[d]), mu, sd)


def score_accuracy(model: FaceScore, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    p = 1.0 / (1.0 + np.exp(-model.logit(x.astype(np.float64))))
    return {
        "accuracy_pct": 100.0 * float(((p > 0.5) == (y > 0)).mean()),
        "positives_above_0.5_pct": 100.0 * float((p[y > 0] > 0.5).mean()),
        "negatives_below_0.5_pct": 100.0 * float((p[y == 0] <= 0.5).mean()),
    }
