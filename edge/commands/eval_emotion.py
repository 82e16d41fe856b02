"""`edgetrack eval-emotion --data DIR`: find the face in each photo, fit its points, classify its emotion,
and score the labels: accuracy, per-class recall, the confusion matrix.

DIR holds images/ and labels.csv (`image,label`; other columns are ignored). Each photo is one
face, classified on its own (the absolute head: no neutral of the same person to compare
with). Runs on the device install: detector, landmarker and classifier are the runtime's.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import cv2
import numpy as np

from edge.detect import make_detector
from edge.emotion import EmotionClassifier, fit_still, format_scores, scores
from edge.tracking import pick_landmarker


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, help="folder with images/ and labels.csv (image,label)")
    p.add_argument("--predictions", type=Path, help="write image,label (the predicted label) here; never over an existing file")
    p.add_argument("--model", type=Path, default=None, help="emotion model (default models/emotion.json)")
    p.add_argument("--landmarker", default="auto", help="landmarker that fits the points (default: auto, the runtime's choice)")
    p.add_argument("--detector", default="haar")
    p.add_argument("--limit", type=int, default=0, help="only the first N photos (quick checks)")


def read_labels(folder: Path) -> list[tuple[str, str]]:
    path = folder / "labels.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; --data needs a folder with images/ and labels.csv (image,label)")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"image", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs the columns image and label (has {', '.join(reader.fieldnames or []) or 'none'})")
        rows = [(r["image"].strip(), r["label"].strip().lower()) for r in reader if r["image"].strip()]
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def main(args: argparse.Namespace) -> int:
    if args.predictions is not None and args.predictions.exists():
        raise ValueError(f"--predictions {args.predictions} already exists; eval-emotion never writes over a file, name a new one")
    rows = read_labels(args.data)
    if args.limit:
        rows = rows[: args.limit]
    classifier = EmotionClassifier.load(args.model)
    landmarker, why = pick_landmarker(args.landmarker)
    detector = make_detector(args.detector)
    print(f"eval-emotion on {len(rows)} photos of {args.data}: {why}, detector {args.detector}", file=sys.stderr)
    predicted, missing, fallback = [], [], 0
    for name, _ in rows:
        image = cv2.imread(str(args.data / "images" / name))
        if image is None:
            missing.append(name)
            predicted.append("")
            continue
        points, found = fit_still(image, detector, landmarker)
        fallback += not found
        predicted.append(classifier.classify(points)[0])
    if missing:
        print(f"{len(missing)} photo(s) missing or unreadable, scored as wrong: {', '.join(missing[:5])}", file=sys.stderr)
    print(f"face found by the detector in {len(rows) - len(missing) - fallback} photos; "
          f"{fallback} fitted from the box covering the photo (no detection)", file=sys.stderr)  # fmt: skip
    truth = [lab for _, lab in rows]
    classes = sorted(set(truth)) + sorted(set(p for p in predicted if p and p not in truth))
    unknown = sorted(set(truth) - set(classifier.labels))
    if unknown:
        print(f"labels the model does not know (always wrong): {', '.join(unknown)}", file=sys.stderr)
    cols = classes + (["(none)"] if missing else [])
    y = np.array([cols.index(t) for t in truth])
    pred = np.array([cols.index(p) if p else len(cols) - 1 for p in predicted])
    s = scores(y, pred, cols)
    print(format_scores(f"emotion on {args.data}", s, cols, chance=1 / max(len(set(truth)), 1)))
    if args.predictions is not None:
        args.predictions.parent.mkdir(parents=True, exist_ok=True)
        with open(args.predictions, "x", newline="") as fh:  # "x": still never over a file made meanwhile
            w = csv.writer(fh)
            w.writerow(["image", "label"])
            w.writerows([(name, p) for (name, _), p in zip(rows, predicted)])
        print(f"predictions written to {args.predictions}", file=sys.stderr)
    return 0
