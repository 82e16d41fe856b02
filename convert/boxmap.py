"""`edgetrack train boxmap [--detector NAME]`: fit the mapping from a detector's boxes (Haar's by
default, `--detector cnn` for ours) to the landmark boxes the landmarkers start from, and report
how much it helps on the validation split. Each detector has its own entry in
models/box_mapping.json.

Detections are paired with faces by the rule the evaluation scores with
(`edge.data.matching`: mapped box IoU >= 0.3), re-matched under each new fit until the
pairs settle, so the mapping is fitted on the faces it will be judged on. A detector that
returns turned boxes (the face's roll) is fitted in each face's own levelled frame: the
target is the tight box of the points levelled by the detection's angle."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from convert.training_data import training_samples
from edge.data import FaceSample, fit_matched, load_image, match_detection
from edge.detect import make_detector
from edge.detect.mapping import BOX_MAPPING_FILE, BoxMapping
from edge.evaluate.metrics import nme_interocular
from edge.geometry import Box
from edge.landmarks.mean import place_in_box
from edge.paths import models_dir
from edge.shape_model import ShapeModel


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, nargs="*", help="data folders (default: both shared folders)")
    p.add_argument("--out", type=Path, default=None, help="models folder (default: models/)")
    p.add_argument("--detector", default="haar", help="the detector whose mapping is fitted (haar, cnn)")


def detect_raw(samples: list[FaceSample], detector) -> tuple[list[list[Box]], list[Box], list[FaceSample]]:
    """Unmapped detector boxes and the landmark box of every readable face (the detector made with mapped=False)."""
    dets, truths, kept = [], [], []
    for i, s in enumerate(samples):
        img = load_image(s.image_path)
        if img is None:
            continue
        dets.append(detector.detect(img, max_faces=5))
        truths.append(Box.around(s.points))
        kept.append(s)
        if (i + 1) % 500 == 0:
            print(f"  detected {i + 1}/{len(samples)}", file=sys.stderr)
    return dets, truths, kept


def placed(shape: np.ndarray, box: Box) -> np.ndarray:
    """The shape in the box, turned with it."""
    pts = place_in_box(shape, Box(box.x, box.y, box.w, box.h)).astype(np.float64)
    c, s = np.cos(box.angle), np.sin(box.angle)
    return (pts - [box.cx, box.cy]) @ np.array([[c, s], [-s, c]]) + [box.cx, box.cy]


def levelled_fit(matched: list[Box | None], samples: list[FaceSample]) -> BoxMapping:
    """The mapping fitted on the settled pairs, each target the face's tight box in its detection's frame."""
    pairs = [(d, Box.around(s.points, d.angle)) for d, s in zip(matched, samples) if d is not None]
    return BoxMapping.fit([d for d, _ in pairs], [t for _, t in pairs])


def main(args: argparse.Namespace) -> int:
    detector = make_detector(args.detector, mapped=False)
    train = training_samples(args.data, "train")
    dets, truths, kept = detect_raw(train, detector)
    mapping, matched = fit_matched(dets, truths, BoxMapping.fit)
    if mapping is None:
        raise ValueError(f"no {args.detector} detection matched any of the {len(truths)} train faces (mapped-box IoU >= 0.3); check --data")
    if any(d is not None and d.angle for d in matched):  # turned boxes: refit along each face's own axes
        mapping = levelled_fit(matched, kept)
    out = (args.out or models_dir()) / BOX_MAPPING_FILE
    mapping.save(out, detector=args.detector)
    n = sum(m is not None for m in matched)
    print(f"{args.detector} box mapping from {n} of {len(truths)} train faces: {mapping}, saved to {out}", file=sys.stderr)

    val = training_samples(args.data, "val")
    vdets, vtruths, vsamples = detect_raw(val, detector)
    pairs = [(m, t, s) for d, t, s in zip(vdets, vtruths, vsamples) if (m := match_detection(d, t, mapping)) is not None]
    print(f"  val: {len(pairs)} of {len(vtruths)} faces found", file=sys.stderr)
    if not pairs:
        return 0
    vdet, vtruth, vsamples = (list(c) for c in zip(*pairs))
    mean = ShapeModel.load().mean
    gt = np.stack([s.points for s in vsamples])
    for label, m in ((f"raw {args.detector} box", BoxMapping()), ("mapped box", mapping)):
        boxes = [m.apply(b) for b in vdet]
        iou = np.mean([b.iou(t) for b, t in zip(boxes, vtruth)])
        nme = nme_interocular(np.stack([placed(mean, b) for b in boxes]), gt)
        print(f"  val {label:15s}: IoU with landmark box {iou:.3f}, mean-shape NME {100 * nme.mean():.2f}%", file=sys.stderr)
    return 0
