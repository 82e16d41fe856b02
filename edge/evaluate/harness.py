"""Run a landmarker over annotated faces, from ground-truth or detected boxes, and time it."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from edge.data import FaceSample, load_image, match_detection
from edge.detect import Detector
from edge.geometry import Box
from edge.landmarks import Landmarker
from edge.landmarks.base import fit_box


@dataclass
class EvalRun:
    landmarker: str
    box_mode: str
    samples: list[FaceSample]
    predictions: list[np.ndarray | None] = field(default_factory=list)  # None: face not found
    ms_per_face: list[float] = field(default_factory=list)
    ms_detect: list[float] = field(default_factory=list)
    unreadable: int = 0


def evaluate(
    samples: list[FaceSample],
    landmarker: Landmarker,
    box_mode: str = "gt",
    detector: Detector | None = None,
    progress: bool = True,
) -> EvalRun:
    if box_mode not in ("gt", "detect"):
        raise ValueError(f"--box must be 'gt' or 'detect', not {box_mode!r}")
    if box_mode == "detect" and detector is None:
        raise ValueError("box_mode 'detect' needs a detector")
    run = EvalRun(landmarker.name, box_mode, samples)
    t_start = time.perf_counter()
    for i, sample in enumerate(samples):
        image = load_image(sample.image_path)
        if image is None:
            print(f"{sample.image_path}: unreadable image, counted as missing", file=sys.stderr)
            run.unreadable += 1
            run.predictions.append(None)
            continue
        truth = Box.around(sample.points)
        if box_mode == "gt":
            box: Box | None = truth
        else:
            t0 = time.perf_counter()
            boxes = detector.detect(image, max_faces=5)  # type: ignore[union-attr]
            run.ms_detect.append((time.perf_counter() - t0) * 1e3)
            box = match_detection(boxes, truth)  # the detector's boxes are mapped already
        if box is None:
            run.predictions.append(None)
            continue
        t0 = time.perf_counter()
        result = fit_box(landmarker, image, box)  # a turned box (a detector that sees the roll) is fitted level
        run.ms_per_face.append((time.perf_counter() - t0) * 1e3)
        pts = np.asarray(result.points, dtype=np.float64)
        run.predictions.append(pts if np.all(np.isfinite(pts)) else None)
        if progress and (i + 1) % 200 == 0:
            rate = (i + 1) / (time.perf_counter() - t_start)
            print(f"  {landmarker.name}: {i + 1}/{len(samples)} faces ({rate:.0f}/s)", file=sys.stderr)
    return run
