"""Large poses, measured: a 68-point landmarker scored on the aflw21 val part in AFLW's own markup, per yaw bin.

Only the 13 places both markups share are scored (edge/data/aflw21.py COMMON_68 / COMMON_AFLW:
brow ends and centres, eye corners, mouth corners, chin), each point where AFLW's annotators
saw it, normalised by the size of the face box (sqrt(w h) of the visible AFLW points: a
profile has no inter-ocular distance to speak of). The markups' conventions differ a little at
those places too, so the figure has a floor above zero for any landmarker; compare landmarkers
and models with it, in the same run, not with the 68-point tables.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edge.data import match_detection
from edge.data.aflw21 import COMMON_68, COMMON_AFLW, YAW_BINS, AflwFace, AflwImages, box_size, face_box, yaw_bin
from edge.detect import Detector
from edge.evaluate.report import markdown_table
from edge.landmarks import Landmarker
from edge.landmarks.base import fit_box
from edge.shape_model import ShapeModel


@dataclass
class AflwRun:
    landmarker: str
    box_mode: str
    yaw_deg: np.ndarray
    nme: list[float] = field(default_factory=list)  # fraction of the box size; NaN: face not found
    ms_per_face: list[float] = field(default_factory=list)


def aflw_nme(points68: np.ndarray, manual21: np.ndarray) -> float:
    """Mean distance at the shared places AFLW marked, over the face box size."""
    d = np.linalg.norm(points68[COMMON_68] - manual21[COMMON_AFLW], axis=1)
    return float(np.nanmean(d) / box_size(manual21))


def evaluate_aflw(
    folder: Path, faces: list[AflwFace], landmarker: Landmarker, box_mode: str = "gt", detector: Detector | None = None
) -> AflwRun:
    """Fit every face (box: its 68-point box from its own AFLW points, or the detection matching it) and score it."""
    mean = ShapeModel.load().mean
    run = AflwRun(landmarker.name, box_mode, np.array([f.yaw_deg for f in faces]))
    t_start = time.perf_counter()
    with AflwImages(folder) as images:
        for i, face in enumerate(faces):
            frame = cv2.cvtColor(images.read(face.name), cv2.COLOR_GRAY2BGR)
            truth = face_box(face.points, mean)
            box = truth if box_mode == "gt" else match_detection(detector.detect(frame, max_faces=5), truth)  # type: ignore[union-attr]
            if box is None:
                run.nme.append(float("nan"))
                continue
            t0 = time.perf_counter()
            pts = np.asarray(fit_box(landmarker, frame, box).points, np.float64)
            run.ms_per_face.append((time.perf_counter() - t0) * 1e3)
            run.nme.append(aflw_nme(pts, face.points) if np.all(np.isfinite(pts)) else float("nan"))
            if (i + 1) % 300 == 0:
                rate = (i + 1) / (time.perf_counter() - t_start)
                print(f"  {landmarker.name}: {i + 1}/{len(faces)} aflw21 faces ({rate:.0f}/s)", file=sys.stderr)
    return run


def summarise_aflw(run: AflwRun) -> dict:
    """NME (% of the face box) mean and median per yaw bin and overall, with the count and the faces not found."""
    nme = np.asarray(run.nme) * 100
    bins = np.array([yaw_bin(y) for y in run.yaw_deg])
    out: dict = {"landmarker": run.landmarker, "box": run.box_mode, "n": len(nme), "missing": int(np.isnan(nme).sum())}
    for key, sel in [("all", np.ones(len(nme), bool))] + [(f"yaw_{lo:g}_{hi:g}", bins == k) for k, (lo, hi) in enumerate(YAW_BINS)]:
        v = nme[sel & np.isfinite(nme)]
        out[key] = {"n": int(sel.sum()), "nme_mean_pct": float(v.mean()) if len(v) else float("nan"),
                    "nme_median_pct": float(np.median(v)) if len(v) else float("nan")}  # fmt: skip
    return out


def format_aflw_table(summaries: list[dict]) -> str:
    keys = ["all"] + [f"yaw_{lo:g}_{hi:g}" for lo, hi in YAW_BINS]
    labels = ["all"] + [f"|yaw| {lo:g}-{hi:g}" if hi < 180 else f"|yaw| {lo:g}+" for lo, hi in YAW_BINS]
    rows = [["landmarker", "box", "missing"] + [f"{lab} (n={summaries[0][k]['n']})" for k, lab in zip(keys, labels)]]
    for s in summaries:
        cells = [f"{s[k]['nme_mean_pct']:.2f} / {s[k]['nme_median_pct']:.2f}" for k in keys]
        rows.append([s["landmarker"], s["box"], str(s["missing"])] + cells)
    return "NME % of the face box, mean / median, at the 13 places the markups share\n" + markdown_table(rows)
