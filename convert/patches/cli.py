"""`edgetrack train clm`: patch experts at every level for each preprocessing, their comparison, TFLite export, face score model.

Writes to --out: clm_patches.npz (the chosen preprocessing), clm_patches_<level>_{int8,float}.tflite,
clm_face_score.npz and clm_training.json (the measured comparison).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from convert.patches.data import WindowSet, collect_windows
from convert.patches.export import export_level
from convert.patches.score import score_accuracy, score_samples, train_face_score
from convert.patches.train import patch_accuracy, train_patch_experts
from convert.training_data import default_data_dirs
from edge.clm.fitter import CLMFitter, box_starts, schedules
from edge.clm.model import PATCHES_FILE, SCORE_FILE, ExpertLevel, PatchExperts, tflite_path
from edge.clm.preprocessing import PREPROCESSINGS, normalise_windows
from edge.clm.response import FloatResponses
from edge.data import FaceSample, load_dataset, load_image, load_or_make_split
from edge.evaluate.metrics import nme_interocular
from edge.geometry import Box
from edge.paths import models_dir
from edge.shape_model import ShapeModel


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, nargs="+", default=None, help="data folders (default: ../shared/data/ytf68 and 300w-train)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: models/)")
    p.add_argument("--preprocessing", default="raw", choices=PREPROCESSINGS, help="patch preprocessing of the shipped experts")
    p.add_argument("--compare", default="sobel", help="other preprocessings to train and measure beside it (comma list, '' for none)")
    p.add_argument("--ref-scales", default="9,18,26", help="reference pixels per shape-model unit, coarse to fine")
    p.add_argument("--window", type=int, default=21, help="search window side (responses are window - patch + 1)")
    p.add_argument("--patch", type=int, default=11)
    p.add_argument("--augment", type=int, default=2, help="draws per face (odd draws mirrored)")
    p.add_argument("--eval-faces", type=int, default=300, help="validation faces per folder for the fitting comparison")
    p.add_argument("--limit", type=int, default=0, help="use only N training faces (quick checks)")
    p.add_argument("--seed", type=int, default=0)


def _split(dirs: list[Path], part: str) -> list[list[FaceSample]]:
    out = []
    for d in dirs:
        samples, _ = load_dataset(d, quiet=True)
        out.append(load_or_make_split(d, samples).select(samples, part))
    return out


def fit_nme(experts: PatchExperts, samples: list[FaceSample], yaw_starts: float = 1.5) -> float:
    """Mean NME-68 (%) of float-path fits from the ground-truth box, started as the `clm` landmarker starts."""
    fitter = CLMFitter(experts, [FloatResponses(lv.filters, lv.bias) for lv in experts.levels])
    errs = []
    for s in samples:
        image = load_image(s.image_path)
        if image is None:
            continue
        (sim, params), *others = box_starts(experts, Box.around(s.points), yaw_starts)
        pts = fitter.fit(image, sim, params, schedules(len(experts.levels))[0], others).points
        errs.append(nme_interocular(pts[None].astype(np.float64), s.points[None].astype(np.float64))[0])
    return 100.0 * float(np.mean(errs))


def main(args: argparse.Namespace) -> int:
    t_start = time.perf_counter()
    dirs = args.data or default_data_dirs()
    out = args.out or models_dir()
    out.mkdir(parents=True, exist_ok=True)
    kinds = [args.preprocessing] + [k.strip() for k in args.compare.split(",") if k.strip() and k.strip() != args.preprocessing]
    for k in kinds:
        if k not in PREPROCESSINGS:
            raise ValueError(f"unknown preprocessing {k!r}; choose from {', '.join(PREPROCESSINGS)}")
    ref_scales = [float(v) for v in args.ref_scales.split(",")]
    shape = ShapeModel.load()
    train_parts, val_parts = _split(dirs, "train"), _split(dirs, "val")
    train = [s for part in train_parts for s in part]
    if args.limit:
        rng = np.random.default_rng(args.seed)
        train = [train[i] for i in sorted(rng.permutation(len(train))[: args.limit])]
    val = [s for part in val_parts for s in part]
    if not train or not val:
        raise ValueError("no training or validation faces; pass --data with folders in the ../shared/data layout")
    print(f"clm: {len(train)} training faces, {len(val)} validation faces from {', '.join(str(d) for d in dirs)}", file=sys.stderr)
    max_offset = (args.window - args.patch) // 2 - 1
    train_w: list[WindowSet] = []
    val_w: list[WindowSet] = []
    for lv, rs in enumerate(ref_scales):
        train_w.append(collect_windows(train, shape, rs, args.window, max_offset, args.augment, seed=args.seed + lv))
        val_w.append(collect_windows(val, shape, rs, args.window, max_offset, 1, seed=args.seed + 100 + lv, progress=False))
    report: dict = {
        "train_faces": len(train),
        "val_faces": len(val),
        "ref_scales": ref_scales,
        "window": args.window,
        "patch": args.patch,
        "preprocessings": {},
    }
    experts_by_kind: dict[str, PatchExperts] = {}
    for kind in kinds:
        levels, acc = [], []
        for lv, rs in enumerate(ref_scales):
            f, b = train_patch_experts(train_w[lv], kind, args.patch, seed=args.seed)
            levels.append(ExpertLevel(f, b, rs))
            acc.append(patch_accuracy(val_w[lv], kind, f, b))
        experts = PatchExperts(tuple(levels), kind, args.window, shape)
        experts_by_kind[kind] = experts
        nme = {Path(d).name: fit_nme(experts, part[: args.eval_faces]) for d, part in zip(dirs, val_parts)}
        report["preprocessings"][kind] = {"patch_accuracy_by_level": acc, "val_fit_nme_pct_gt_box": nme}
        print(
            f"clm {kind}: patch argmax within 1 px per level {[round(a['argmax_within_1px_pct'], 1) for a in acc]}, "
            f"val NME from gt box {', '.join(f'{k} {v:.2f}%' for k, v in nme.items())}",
            file=sys.stderr,
        )
    chosen = experts_by_kind[args.preprocessing]
    chosen.save(out / PATCHES_FILE)
    sizes = {}
    rng = np.random.default_rng(args.seed)
    for lv, level in enumerate(chosen.levels):
        pick = rng.permutation(len(train_w[lv]))[:200]
        calib = normalise_windows(train_w[lv].windows[pick], chosen.preprocessing)
        sizes[lv] = export_level(level, args.window, calib, tflite_path(lv, "int8", out), tflite_path(lv, "float", out))
    report["tflite_bytes"] = {f"level{lv}": {"int8": s[0], "float": s[1]} for lv, s in sizes.items()}
    del train_w, val_w
    x, y = score_samples(train, shape, seed=args.seed)
    score = train_face_score(x, y)
    score.save(out / SCORE_FILE)
    xv, yv = score_samples(val[::3], shape, seed=args.seed + 7, progress=False)
    report["face_score_val"] = score_accuracy(score, xv, yv)
    report["shipped"] = args.preprocessing
    report["seconds"] = round(time.perf_counter() - t_start, 1)
    (out / "clm_training.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0
