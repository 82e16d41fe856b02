"""`edgetrack eval-emotion --data DIR [--baseline none|subject]`: find the face in each photo, fit its points,
classify its emotion, and score the labels: accuracy, per-class recall, the confusion matrix, the
expected calibration error, and how many faces came out "uncertain".

DIR holds images/ and labels.csv (`image,label`, plus `subject` for `--baseline subject`; other columns
are ignored). `--baseline`:
  * none (default): each photo on its own (the absolute head: a face never seen before);
  * subject: each photo against the mean of the same person's *other* neutral photos (the relative
    head), as the runtime's per-track neutral does after a second; a photo whose person has no other
    neutral photo is answered by the absolute head.
The predictions CSV (`image,label,top,score,head`) says which head answered each photo; `label` is what
the overlay shows ("uncertain" under the model's threshold), `top` the most probable label.
Runs on the device install: detector, landmarker and classifier are the runtime's.
"""

from __future__ import annotations

import argparse
import csv
import logging
import time
from pathlib import Path

import cv2
import numpy as np

from edge.detect import make_detector
from edge.emotion import UNCERTAIN, Answer, EmotionClassifier, fit_still
from edge.emotion_metrics import format_scores, scores
from edge.tracking import pick_landmarker

log = logging.getLogger(__name__)
BASELINES = ("none", "subject")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, help="folder with images/ and labels.csv (image,label[,subject])")
    p.add_argument(
        "--baseline", default="none", help="none (default): each photo alone; subject: against the person's other neutral photos"
    )
    p.add_argument("--predictions", type=Path, help="write image,label,top,score,head here; never over an existing file")
    p.add_argument("--model", type=Path, default=None, help="emotion model (default models/emotion.json)")
    p.add_argument("--landmarker", default="auto", help="landmarker that fits the points (default: auto, the runtime's choice)")
    p.add_argument("--detector", default="haar")
    p.add_argument("--limit", type=int, default=0, help="only the first N photos (quick checks)")


def read_labels(folder: Path, need_subject: bool = False) -> list[dict[str, str]]:
    """The rows of labels.csv (image, label lower-cased, subject when asked for)."""
    path = folder / "labels.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; --data needs a folder with images/ and labels.csv (image,label)")
    need = {"image", "label"} | ({"subject"} if need_subject else set())
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        have = set(reader.fieldnames or [])
        if not need <= have:
            fix = "; --baseline subject needs a subject column (or use --baseline none)" if need_subject and "subject" not in have else ""
            raise ValueError(f"{path}: needs the columns {', '.join(sorted(need))} (has {', '.join(sorted(have)) or 'none'}){fix}")
        rows = [
            {"image": r["image"].strip(), "label": r["label"].strip().lower(), "subject": (r.get("subject") or "").strip()}
            for r in reader
            if r["image"].strip()
        ]
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def subject_baselines(rows: list[dict[str, str]], feats: list[np.ndarray | None]) -> list[np.ndarray | None]:
    """Per photo, the mean features of the same subject's neutral photos other than itself (None: there is none)."""
    out: list[np.ndarray | None] = []
    for i, r in enumerate(rows):
        same = [
            f
            for j, (o, f) in enumerate(zip(rows, feats))
            if j != i and f is not None and o["subject"] == r["subject"] and o["label"] == "neutral"
        ]
        out.append(np.mean(same, axis=0) if same else None)
    return out


def main(args: argparse.Namespace) -> int:
    if args.baseline not in BASELINES:
        raise ValueError(f"--baseline {args.baseline}: unknown; use none (each photo alone) or subject (the person's other neutral photos)")
    if args.predictions is not None and args.predictions.exists():
        raise ValueError(f"--predictions {args.predictions} already exists; eval-emotion never writes over a file, name a new one")
    rows = read_labels(args.data, need_subject=args.baseline == "subject")
    if args.limit:
        rows = rows[: args.limit]
    classifier = EmotionClassifier.load(args.model)
    landmarker, why = pick_landmarker(args.landmarker)
    detector = make_detector(args.detector)
    log.info(f"eval-emotion on {len(rows)} photos of {args.data}: {why}, detector {args.detector}, baseline {args.baseline}")
    feats: list[np.ndarray | None] = []
    missing, fallback, feature_ms = [], 0, []
    for r in rows:
        image = cv2.imread(str(args.data / "images" / r["image"]))
        if image is None:
            missing.append(r["image"])
            feats.append(None)
            continue
        points, found = fit_still(image, detector, landmarker)
        fallback += not found
        t0 = time.perf_counter()
        feats.append(classifier.features(points))
        feature_ms.append(1e3 * (time.perf_counter() - t0))
    if missing:
        log.info(f"{len(missing)} photo(s) missing or unreadable, scored as wrong: {', '.join(missing[:5])}")
    found = len(rows) - len(missing) - fallback
    log.info(f"face found by the detector in {found} photos; {fallback} fitted from the box covering the photo (no detection)")
    bases = subject_baselines(rows, feats) if args.baseline == "subject" else [None] * len(rows)
    answers: list[Answer | None] = []
    head_ms = []
    for f, b in zip(feats, bases):
        t0 = time.perf_counter()
        answers.append(None if f is None else classifier.answer(f, b))
        head_ms.append(1e3 * (time.perf_counter() - t0))
    if feature_ms:
        cost = np.median(feature_ms) + np.median(head_ms)
        log.info(f"classifier cost per face: {cost:.3f} ms median (features {np.median(feature_ms):.3f} + heads {np.median(head_ms):.3f}; "
                 f"p95 {np.percentile(feature_ms, 95) + np.percentile(head_ms, 95):.3f}), not counting the landmarker")  # fmt: skip
    if args.baseline == "subject":
        alone = sum(1 for a in answers if a is not None and a.head == "absolute")
        log.info(f"{len(rows) - len(missing) - alone} photos against their person's other neutral photos (relative head); "
                 f"{alone} with no other neutral photo of their person, answered alone (absolute head)")  # fmt: skip
    report(args.data, rows, answers, classifier)
    if args.predictions is not None:
        write_predictions(args.predictions, rows, answers)
    return 0


def report(data: Path, rows: list[dict[str, str]], answers: list[Answer | None], classifier: EmotionClassifier) -> None:
    """Print the scores of the top labels, the ECE of the probabilities, and the uncertain share."""
    truth = [r["label"] for r in rows]
    predicted = [a.top if a else "" for a in answers]
    classes = sorted(set(truth)) + sorted(set(p for p in predicted if p and p not in truth))
    unknown = sorted(set(truth) - set(classifier.labels))
    if unknown:
        log.info(f"labels the model does not know (always wrong): {', '.join(unknown)}")
    cols = classes + (["(none)"] if None in answers else [])
    y = np.array([cols.index(t) for t in truth])
    pred = np.array([cols.index(p) if p else len(cols) - 1 for p in predicted])
    # probabilities over the columns (the model's labels that are columns; a label it lacks gets 0)
    probs = np.zeros((len(rows), len(cols)))
    for i, a in enumerate(answers):
        if a is not None:
            probs[i] = [a.scores.get(c, 0.0) for c in cols]
        else:
            probs[i, -1] = 1.0
    s = scores(y, pred, cols, probs)
    print(format_scores(f"emotion on {data}", s, cols, chance=1 / max(len(set(truth)), 1)))
    shown = [a.label if a else "" for a in answers]
    unsure = sum(1 for lab in shown if lab == UNCERTAIN)
    sure = [(lab, t) for lab, t in zip(shown, truth) if lab and lab != UNCERTAIN]
    acc_sure = np.mean([lab == t for lab, t in sure]) if sure else float("nan")
    print(f"  uncertain (top probability under {classifier.uncertain_below:.2f}): {unsure} of {len(rows)} faces; "
          f"accuracy of the {len(sure)} labelled: {acc_sure:.3f}")  # fmt: skip


def write_predictions(path: Path, rows: list[dict[str, str]], answers: list[Answer | None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", newline="") as fh:  # "x": still never over a file made meanwhile
        w = csv.writer(fh)
        w.writerow(["image", "label", "top", "score", "head"])
        for r, a in zip(rows, answers):
            w.writerow([r["image"], a.label, a.top, f"{a.scores[a.top]:.4f}", a.head] if a else [r["image"], "", "", "", ""])
    log.info(f"predictions written to {path}")
