"""Scores of an emotion classifier: accuracy, per-class recall, the confusion matrix, and how far its
probabilities are from what they claim (expected calibration error).

Shared by the trainer (convert/emotion*.py) and `edgetrack eval-emotion` on the device, so a figure
printed by either means the same thing. Numpy only.
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 10


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> float:
    """Sum over equal-width bins of the top probability of |accuracy - mean top probability| x share of faces.

    0 when a face given 70% is right 70% of the time; an overconfident classifier on an unseen set
    scores high. `probs` (N, K) rows summing to 1, `y` (N,) true class indices (a class the model
    cannot answer, -1, counts as wrong)."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y)
    if len(y) == 0:
        return float("nan")
    top = probs.max(1)
    right = probs.argmax(1) == y
    which = np.minimum((top * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            ece += m.mean() * abs(right[m].mean() - top[m].mean())
    return float(ece)


def scores(y: np.ndarray, pred: np.ndarray, classes: tuple[str, ...] | list[str], probs: np.ndarray | None = None) -> dict:
    """Accuracy, mean per-class recall, per-class recall and the confusion matrix (rows: truth, columns: predicted)
    of label indices; with `probs` (N, K, columns in the order of `classes`' first K) also the ECE."""
    k = len(classes)
    y, pred = np.asarray(y), np.asarray(pred)
    conf = np.zeros((k, k), dtype=int)
    np.add.at(conf, (y, pred), 1)
    recall = {c: round(float(conf[i, i] / max(conf[i].sum(), 1)), 3) for i, c in enumerate(classes)}
    present = [recall[c] for i, c in enumerate(classes) if conf[i].sum() > 0]
    out = {"n": int(len(y)), "accuracy": round(float(np.mean(y == pred)), 3) if len(y) else 0.0,
           "mean_recall": round(float(np.mean(present)), 3) if present else 0.0, "recall": recall,
           "confusion": conf.tolist()}  # fmt: skip
    if probs is not None:
        out["ece"] = round(expected_calibration_error(probs, y), 3)
    return out


def format_scores(title: str, s: dict, classes: tuple[str, ...] | list[str], chance: float | None = None) -> str:
    """The scores as a few printable lines: accuracy (and ECE), recall per class, the confusion matrix."""
    short = [c[:5] for c in classes]
    chance = 1 / len(classes) if chance is None else chance
    ece = f", ECE {s['ece']:.3f}" if "ece" in s else ""
    mean_recall = f", mean recall {s['mean_recall']:.3f}" if "mean_recall" in s else ""
    lines = [f"{title}: accuracy {s['accuracy']:.3f}{mean_recall}{ece} on {s['n']} faces (chance {chance:.3f})"]
    lines.append("  recall  " + "  ".join(f"{c}={s['recall'][c]:.2f}" for c in classes))
    lines.append("  truth \\ predicted " + " ".join(f"{c:>6}" for c in short))
    for c, row in zip(short, s["confusion"]):
        lines.append(f"  {c:>17} " + " ".join(f"{v:>6}" for v in row))
    return "\n".join(lines)
