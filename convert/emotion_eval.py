"""How well an emotion recipe holds on people, cameras and annotators it has never seen (issue 22).

* Leave-one-dataset-out (`cross_set`): train on KDEF, test on CK+, and the other way round. KDEF's
  points come from our landmarker on photos, CK+'s from CK+'s annotators, on other people and another
  camera: the closest thing these two sets give to "another lab's faces".
* Within one set (`within_set`): subject-disjoint 10-fold cross-validation (the second column).

Both score the labels the two sets share (SHARED_CLASSES: CK+'s contempt, which KDEF lacks, is left out
of training and testing here), each face classified
  * `none`:    alone (the absolute head);
  * `subject`: against the mean of the same person's *other* neutral faces (the relative head), as
               `edgetrack eval-emotion --baseline subject` does; a face with no other neutral face
               (CK+'s one neutral frame per subject) is answered by the absolute head, and counted.
Scores: accuracy, mean recall, per-class recall, the confusion matrix, and the expected calibration
error of the probabilities (temperature fitted on the *training* set's people, never the test set's).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from convert.emotion_data import SHARED_CLASSES, EmotionSet, subject_baseline, training_baseline
from convert.emotion_fit import fit_head, group_folds
from edge.emotion import Head, face_features
from edge.emotion_metrics import format_scores, scores
from edge.shape_model import ShapeModel

log = logging.getLogger(__name__)

FOLDS = 10
MODES = ("none", "subject")
UNCERTAIN_GRID = (0.3, 0.4, 0.5, 0.6)


@dataclass(frozen=True)
class Recipe:
    """What a classifier is trained on and how: the feature blocks, calibration, and identity-swap augmentation."""

    name: str
    blocks: tuple[str, ...]
    calibrate: bool = True
    swap: int = 0  # absolute head: copies of each face moved onto other people's resting faces (0: none)


TODAY = Recipe("today", ("shape", "signals"), calibrate=False)
NEW = Recipe("ratios", ("ratios",), calibrate=True, swap=3)


def set_features(d: EmotionSet, model: ShapeModel, blocks: tuple[str, ...]) -> np.ndarray:
    return np.array([face_features(p, model, blocks) for p in d.points])


def class_index(labels: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """Index of each label in `classes`, -1 where it is not one of them."""
    return np.array([classes.index(lab) if lab in classes else -1 for lab in labels])


def swap_augment(x: np.ndarray, y: np.ndarray, groups: np.ndarray, resting: np.ndarray, copies: int, seed: int = 0):
    """Each face moved from its own person's resting face onto `copies` other people's (x - n_s + n_t): the
    same expression on other builds, so the absolute head learns the change, not the build."""
    rng = np.random.default_rng(seed)
    people = np.unique(groups)
    rest_of = {g: resting[groups == g][0] for g in people}
    xs, ys, gs = [x], [y], [groups]
    for _ in range(copies):
        other = people[rng.integers(len(people), size=len(x))]
        xs.append(x - resting + np.array([rest_of[g] for g in other]))
        ys.append(y)
        gs.append(groups)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(gs)


def train_heads(sets: list[EmotionSet], feats: list[np.ndarray], classes: tuple[str, ...], recipe: Recipe) -> dict[str, Head]:
    """The absolute and relative heads of `recipe` on the faces of `sets` whose labels are in `classes`."""
    xs, rels, ys, gs, rests = [], [], [], [], []
    for d, f in zip(sets, feats):
        keep = np.isin(d.labels, classes)
        base = training_baseline(d, f)
        xs.append(f[keep])
        rels.append((f - base)[keep])
        rests.append(base[keep])
        ys.append(class_index(d.labels[keep], classes))
        gs.append(np.char.add(d.name + ":", d.subjects[keep].astype(str)))
    x, rel, y, g, rest = (np.concatenate(a) for a in (xs, rels, ys, gs, rests))
    xa, ya, ga = swap_augment(x, y, g, rest, recipe.swap) if recipe.swap else (x, y, g)
    k = len(classes)
    return {"absolute": fit_head(xa, ya, ga, k, recipe.calibrate), "relative": fit_head(rel, y, g, k, recipe.calibrate)}


def predict(heads: dict[str, Head], d: EmotionSet, f: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities (N, K), relative (N,) bool: which faces the relative head answered)."""
    if mode == "none":
        return heads["absolute"].probabilities(f), np.zeros(len(f), dtype=bool)
    base, has = subject_baseline(d, f)
    probs = heads["absolute"].probabilities(f)
    if has.any():
        probs[has] = heads["relative"].probabilities(f[has] - base[has])
    return probs, has


def score_probs(y: np.ndarray, probs: np.ndarray, relative: np.ndarray, classes: tuple[str, ...]) -> dict:
    s = scores(y, probs.argmax(1), classes, probs)
    s["relative_head"] = int(relative.sum())
    top, right = probs.max(1), probs.argmax(1) == y
    s["uncertain"] = {str(t): {"answered": round(float((top >= t).mean()), 3),
                               "accuracy_answered": round(float(right[top >= t].mean()), 3) if (top >= t).any() else 0.0}
                      for t in UNCERTAIN_GRID}  # fmt: skip
    return s


def leave_one_set_out(sets: list[EmotionSet], feats: list[np.ndarray], recipe: Recipe, classes: tuple[str, ...]):
    """For each set in turn: (name "train+sets -> test", heads trained on the other sets, the test set's faces
    of `classes`, their features, their class indices). The one loop the cross-set table and the cross-set
    temperatures share."""
    for i, test in enumerate(sets):
        train = [j for j in range(len(sets)) if j != i]
        heads = train_heads([sets[j] for j in train], [feats[j] for j in train], classes, recipe)
        keep = np.isin(test.labels, classes)
        t = test.subset(keep)
        name = "+".join(sets[j].name for j in train) + " -> " + test.name
        yield name, heads, t, feats[i][keep], class_index(t.labels, classes)


def cross_set(sets: list[EmotionSet], feats: list[np.ndarray], recipe: Recipe, classes: tuple[str, ...] = SHARED_CLASSES) -> dict:
    """Leave-one-dataset-out: for each set, train on the others and score it, per baseline mode."""
    out: dict = {}
    for name, heads, t, f, y in leave_one_set_out(sets, feats, recipe, classes):
        out[name] = {}
        for mode in MODES:
            probs, rel = predict(heads, t, f, mode)
            out[name][mode] = s = score_probs(y, probs, rel, classes)
            s["temperature"] = {h: round(heads[h].temperature, 3) for h in heads}
            log.info(format_scores(f"{recipe.name}: {name}, baseline {mode} ({s['relative_head']} by the relative head)", s, classes))
    return out


def within_set(d: EmotionSet, f: np.ndarray, recipe: Recipe, classes: tuple[str, ...] = SHARED_CLASSES, k: int = FOLDS) -> dict:
    """Subject-disjoint k-fold cross-validation inside one set, per baseline mode (out-of-fold probabilities)."""
    keep = np.isin(d.labels, classes)
    d, f = d.subset(keep), f[keep]
    y = class_index(d.labels, classes)
    folds = group_folds(d.subjects, min(k, len(np.unique(d.subjects))))
    probs = {m: np.zeros((len(y), len(classes))) for m in MODES}
    rel = {m: np.zeros(len(y), dtype=bool) for m in MODES}
    for fold in np.unique(folds):
        te = folds == fold
        heads = train_heads([d.subset(~te)], [f[~te]], classes, recipe)
        for m in MODES:
            p, r = predict(heads, d.subset(te), f[te], m)
            probs[m][te], rel[m][te] = p, r
    out = {}
    for m in MODES:
        out[m] = s = score_probs(y, probs[m], rel[m], classes)
        log.info(
            format_scores(f"{recipe.name}: {d.name} within-set CV, baseline {m} ({s['relative_head']} by the relative head)", s, classes)
        )
    return out


def summary_table(results: dict[str, dict]) -> str:
    """Markdown: per recipe, the accuracy / mean recall / ECE of each direction and mode, and the mean of the directions."""
    lines = ["| recipe | baseline | " + " | ".join(next(iter(results.values()))["cross_set"]) + " | mean of directions | within-set CV (" +
             ", ".join(next(iter(results.values()))["within_set"]) + ") |", "|---|---|---|---|---|---|"]  # fmt: skip
    for name, r in results.items():
        for m in MODES:
            cells = [f"{v[m]['accuracy']:.1%} (recall {v[m]['mean_recall']:.1%}, ECE {v[m]['ece']:.3f})" for v in r["cross_set"].values()]
            mean = np.mean([v[m]["accuracy"] for v in r["cross_set"].values()])
            within = ", ".join(f"{v[m]['accuracy']:.1%}" for v in r["within_set"].values())
            lines.append(f"| {name} | {m} | " + " | ".join(cells) + f" | **{mean:.1%}** | {within} |")
    return "\n".join(lines)


def joint_cv(
    sets: list[EmotionSet], feats: list[np.ndarray], recipe: Recipe, classes: tuple[str, ...], k: int = FOLDS
) -> tuple[dict, dict]:
    """The shipped recipe (all sets together, all `classes`) under subject-disjoint k-fold CV: per set and baseline
    mode its scores on the set's own labels, and the out-of-fold logits per head ({head: (logits, y)}, uncalibrated)."""
    raw = Recipe(recipe.name, recipe.blocks, calibrate=False, swap=recipe.swap)
    folds = [group_folds(d.subjects, min(k, len(np.unique(d.subjects))), seed=i) for i, d in enumerate(sets)]
    probs = {(d.name, m): np.zeros((len(d.labels), len(classes))) for d in sets for m in MODES}
    rel = {(d.name, m): np.zeros(len(d.labels), dtype=bool) for d in sets for m in MODES}
    logits: dict[str, list] = {"absolute": [], "relative": []}
    for fold in range(k):
        heads = train_heads([d.subset(f != fold) for d, f in zip(sets, folds)], [x[f != fold] for x, f in zip(feats, folds)], classes, raw)
        for d, x, f in zip(sets, feats, folds):
            te = f == fold
            t, xt = d.subset(te), x[te]
            for m in MODES:
                p, r = predict(heads, t, xt, m)
                probs[(d.name, m)][te], rel[(d.name, m)][te] = p, r
            y = class_index(t.labels, classes)
            base, has = subject_baseline(t, xt)
            logits["absolute"].append((heads["absolute"].logits(xt), y))
            logits["relative"].append((heads["relative"].logits(xt[has] - base[has]), y[has]))
    out: dict = {}
    for d in sets:
        own = tuple(c for c in classes if c in set(d.labels))
        keep = np.isin(d.labels, own)
        y = class_index(d.labels[keep], classes)
        for m in MODES:
            p = probs[(d.name, m)][keep]
            s = score_probs(y, p, rel[(d.name, m)][keep], classes)
            out.setdefault(d.name, {})[m] = s
            log.info(
                format_scores(f"{recipe.name} (all sets, {len(classes)} labels), {d.name} subject-disjoint CV, baseline {m}", s, classes)
            )
    pooled = {h: (np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v])) for h, v in logits.items()}
    return out, pooled
