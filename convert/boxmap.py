"""`edgetrack train boxmap`: fit the mapping from Haar boxes to the landmark boxes the
landmarkers start from, and report how much it helps on the validation split.

Detections are paired with faces by the rule the evaluation scores with
(`edge.data.matching`: mapped box IoU >= 0.3), re-matched under each new fit until the
pairs settle, so the mapping is fitted on the faces it will be judged on."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from convert.training_data import training_samples
from edge.data import FaceSample, fit_matched, load_image, match_detection
from edge.detect.haar import BOX_MAPPING_FILE, BoxMapping, HaarDetector
from edge.evaluate.metrics import nme_interocular
from edge.geometry import Box
from edge.landmarks.mean import place_in_box
from edge.paths import models_dir
from edge.shape_model import ShapeModel


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, nargs="*", help="data folders (default: both shared folders)")
    p.add_argument("--out", type=Path, default=None, help="models folder (default: models/)")


def detect_raw(samples: list[FaceSample], detector: HaarDetector) -> tuple[list[list[Box]], list[Box], list[FaceSample]]:
    """Unmapped Haar boxes and the landmark box of every readable face."""
    dets, truths, kept = [], [], []
    for i, s in enumerate(samples):
        img = load_image(s.image_path)
        if img is None:
            continue
        dets.append(detector.detect_raw(img, max_faces=5))
        truths.append(Box.around(s.points))
        kept.append(s)
        if (i + 1) % 500 == 0:
            print(f"  detected {i + 1}/{len(samples)}", file=sys.stderr)
    return dets, truths, kept


def main(args: argparse.Namespace) -> int:
    detector = HaarDetector(mapped=False)
    train = training_samples(args.data, "train")
    dets, truths, _ = detect_raw(train, detector)
    mapping, matched = fit_matched(dets, truths, BoxMapping.fit)
    if mapping is None:
        raise ValueError(f"no Haar detection matched any of the {len(truths)} train faces (mapped-box IoU >= 0.3); check --data")
    out = (args.out or models_dir()) / BOX_MAPPING_FILE
    mapping.save(out)
    n = sum(m is not None for m in matched)
    print(f"box mapping from {n} of {len(truths)} train faces: {mapping}, saved to {out}", file=sys.stderr)

    val = training_samples(args.data, "val")
    vdets, vtruths, vsamples = detect_raw(val, detector)
    pairs = [(m, t, s) for d, t, s in zip(vdets, vtruths, vsamples) if (m := match_detection(d, t, mapping)) is not None]
    print(f"  val: {len(pairs)} of {len(vtruths)} faces found", file=sys.stderr)
    if not pairs:
        return 0
    vdet, vtruth, vsamples = (list(c) for c in zip(*pairs))
    mean = ShapeModel.load().mean
    gt = np.stack([s.points for s in vsamples])
    for label, m in (("raw Haar box", BoxMapping()), ("mapped box", mapping)):
        boxes = [m.apply(b) for b in vdet]
        iou = np.mean([b.iou(t) for b, t in zip(boxes, vtruth)])
        nme = nme_interocular(np.stack([place_in_box(mean, b) for b in boxes]), gt)
        print(f"  val {label:13s}: IoU with landmark box {iou:.3f}, mean-shape NME {100 * nme.mean():.2f}%", file=sys.stderr)
    return 0
