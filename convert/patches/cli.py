"""`edgetrack train clm`: patch experts of every type at every level, their comparison, TFLite export, face score model.

Expert types (edge.clm.model.EXPERT_TYPES): raw, sobel, lbp (linear experts on one feature image), blend
(per-landmark logistic over those three responses), joint (the blend refitted as one logistic over the
three channels' pixels) and mosse (Fourier-domain correlation filters).
Writes every trained type to --types-out (default build/clm/) as clm_patches_<type>.npz with its
clm_patches_<type>_<level>_{int8,float}.tflite, and the shipped type (--experts) to --out (models/) as
clm_patches.npz + clm_patches_<level>_{int8,float}.tflite, plus clm_face_score.npz and
clm_training.json (the measured comparison).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from convert.patches.data import WindowSet, collect_windows
from convert.patches.export import export_level, int8_agreement
from convert.patches.score import score_accuracy, score_samples, train_face_score
from convert.patches.train import landmark_weights, patch_accuracy, train_blend, train_mosse_experts, train_patch_experts
from convert.training_data import default_data_dirs
from edge.clm.fitter import CLMFitter, fit_from_box
from edge.clm.model import EXPERT_TYPES, PATCHES_FILE, SCORE_FILE, TYPES_DIR, ExpertLevel, PatchExperts, tflite_path
from edge.clm.preprocessing import channels_of, normalise_windows
from edge.clm.response import FloatResponses
from edge.data import FaceSample, load_dataset, load_image, load_or_make_split
from edge.evaluate.metrics import nme_interocular
from edge.geometry import Box
from edge.landmarks.clm import BOX_SCALES
from edge.paths import models_dir
from edge.shape_model import ShapeModel

SHIPPED = "joint"  # the type models/clm_patches.npz holds, chosen by measurement (models/cards/clm.md)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, nargs="+", default=None, help="data folders (default: ../shared/data/ytf68 and 300w-train)")
    p.add_argument("--out", type=Path, default=None, help="output folder of the shipped files (default: models/)")
    p.add_argument("--types-out", type=Path, default=None, help="output folder of every type's files (default: build/clm/)")
    p.add_argument("--experts", default=SHIPPED, choices=list(EXPERT_TYPES), help="expert type of the shipped clm_patches.npz")
    p.add_argument(
        "--compare", default=",".join(EXPERT_TYPES), help="expert types to train and measure beside it (comma list, '' for none)"
    )
    p.add_argument("--ref-scales", default="9,18,26", help="reference pixels per shape-model unit, coarse to fine")
    p.add_argument("--window", type=int, default=21, help="search window side (responses are window - patch + 1)")
    p.add_argument("--patch", type=int, default=11)
    p.add_argument("--augment", type=int, default=2, help="draws per face (odd draws mirrored)")
    p.add_argument("--mosse-sigma", type=float, default=0.5, help="MOSSE: Gaussian target width, reference px")
    p.add_argument("--mosse-lambda", type=float, default=0.01, help="MOSSE: regulariser, times the mean spectral energy")
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
        pts = fit_from_box(fitter, image, Box.around(s.points), yaw_starts, BOX_SCALES).points
        errs.append(nme_interocular(pts[None].astype(np.float64), s.points[None].astype(np.float64))[0])
    return 100.0 * float(np.mean(errs))


def _types(args: argparse.Namespace) -> list[str]:
    types = [args.experts] + [t.strip() for t in args.compare.split(",") if t.strip() and t.strip() != args.experts]
    for t in types:
        if t not in EXPERT_TYPES:
            raise ValueError(f"unknown CLM expert type {t!r}; choose from {', '.join(EXPERT_TYPES)}")
    return list(dict.fromkeys(types))


class TypeTrainer:
    """Trains expert types level by level, keeping what types share: the single-channel linear experts
    (raw, sobel, lbp) a blend combines, and the blend a joint expert starts from."""

    def __init__(self, train_w: list[WindowSet], ref_scales: list[float], args: argparse.Namespace, shape: ShapeModel) -> None:
        self.train_w, self.ref_scales, self.args, self.shape = train_w, ref_scales, args, shape
        self.linear: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        self.blends: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def _linear(self, pre: str, lv: int) -> tuple[np.ndarray, np.ndarray]:
        if (pre, lv) not in self.linear:
            self.linear[pre, lv] = train_patch_experts(self.train_w[lv], pre, self.args.patch, seed=self.args.seed)
        return self.linear[pre, lv]

    def _blend(self, lv: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(folded filters, folded bias, per-landmark weights) of level lv's blend."""
        if lv not in self.blends:
            parts = {pre: self._linear(pre, lv) for pre in channels_of(EXPERT_TYPES["blend"])}
            w, _, f, b = train_blend(self.train_w[lv], parts, self.args.patch, seed=self.args.seed)
            self.blends[lv] = (f, b, w)
        return self.blends[lv]

    def __call__(self, kind: str) -> PatchExperts:
        args, pre = self.args, EXPERT_TYPES[kind]
        levels, blend = [], []
        for lv, rs in enumerate(self.ref_scales):
            if kind == "blend":
                f, b, w = self._blend(lv)
                blend.append(w)
            elif kind == "joint":  # one logistic over the three channels' pixels, started from the blend (fewer Newton steps)
                f0, b0, _ = self._blend(lv)
                f, b = train_patch_experts(self.train_w[lv], pre, args.patch, seed=args.seed, init=(f0, b0))
            elif kind == "mosse":
                f, b = train_mosse_experts(self.train_w[lv], pre, args.patch, args.mosse_sigma, args.mosse_lambda, seed=args.seed)
            else:
                f, b = self._linear(pre, lv)
            weights = landmark_weights(self.train_w[lv], pre, f, b, seed=args.seed)
            levels.append(ExpertLevel(f, b, rs, weights))
        return PatchExperts(tuple(levels), pre, args.window, self.shape, kind, np.stack(blend) if blend else None)


def main(args: argparse.Namespace) -> int:
    t_start = time.perf_counter()
    dirs = args.data or default_data_dirs()
    out = args.out or models_dir()
    types_out = args.types_out or TYPES_DIR
    out.mkdir(parents=True, exist_ok=True)
    types_out.mkdir(parents=True, exist_ok=True)
    types = _types(args)
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
        "mosse": {"sigma": args.mosse_sigma, "lambda": args.mosse_lambda},
        "types": {},
    }
    train_type = TypeTrainer(train_w, ref_scales, args, shape)
    for kind in types:
        t0 = time.perf_counter()
        experts = train_type(kind)
        seconds = time.perf_counter() - t0
        stem = f"clm_patches_{kind}"
        experts.save(types_out / f"{stem}.npz")
        acc, agree, sizes = [], [], []
        for lv, level in enumerate(experts.levels):
            acc.append(patch_accuracy(val_w[lv], experts.preprocessing, level.filters, level.bias))
            pick = np.random.default_rng(args.seed).permutation(len(train_w[lv]))[:200]
            calib = normalise_windows(train_w[lv].windows[pick], experts.preprocessing)
            paths = tflite_path(lv, "int8", types_out, stem), tflite_path(lv, "float", types_out, stem)
            sizes.append(export_level(level, args.window, calib, *paths))
            agree.append(int8_agreement(level, experts.preprocessing, paths[0], val_w[lv]))
        nme = {Path(d).name: fit_nme(experts, part[: args.eval_faces]) for d, part in zip(dirs, val_parts)}
        report["types"][kind] = {
            "preprocessing": experts.preprocessing,
            "patch_accuracy_by_level": acc,
            "int8_argmax_within_1px_of_float_pct_by_level": agree,
            "val_fit_nme_pct_gt_box": nme,
            "tflite_bytes_by_level": [{"int8": a, "float": b} for a, b in sizes],
            "train_seconds": round(seconds, 1),
        }
        print(
            f"clm {kind}: patch argmax within 1 px per level {[round(a['argmax_within_1px_pct'], 1) for a in acc]}, "
            f"int8 agreement {[round(a, 1) for a in agree]}, "
            f"val NME from gt box {', '.join(f'{k} {v:.2f}%' for k, v in nme.items())}",
            file=sys.stderr,
        )
    shipped = f"clm_patches_{args.experts}"
    (out / PATCHES_FILE).write_bytes((types_out / f"{shipped}.npz").read_bytes())
    for lv in range(len(ref_scales)):
        for q in ("int8", "float"):
            tflite_path(lv, q, out).write_bytes(tflite_path(lv, q, types_out, shipped).read_bytes())
    del train_w, val_w
    x, y = score_samples(train, shape, seed=args.seed)
    score = train_face_score(x, y)
    score.save(out / SCORE_FILE)
    xv, yv = score_samples(val[::3], shape, seed=args.seed + 7, progress=False)
    report["face_score_val"] = score_accuracy(score, xv, yv)
    report["shipped"] = args.experts
    report["seconds"] = round(time.perf_counter() - t_start, 1)
    (out / "clm_training.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0
