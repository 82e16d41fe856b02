"""`edgetrack train boxmap`: fit the mapping from Haar boxes to the landmark boxes the
landmarkers start from, and report how much it helps on the validation split."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from convert.training_data import training_samples
from edge.data import FaceSample, load_image
from edge.detect.haar import BOX_MAPPING_FILE, BoxMapping, HaarDetector
from edge.evaluate.metrics import nme_interocular
from edge.geometry import Box
from edge.landmarks.mean import place_in_box
from edge.paths import models_dir
from edge.shape_model import ShapeModel


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, nargs="*", help="data folders (default: both shared folders)")
    p.add_argument("--out", type=Path, default=None, help="models folder (default: models/)")


def _is_same_face(det: Box, truth: Box) -> bool:
    """Centre inside the truth box and a plausible size: the raw Haar box is offset and larger."""
    return abs(det.cx - truth.cx) < 0.5 * truth.w and abs(det.cy - truth.cy) < 0.5 * truth.h and 0.5 < det.w / truth.w < 2.5


def paired_boxes(samples: list[FaceSample], detector: HaarDetector) -> tuple[list[Box], list[Box], list[FaceSample]]:
    det, truth, kept = [], [], []
    for i, s in enumerate(samples):
        img = load_image(s.image_path)
        if img is None:
            continue
        t = Box.around(s.points)
        match = [b for b in detector.detect_raw(img, max_faces=5) if _is_same_face(b, t)]
        if match:
            det.append(min(match, key=lambda b: (b.cx - t.cx) ** 2 + (b.cy - t.cy) ** 2))
            truth.append(t)
            kept.append(s)
        if (i + 1) % 500 == 0:
            print(f"  detected {i + 1}/{len(samples)}", file=sys.stderr)
    return det, truth, kept


def main(args: argparse.Namespace) -> int:
    detector = HaarDetector(mapped=False)
    train = training_samples(args.data, "train")
    det, truth, _ = paired_boxes(train, detector)
    mapping = BoxMapping.fit(det, truth)
    out = (args.out or models_dir()) / BOX_MAPPING_FILE
    mapping.save(out)
    print(f"box mapping from {len(det)} train faces: {mapping}, saved to {out}", file=sys.stderr)

    val = training_samples(args.data, "val")
    vdet, vtruth, vsamples = paired_boxes(val, detector)
    mean = ShapeModel.load().mean
    gt = np.stack([s.points for s in vsamples])
    for label, m in (("raw Haar box", BoxMapping()), ("mapped box", mapping)):
        boxes = [m.apply(b) for b in vdet]
        iou = np.mean([b.iou(t) for b, t in zip(boxes, vtruth)])
        nme = nme_interocular(np.stack([place_in_box(mean, b) for b in boxes]), gt)
        print(f"  val {label:13s}: IoU with landmark box {iou:.3f}, mean-shape NME {100 * nme.mean():.2f}%", file=sys.stderr)
    return 0
