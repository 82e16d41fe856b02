"""`edgetrack export TARGET`: convert a trained model to TFLite for the device (workstation only).

`cnn`: PyTorch checkpoint -> ONNX -> onnx2tf -> float32 / float16 / int8 TFLite in
models/, calibrated on real crops made by the run-time crop code, with the parity checks
(ONNX vs float32 TFLite, int8 vs float NME) printed and written beside the models.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

DEFAULT_CHECKPOINT = Path("build/cnn/cnn_landmarks_qat.pt")  # the int8-aware fine-tune of `make models` (models/cards/cnn.md)


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="target", required=True)
    c = sub.add_parser("cnn", help="CNN landmark regressor -> TFLite float32/float16/int8", description="CNN landmark regressor -> TFLite")
    c.add_argument(
        "--checkpoint",
        type=Path,
        default=DEFAULT_CHECKPOINT,
        help=f"PyTorch checkpoint from `edgetrack train cnn` (default {DEFAULT_CHECKPOINT})",
    )
    c.add_argument("--out", type=Path, default=None, help="folder for the .tflite files (default: models/)")
    c.add_argument("--stem", default="cnn_landmarks", help="file name stem: <stem>_{float32,float16,int8}.tflite")
    c.add_argument("--data", type=Path, nargs="*", help="data folders for calibration (train part) and parity (val part)")
    c.add_argument("--calib", type=int, default=1000, help="calibration crops from the training split")
    c.add_argument("--parity", type=int, default=400, help="validation faces for the int8-vs-float check")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--verbose", action="store_true", help="show onnx2tf's own output")
    c.set_defaults(_export=export_cnn)


def export_cnn(args: argparse.Namespace) -> int:
    from edge.commands.workstation import import_workstation
    from edge.paths import models_dir

    export_mod = import_workstation("convert.cnn.export", "target cnn")
    export, runtime_crops, write_report = export_mod.export, export_mod.runtime_crops, export_mod.write_report
    count_params = import_workstation("convert.cnn.model", "target cnn").count_params
    load_checkpoint = import_workstation("convert.cnn.train", "target cnn").load_checkpoint
    training_samples = import_workstation("convert.training_data", "target cnn").training_samples

    model, ckpt = load_checkpoint(args.checkpoint)
    out = args.out or models_dir()
    rng = np.random.default_rng(args.seed)
    train = training_samples(args.data, "train")
    val = training_samples(args.data, "val")
    calib_samples = [train[i] for i in sorted(rng.choice(len(train), min(args.calib, len(train)), replace=False))]
    prng = np.random.default_rng(args.seed + 2)  # the parity faces do not depend on --calib
    parity_samples = [val[i] for i in sorted(prng.choice(len(val), min(args.parity, len(val)), replace=False))]
    print(f"calibrating on {len(calib_samples)} train crops, checking parity on {len(parity_samples)} val faces", file=sys.stderr)
    calib = runtime_crops(calib_samples, model.input_size, rng)[0]
    parity = runtime_crops(parity_samples, model.input_size)
    tracking = runtime_crops(parity_samples, model.input_size, np.random.default_rng(args.seed + 1), track_share=1.0)
    report = export(model, out, args.stem, calib, parity, tracking, verbose=args.verbose)
    extra = {"checkpoint": str(args.checkpoint), "params": count_params(model), "train": ckpt["config"], "train_info": ckpt["info"]}
    write_report(report, out / f"{args.stem}_export.json", extra)
    for v in report.files:
        nme, nme_t = report.nme_pct.get(v, float("nan")), report.nme_tracking_pct.get(v, float("nan"))
        print(f"  {v:8s} {report.sizes_kb[v]:8.1f} KB  NME box crop {nme:.2f}%, tracking crop {nme_t:.2f}%  {report.files[v]}")
    print(f"  ONNX vs float32 TFLite: max error {report.onnx_vs_float32_max_err_pct_of_crop:.4f}% of the crop side")
    print(f"  int8 NME vs float32: {100 * report.int8_vs_float_rel:+.1f}%")
    print(f"  int8: {report.int8_clips_removed} no-op clips removed, max output change {report.int8_stripped_max_diff:.2g}")
    problems = report.problems()
    for p in problems:
        print(f"edgetrack export: parity check failed: {p}", file=sys.stderr)
    return 1 if problems else 0


def main(args: argparse.Namespace) -> int:
    return int(args._export(args) or 0)
