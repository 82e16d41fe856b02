"""`edgetrack train emotion`: the emotion classifier -> models/emotion.json, with how well it holds across data sets.

Data (convert/emotion_data.py): KDEF photos fitted by the runtime (cached, keyed by the landmarker's
contents: a new landmarker refits them) and CK+ shapes by CK+'s annotators.

Features (edge/emotion_features.py): ratios and angles of the points (eyelid opening over eye width,
lip-corner lift over mouth width, brow height over eye width, ...), not shape parameters, which carry
a face's build and its annotators' style (issue 22). Two heads (convert/emotion_eval.py:train_heads):
`absolute` (the face alone; trained with each face also moved onto other people's resting faces, so it
learns the change rather than the build) and `relative` (the face minus the person's neutral). Each is a
multinomial logistic regression (convert/emotion_fit.py), penalty by subject-disjoint CV.

Reported (printed, and stored in the model under `evaluation`), for the recipe shipped before issue 22
(`today`: shape parameters + signal measures) and the new one, each trained afresh:
  * leave-one-dataset-out: train on KDEF, test on CK+; train on CK+, test on KDEF;
  * subject-disjoint k-fold CV inside each set;
both on the seven labels the sets share, with and without the person's neutral baseline, with
accuracy, per-class recall, confusion matrix and expected calibration error.

The shipped model is trained on both sets and all 8 labels (CK+'s contempt included; KDEF has none).
CK+'s features are first mapped into the style of our landmarker's (`in_runtime_style`: the
runtime always sees our landmarker's points). Its temperatures are fitted on out-of-fold logits of a
subject-disjoint CV of that same recipe (people it has not seen); what a head trained on one set would
need on the other is recorded beside them. A face whose top probability is under UNCERTAIN_BELOW is
"uncertain". Its expression directions, for
`--effect express`, are the mean shape-parameter change from each person's neutral to each expression.

    edgetrack train emotion [--data ROOT] [--out models/emotion.json] [--no-cv] [--folds 10]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from convert.emotion_data import SHARED_CLASSES, EmotionSet, load_ckplus, load_kdef, subject_baseline, training_baseline
from convert.emotion_eval import (
    FOLDS,
    NEW,
    TODAY,
    Recipe,
    cross_set,
    joint_cv,
    leave_one_set_out,
    set_features,
    summary_table,
    train_heads,
    within_set,
)
from convert.emotion_fit import INNER_FOLDS, SEED, fit_temperature
from edge.emotion import LABELS, MODEL_FILE, SHAPE_FIT_ITERATIONS, EmotionClassifier, Head
from edge.paths import data_root, model_path
from edge.shape_model import ShapeModel

log = logging.getLogger(__name__)

UNCERTAIN_BELOW = 0.4  # top calibrated probability under which a face is "uncertain" (see the card for the trade)


def unseen_set_temperatures(sets: list[EmotionSet], feats: list[np.ndarray], recipe: Recipe) -> dict[str, float]:
    """Per head, the temperature that fits the pooled logits of heads trained on one set and scoring the other
    (the shared labels): how much softer a head would have to be for its probabilities to hold on a set it has
    not seen (recorded beside the shipped temperature, for the card)."""
    logits: dict[str, list[np.ndarray]] = {"absolute": [], "relative": []}
    ys: dict[str, list[np.ndarray]] = {"absolute": [], "relative": []}
    raw = Recipe(recipe.name, recipe.blocks, calibrate=False, swap=recipe.swap)
    for _, heads, t, f, y in leave_one_set_out(sets, feats, raw, SHARED_CLASSES):
        logits["absolute"].append(heads["absolute"].logits(f))
        ys["absolute"].append(y)
        base, has = subject_baseline(t, f)
        logits["relative"].append(heads["relative"].logits(f[has] - base[has]))
        ys["relative"].append(y[has])
    return {h: round(fit_temperature(np.concatenate(logits[h]), np.concatenate(ys[h])), 3) for h in logits}


def in_runtime_style(sets: list[EmotionSet], feats: list[np.ndarray]) -> list[np.ndarray]:
    """Every set's features mapped into the style of the points the runtime sees (KDEF's, fitted by our landmarker):
    z-scored by the set's own neutral faces, then scaled and shifted by KDEF's. CK+'s annotators place points
    differently and its neutral faces spread 2-4x wider; measured (joint subject-disjoint 5-fold CV, 8 labels),
    without -> with: KDEF 60.9 -> 64.9% alone, 68.7 -> 71.0% against the neutral; CK+ 69.0 -> 71.0%, 72.4 -> 75.1%."""
    ref = next(f[d.labels == "neutral"] for d, f in zip(sets, feats) if d.name == "kdef")
    out = []
    for d, f in zip(sets, feats):
        n = f[d.labels == "neutral"]
        out.append(f if d.name == "kdef" else (f - n.mean(0)) / np.maximum(n.std(0), 1e-9) * ref.std(0) + ref.mean(0))
    return out


def directions(sets: list[EmotionSet], model: ShapeModel) -> dict[str, np.ndarray]:
    """Per label, the mean shape-parameter change from the same person's neutral (model units), pooled over the sets
    (KDEF: the neutral photo of the same session, the same sitting, so only the expression differs)."""
    deltas: dict[str, list[np.ndarray]] = {}
    for d in sets:
        p = np.array([model.fit(x, n_iter=SHAPE_FIT_ITERATIONS)[1] for x in d.points])
        key = np.char.add(d.subjects.astype(str), d.sessions.astype(str))
        base = np.empty_like(p)
        for i in range(len(p)):
            same = (d.labels == "neutral") & (key == key[i])
            base[i] = p[same].mean(0) if same.any() else training_baseline(d, p)[i]
        for lab in np.unique(d.labels):
            if lab != "neutral":
                m = d.labels == lab
                deltas.setdefault(str(lab), []).append(p[m] - base[m])
    return {lab: np.concatenate(v).mean(0) for lab, v in sorted(deltas.items())}


def evaluate(sets: list[EmotionSet], model: ShapeModel, recipes: list[Recipe], folds: int) -> dict:
    """Cross-set and within-set figures of each recipe (printed as they come, and as one table at the end)."""
    out: dict = {}
    for r in recipes:
        feats = [set_features(d, model, r.blocks) for d in sets]
        out[r.name] = {"blocks": list(r.blocks), "calibrated": r.calibrate, "swap": r.swap,
                       "cross_set": cross_set(sets, feats, r),
                       "within_set": {d.name: within_set(d, f, r, k=folds) for d, f in zip(sets, feats)}}  # fmt: skip
    log.info("leave-one-dataset-out accuracy (mean recall, ECE) on the shared labels:\n" + summary_table(out))
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None, help="folder holding kdef/ and ckplus/ (default: the data root)")
    p.add_argument("--out", type=Path, default=None, help=f"model file (default models/{MODEL_FILE})")
    p.add_argument("--no-cv", action="store_true", help="skip the cross-set and within-set figures (the joint CV for temperatures runs)")
    p.add_argument("--folds", type=int, default=FOLDS, help=f"subject-disjoint cross-validation folds inside each set (default {FOLDS})")


def show_progress() -> None:
    """The training's figures on stderr: `edgetrack` shows the `edge` logger's messages, these modules log under `convert`."""
    logger = logging.getLogger("convert")
    if not any(getattr(h, "emotion_report", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.emotion_report = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def main(args: argparse.Namespace) -> int:
    show_progress()
    root = Path(args.data) if args.data else data_root()
    missing = [str(root / n) for n in ("kdef", "ckplus") if not (root / n).is_dir()]
    if missing:
        raise FileNotFoundError(f"emotion data not found: {', '.join(missing)}; set EDGETRACK_DATA or pass --data")
    if args.folds < 2:
        raise ValueError(f"--folds {args.folds}: needs at least 2 (subject-disjoint cross-validation)")
    model = ShapeModel.load()
    sets = [load_kdef(root / "kdef"), load_ckplus(root / "ckplus")]
    log.info(f"kdef: {sets[0].notes}")
    evaluation = {} if args.no_cv else evaluate(sets, model, [TODAY, NEW], args.folds)
    # the shipped heads: both sets (CK+ in our landmarker's style), every label (CK+'s contempt too), the new recipe
    raw_feats = [set_features(d, model, NEW.blocks) for d in sets]
    feats = in_runtime_style(sets, raw_feats)
    shipped, pooled = joint_cv(sets, feats, NEW, LABELS, args.folds)
    temps = {h: round(fit_temperature(*pooled[h]), 3) for h in pooled}
    heads = train_heads(sets, feats, LABELS, Recipe(NEW.name, NEW.blocks, calibrate=False, swap=NEW.swap))
    heads = {h: Head(v.mean, v.scale, v.weights, v.bias, temps[h]) for h, v in heads.items()}
    unseen = unseen_set_temperatures(sets, raw_feats, NEW)
    log.info(f"temperatures: {temps} (out-of-fold, subject-disjoint); a head trained on one set would need {unseen} on the other")
    info = {
        "trained_on": {d.name: {**d.notes, "faces": len(d.labels)} for d in sets},
        "temperature": {"used": "subject-disjoint out-of-fold logits of the joint recipe", "fitted": temps, "across_sets": unseen},
        "shipped_recipe_cv": shipped,
        "evaluation": evaluation,
        "protocol": f"leave-one-dataset-out on {', '.join(SHARED_CLASSES)}; within-set and shipped-recipe {args.folds}-fold group k-fold "
        f"by subject (seed {SEED}); penalty by an inner {INNER_FOLDS}-fold group CV; baseline subject = the mean of the person's "
        "other neutral faces (none: the absolute head)",
        "command": "edgetrack train emotion",
    }
    clf = EmotionClassifier(list(LABELS), heads, directions(sets, model), NEW.blocks, model, info, UNCERTAIN_BELOW)
    out = args.out or model_path(MODEL_FILE)
    clf.save(out)
    log.info(f"emotion model ({len(LABELS)} labels, {feats[0].shape[1]} features, {NEW.blocks}) saved to {out}")
    return 0
