"""`edgetrack train detector`: compose scenes, train the face detector, export it to int8 TFLite.

Faces come from the train part of the identity split of both annotated folders and of aflw21 (every
pose; `--no-aflw21` leaves it out), backgrounds
from the train part of the negatives' split; the validation scenes use only the val parts.
After training (unless --no-export) the best checkpoint is converted (PyTorch -> ONNX ->
onnx2tf -> int8 TFLite, `convert.detector.export`) into models/detector_int8.tflite and
checked through the runtime's own detector class; then the second look is fitted on that
network's candidates (`convert.detector.second_look` -> models/detector_verify.npz).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from convert.detector.data import build_aflw_bank, build_face_bank, load_negatives, make_scenes, negative_split
from convert.detector.second_look import CHANNELS, HIDDEN
from convert.detector.train import TrainConfig, train
from convert.training_data import training_samples
from edge.paths import data_root

DEFAULT_CHECKPOINT = Path("build/detector/detector.pt")
VAL_SCENES = 1000


def aflw21_folder(folder: Path | None) -> Path:
    """The aflw21 folder asked for, or the data's; missing: a one-line error naming both ways out."""
    path = Path(folder) if folder else data_root() / "aflw21"
    if not (path / "landmarks21.csv").is_file():
        raise SystemExit(f"error: aflw21 faces not found in {path}; pass --aflw21 DIR, or --no-aflw21 to train without them")
    return path


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--data", type=Path, nargs="*", help="annotated face folders (default: ../shared/data/ytf68 and 300w-train)")
    p.add_argument("--aflw21", type=Path, default=None,
                   help="aflw21 folder whose faces of every pose join the scenes (default: ../shared/data/aflw21)")
    p.add_argument("--no-aflw21", action="store_true", help="train on the 68-point folders' faces only (the detector before issue 20)")
    p.add_argument("--negatives", type=Path, default=None, help="folder of face-free photos (default: ../shared/data/negatives/images)")
    p.add_argument("--out", type=Path, default=DEFAULT_CHECKPOINT, help=f"checkpoint to write (default {DEFAULT_CHECKPOINT})")
    p.add_argument("--width", type=float, default=d.width, help="channel width multiplier")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--scenes", type=int, default=d.scenes_per_epoch, help="scenes composed per epoch")
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=d.threads, help="torch CPU threads")
    p.add_argument("--init", type=Path, default=None, help="start from this checkpoint's weights (fine-tuning)")
    p.add_argument("--qat", action="store_true", help="fake 8-bit activations (int8-aware fine-tune; use with --init)")
    p.add_argument("--mine-every", type=int, default=d.mine_every, help="epochs between hard-negative mining (0 = never)")
    p.add_argument("--val-scenes", type=int, default=VAL_SCENES, help="validation scenes (val faces on val negatives)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N faces and negatives (smoke runs)")
    p.add_argument("--no-export", action="store_true", help="train only; export later with --export-only")
    p.add_argument("--export-only", action="store_true", help="export --out (the checkpoint) without training")
    p.add_argument("--second-look-only", action="store_true", help="refit only the second look (models/detector_verify.npz)")
    p.add_argument("--second-look-channels", type=int, default=CHANNELS,
                   help="first convolution's width of the second look (0 = a perceptron on the flat features)")
    p.add_argument("--second-look-hidden", type=int, default=HIDDEN,
                   help="dense hidden units of the second look (0 with 0 channels: logistic regression)")
    p.add_argument("--models", type=Path, default=None, help="folder for detector_int8.tflite (default: models/)")


def main(args: argparse.Namespace) -> int:
    from convert.detector.export import export_detector
    from convert.detector.second_look import fit_second_look

    aflw = None if args.no_aflw21 else aflw21_folder(args.aflw21)
    if args.second_look_only:
        fit_second_look(args.models, args.limit, args.seed, args.second_look_hidden, aflw, args.second_look_channels)
        return 0
    split = negative_split(args.negatives)
    if not args.export_only:
        cfg = TrainConfig(args.width, args.epochs, args.scenes, args.batch, args.lr, seed=args.seed, threads=args.threads,
                          qat=args.qat, mine_every=args.mine_every)  # fmt: skip
        faces = training_samples(args.data, "train")
        val_faces = training_samples(args.data, "val")
        negs_train, negs_val = split["train"], split["val"]
        if args.limit:
            faces, val_faces = faces[: args.limit], val_faces[: max(32, args.limit // 4)]
            negs_train, negs_val = negs_train[: args.limit], negs_val[: max(16, args.limit // 4)]
        print(f"face patches: {len(faces)} train / {len(val_faces)} val faces; negatives: {len(negs_train)} train / "
              f"{len(negs_val)} val photos", file=sys.stderr)  # fmt: skip
        bank, val_bank = build_face_bank(faces), build_face_bank(val_faces)
        if aflw is not None:
            n0, v0 = len(bank), len(val_bank)
            build_aflw_bank(aflw, "train", bank, limit=args.limit)
            build_aflw_bank(aflw, "val", val_bank, limit=max(32, args.limit // 4) if args.limit else 0)
            print(f"aflw21 ({aflw}): {len(bank) - n0} train / {len(val_bank) - v0} val faces of every pose added", file=sys.stderr)
        negs, val_negs = load_negatives(negs_train, args.negatives), load_negatives(negs_val, args.negatives)
        val = make_scenes(args.val_scenes, np.random.default_rng([args.seed, 10**6]), val_bank, val_negs, texture=0.0)
        result = train(bank, negs, val, cfg, args.out, init=args.init)
        print(f"best val recall {100 * result['best_recall_at_budget']:.1f}% within the false-detection budget "
              f"({result['params']:,} params, {result['minutes']:.1f} min); checkpoint {args.out}", file=sys.stderr)  # fmt: skip
    if args.no_export:
        return 0
    rc = export_detector(args.out, args.models, args.data, args.negatives, seed=args.seed, limit=args.limit)
    if rc == 0:  # the second look is fitted on the exported network's own candidates
        fit_second_look(args.models, args.limit, args.seed, args.second_look_hidden, aflw, args.second_look_channels)
    return rc
