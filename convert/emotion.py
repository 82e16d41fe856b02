"""`edgetrack train emotion`: the emotion classifier on shape parameters -> models/emotion.json.

Data (../shared/data, never committed):
  * kdef/    980 photos (70 people x 7 expressions x 2 sessions), tight 256x256 crops. The points
             are fitted here with the runtime (Haar detector + the default CNN landmarker,
             `edge.emotion.fit_still`), so training sees the points the device will see;
             cached under build/emotion/ (derived from the photos: never committed).
  * ckplus/  68-point shapes of CK+ peak frames and one neutral frame per subject.

Features (edge.emotion.face_features): the 24 shape parameters in standard deviations, plus
the expression measures of edge/signals.py. Classifier: multinomial logistic regression
with an L2 penalty and balanced class weights (Newton's method, numpy), its penalty chosen
by an inner subject-disjoint cross-validation.

Reported (and stored in the model): subject-disjoint 10-fold cross-validation per data set
(group k-fold by subject), for
  * none:    the face's own features (the `absolute` head);
  * neutral: features minus the same person's neutral (KDEF: the neutral photo of the
             *other* session, so a neutral photo is never compared with itself; CK+: the
             subject's neutral frame) -- the `relative` head;
  * median:  the relative head (trained on neutral baselines) applied against the median of
             the person's photos (KDEF: the 7 of that session; CK+: all of the subject's
             frames) -- what the runtime's running-median baseline (NeutralBaseline) does.
CK+ is scored in its usual 7-class protocol (anger, contempt, disgust, fear, happiness,
sadness, surprise); KDEF in its 7 classes (with neutral, no contempt). Chance is 1/7.

The shipped model is trained on both sets together (all 8 labels), CK+'s features shifted into our
landmarker's style for the absolute head (`in_runtime_style`). Its expression
directions, for `--effect express`, are the mean shape-parameter change from each person's
neutral to each expression over both sets (see README).

    edgetrack train emotion [--data ROOT] [--out models/emotion.json] [--no-signals]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edge.detect import make_detector
from edge.emotion import (
    LABELS,
    MODEL_FILE,
    SHAPE_FIT_ITERATIONS,
    EmotionClassifier,
    Head,
    face_features,
    fit_still,
    format_scores,
    scores,
)
from edge.landmarks import make_landmarker
from edge.paths import REPO_ROOT, data_root, model_path
from edge.shape_model import ShapeModel

L2_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
FOLDS = 10
INNER_FOLDS = 5
SEED = 0
CACHE = REPO_ROOT / "build" / "emotion"
CKPLUS_CLASSES = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")
KDEF_CLASSES = ("anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise")


@dataclass
class EmotionSet:
    name: str
    points: np.ndarray  # (N, 68, 2)
    labels: np.ndarray  # (N,) str
    subjects: np.ndarray  # (N,) str
    sessions: np.ndarray  # (N,) str ("" where the set has none)
    classes: tuple[str, ...]  # the labels it is scored on
    notes: dict = field(default_factory=dict)


# ---- data ------------------------------------------------------------------------------------


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def load_kdef(folder: Path, cache: Path | None = None) -> EmotionSet:
    """The KDEF photos with points fitted by the runtime (cached under `cache`, default build/emotion/;
    refitted when the photo list or the models change)."""
    cache = cache or CACHE
    rows = _rows(folder / "labels.csv")
    names = [r["image"] for r in rows]
    inputs = [model_path(n) for n in ("cnn_landmarks_int8.tflite", "box_mapping.json")]
    stamp = "|".join(names) + "|" + "|".join(f"{p.name}:{p.stat().st_mtime_ns}" for p in inputs if p.is_file())
    key = hashlib.sha1(stamp.encode()).hexdigest()[:16]
    where = hashlib.sha1(str(Path(folder).resolve()).encode()).hexdigest()[:8]  # one cache per data folder
    cached = cache / f"kdef_points_{where}.npz"
    if cached.is_file():
        with np.load(cached) as z:
            if str(z["key"]) == key:
                points, found = z["points"], z["found"]
                return _kdef_set(rows, points, found)
    detector, landmarker = make_detector("haar"), make_landmarker("cnn", num_threads=1)
    points, found = [], []
    for i, name in enumerate(names):
        image = cv2.imread(str(folder / "images" / name))
        if image is None:
            raise FileNotFoundError(f"{folder / 'images' / name}: missing or unreadable; check the kdef folder")
        p, ok = fit_still(image, detector, landmarker)
        points.append(p)
        found.append(ok)
        if (i + 1) % 200 == 0:
            print(f"  kdef: fitted {i + 1}/{len(names)} photos", file=sys.stderr)
    points, found = np.array(points), np.array(found)
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cached, points=points, found=found, key=key)
    return _kdef_set(rows, points, found)


def _kdef_set(rows: list[dict[str, str]], points: np.ndarray, found: np.ndarray) -> EmotionSet:
    return EmotionSet(
        "kdef",
        np.asarray(points, dtype=np.float64),
        np.array([r["label"] for r in rows]),
        np.array([r["subject"] for r in rows]),
        np.array([r["session"] for r in rows]),
        KDEF_CLASSES,
        {"photos": len(rows), "detected": int(np.sum(found)), "crop_box_fallback": int(len(found) - np.sum(found))},
    )


def load_ckplus(folder: Path) -> EmotionSet:
    rows = _rows(folder / "shapes.csv")
    pts = np.array([[float(r[f"{a}{i}"]) for i in range(68) for a in "xy"] for r in rows]).reshape(-1, 68, 2)
    return EmotionSet(
        "ckplus",
        pts,
        np.array([r["label"] for r in rows]),
        np.array([r["subject"] for r in rows]),
        np.array([""] * len(rows)),
        CKPLUS_CLASSES,
        {"shapes": len(rows)},
    )


# ---- baselines -------------------------------------------------------------------------------


def neutral_baseline(d: EmotionSet, x: np.ndarray) -> np.ndarray:
    """Per sample, the features of the same person's neutral (KDEF: the other session's photo)."""
    out = np.empty_like(x)
    neutral = d.labels == "neutral"
    for i in range(len(x)):
        same = neutral & (d.subjects == d.subjects[i])
        if d.name == "kdef":
            other = same & (d.sessions != d.sessions[i])
            same = other if other.any() else same
        if not same.any():
            raise ValueError(f"{d.name}: subject {d.subjects[i]} has no neutral face")
        out[i] = x[same].mean(0)
    return out


def median_baseline(d: EmotionSet, x: np.ndarray) -> np.ndarray:
    """Per sample, the median features of the person's faces (KDEF: of that session)."""
    out = np.empty_like(x)
    keys = np.char.add(d.subjects.astype(str), d.sessions.astype(str))
    for k in np.unique(keys):
        m = keys == k
        out[m] = np.median(x[m], axis=0)
    return out


# ---- logistic regression ---------------------------------------------------------------------


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


def predict(head: Head, x: np.ndarray) -> np.ndarray:
    logits = ((x - head.mean) / head.scale) @ head.weights.T + head.bias
    return logits.argmax(1)


def group_folds(subjects: np.ndarray, k: int, seed: int = SEED) -> np.ndarray:
    """Fold index per sample; every subject's samples in one fold (subject-disjoint)."""
    uniq = np.unique(subjects)
    order = np.random.default_rng(seed).permutation(len(uniq))
    fold_of = {s: i % k for i, s in zip(range(len(uniq)), uniq[order])}
    return np.array([fold_of[s] for s in subjects])


def choose_l2(x: np.ndarray, y: np.ndarray, groups: np.ndarray, n_classes: int, grid=L2_GRID, k: int = INNER_FOLDS) -> float:
    """The penalty with the best balanced accuracy in an inner subject-disjoint cross-validation."""
    k = min(k, len(np.unique(groups)))
    folds = group_folds(groups, k, SEED + 1)
    best, best_score = grid[0], -1.0
    for l2 in grid:
        pred = np.empty_like(y)
        for f in range(k):
            te = folds == f
            pred[te] = predict(train_head(x[~te], y[~te], n_classes, l2), x[te])
        score = balanced_accuracy(y, pred, n_classes)
        if score > best_score:
            best, best_score = l2, score
    return best


def balanced_accuracy(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    rec = [np.mean(pred[y == c] == c) for c in range(n_classes) if np.any(y == c)]
    return float(np.mean(rec))


def cross_validate(
    x_train: np.ndarray, y: np.ndarray, groups: np.ndarray, n_classes: int, x_test: np.ndarray | None = None, k: int = FOLDS
) -> np.ndarray:
    """Out-of-fold predictions (subject-disjoint); `x_test`: other features of the same samples to score
    (a head trained on neutral baselines, tested against median baselines)."""
    x_test = x_train if x_test is None else x_test
    k = min(k, len(np.unique(groups)))
    folds = group_folds(groups, k)
    pred = np.empty_like(y)
    for f in range(k):
        te = folds == f
        l2 = choose_l2(x_train[~te], y[~te], groups[~te], n_classes)
        pred[te] = predict(train_head(x_train[~te], y[~te], n_classes, l2), x_test[te])
    return pred


# ---- the model -------------------------------------------------------------------------------


def evaluate_set(d: EmotionSet, x: np.ndarray, k: int = FOLDS) -> dict:
    """Subject-disjoint CV of the three baseline modes on one set, in its own classes."""
    keep = np.isin(d.labels, d.classes)
    y = np.array([d.classes.index(lab) if lab in d.classes else -1 for lab in d.labels])
    rel_neutral = x - neutral_baseline(d, x)
    rel_median = x - median_baseline(d, x)
    out = {}
    for mode, train_x, test_x in (("none", x, x), ("neutral", rel_neutral, rel_neutral), ("median", rel_neutral, rel_median)):
        pred = cross_validate(train_x[keep], y[keep], d.subjects[keep], len(d.classes), test_x[keep], k)
        out[mode] = scores(y[keep], pred, d.classes)
        print(format_scores(f"{d.name}, baseline {mode}", out[mode], d.classes), file=sys.stderr)
    return out


def in_runtime_style(sets: list[EmotionSet], feats: list[np.ndarray]) -> list[np.ndarray]:
    """Features moved into the style of the points the runtime sees: CK+'s annotators place some points a
    little differently from our landmarker (fitted on KDEF), which shows as an offset between the two sets'
    mean neutral faces; each other set is shifted by it. Only the absolute head needs this (a baseline
    cancels it); measured: KDEF neutral recall of the joint absolute head 0.36 without, 0.66 with."""
    ref = next(f[d.labels == "neutral"].mean(0) for d, f in zip(sets, feats) if d.name == "kdef")
    return [f if d.name == "kdef" else f + (ref - f[d.labels == "neutral"].mean(0)) for d, f in zip(sets, feats)]


def joint_data(sets: list[EmotionSet], feats: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Both sets as one: features (in the runtime's style), neutral-relative features, label index (into LABELS), subject groups."""
    labels = list(LABELS)
    x = np.concatenate(in_runtime_style(sets, feats))
    rel = np.concatenate([f - neutral_baseline(d, f) for d, f in zip(sets, feats)])
    y = np.array([labels.index(lab) for d in sets for lab in d.labels])
    groups = np.concatenate([np.char.add(d.name + ":", d.subjects.astype(str)) for d in sets])
    return x, rel, y, groups


def evaluate_joint(sets: list[EmotionSet], feats: list[np.ndarray], k: int = FOLDS) -> dict:
    """The shipped recipe (both sets, all 8 labels) under the same subject-disjoint CV, scored per set in its classes
    (a face of a class the set has, predicted as any of the 8 labels)."""
    x, rel, y, groups = joint_data(sets, feats)
    which = np.concatenate([[d.name] * len(d.labels) for d in sets])
    out: dict = {}
    for mode, feats_x in (("none", x), ("neutral", rel)):
        pred = cross_validate(feats_x, y, groups, len(LABELS), k=k)
        for d in sets:
            m = (which == d.name) & np.isin(np.array(LABELS)[y], d.classes)
            acc = round(float(np.mean(pred[m] == y[m])), 3)
            out.setdefault(d.name, {})[mode] = acc
            print(f"shipped recipe (both sets, 8 labels), {d.name}, baseline {mode}: accuracy {acc:.3f}", file=sys.stderr)
    return out


def directions(sets: list[EmotionSet], params: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Per label, the mean shape-parameter change from the same person's neutral (model units), pooled over the sets."""
    deltas: dict[str, list[np.ndarray]] = {}
    for d, p in zip(sets, params):
        base = neutral_baseline(d, p)
        if d.name == "kdef":  # here the same session's neutral: the same sitting, so only the expression differs
            for i in range(len(p)):
                same = (d.labels == "neutral") & (d.subjects == d.subjects[i]) & (d.sessions == d.sessions[i])
                base[i] = p[same].mean(0)
        for lab in np.unique(d.labels):
            if lab != "neutral":
                m = d.labels == lab
                deltas.setdefault(str(lab), []).append(p[m] - base[m])
    return {lab: np.concatenate(v).mean(0) for lab, v in sorted(deltas.items())}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None, help="folder holding kdef/ and ckplus/ (default: the data root)")
    p.add_argument("--out", type=Path, default=None, help=f"model file (default models/{MODEL_FILE})")
    p.add_argument("--no-signals", action="store_true", help="shape parameters only (leave out the signal measures)")
    p.add_argument("--no-cv", action="store_true", help="skip the cross-validation (train and write the model only)")
    p.add_argument("--folds", type=int, default=FOLDS, help=f"subject-disjoint cross-validation folds (default {FOLDS})")


def main(args: argparse.Namespace) -> int:
    root = Path(args.data) if args.data else data_root()
    missing = [str(root / n) for n in ("kdef", "ckplus") if not (root / n).is_dir()]
    if missing:
        raise FileNotFoundError(f"emotion data not found: {', '.join(missing)}; set EDGETRACK_DATA or pass --data")
    model = ShapeModel.load()
    signals = not args.no_signals
    sets = [load_kdef(root / "kdef"), load_ckplus(root / "ckplus")]
    print(f"kdef: {sets[0].notes}", file=sys.stderr)
    feats = [np.array([face_features(p, model, signals) for p in d.points]) for d in sets]
    cv: dict = {}
    if not args.no_cv:
        for d, x in zip(sets, feats):
            cv[d.name] = evaluate_set(d, x, args.folds)
        cv["shipped_recipe"] = evaluate_joint(sets, feats, args.folds)
    # the shipped heads: both sets, every label
    labels = list(LABELS)
    x_all, rel_all, y_all, groups = joint_data(sets, feats)
    l2_abs = choose_l2(x_all, y_all, groups, len(labels))
    l2_rel = choose_l2(rel_all, y_all, groups, len(labels))
    heads = {
        "absolute": train_head(x_all, y_all, len(labels), l2_abs),
        "relative": train_head(rel_all, y_all, len(labels), l2_rel),
    }
    params = [np.array([model.fit(p, n_iter=SHAPE_FIT_ITERATIONS)[1] for p in d.points]) for d in sets]
    info = {
        "trained_on": {d.name: {**d.notes, "faces": len(d.labels)} for d in sets},
        "l2": {"absolute": l2_abs, "relative": l2_rel},
        "cv": cv,
        "cv_protocol": f"{args.folds}-fold group k-fold by subject (seed {SEED}), penalty chosen by an inner {INNER_FOLDS}-fold group CV",
        "command": "edgetrack train emotion" + (" --no-signals" if not signals else ""),
    }
    clf = EmotionClassifier(labels, heads, directions(sets, params), signals, model, info)
    out = args.out or model_path(MODEL_FILE)
    clf.save(out)
    print(f"emotion model ({len(labels)} labels, {x_all.shape[1]} features) saved to {out}", file=sys.stderr)
    return 0
