"""`edgetrack train cnn`: cache the crops, train the regressor, keep the best checkpoint.

Export to TFLite is a separate step (`edgetrack export cnn`), so a conversion problem
never costs a retrain.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from convert.cnn.data import Augment, FaceCache, build_cache, detector_box_errors
from convert.cnn.pack import load_pack, save_pack
from convert.cnn.train import TrainConfig, resolve_device, train
from convert.training_data import training_samples
from edge.paths import data_root

DEFAULT_CHECKPOINT = Path("build/cnn/cnn_landmarks.pt")


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--data", type=Path, nargs="*", help="data folders (default: ../shared/data/ytf68 and 300w-train)")
    p.add_argument("--out", type=Path, default=DEFAULT_CHECKPOINT, help=f"checkpoint to write (default {DEFAULT_CHECKPOINT})")
    p.add_argument("--input-size", type=int, default=d.input_size, help="crop side in pixels, a multiple of 16")
    p.add_argument("--width", type=float, default=d.width, help="channel width multiplier")
    p.add_argument("--epochs", type=int, default=d.epochs, help="length of the learning-rate schedule")
    p.add_argument(
        "--stop-after", type=int, default=0, help="end after this many epochs of the --epochs schedule (0: all of them)"
    )
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=d.threads, help="torch CPU threads")
    p.add_argument("--init", type=Path, default=None, help="start from this checkpoint's weights (fine-tuning)")
    p.add_argument("--qat", action="store_true", help="fake 8-bit activations while training (use with --init for int8 fine-tuning)")
    p.add_argument(
        "--box-errors",
        type=Path,
        default=Path("build/cnn/box_errors_train.npz"),
        help="cache of the Haar+BoxMapping box errors on the training faces (computed when absent or stale)",
    )
    p.add_argument("--big-rotation", type=float, default=Augment().p_big_rotation, help="share of detector-mode crops turned up to 35 deg")
    p.add_argument("--tracking-share", type=float, default=Augment().p_tracking, help="share of crops made the tracker's way")
    p.add_argument(
        "--track-shift", type=float, default=Augment().track_shift, help="sd of the previous points' shift in tracking crops, in box sides"
    )
    p.add_argument("--no-detector-boxes", action="store_true", help="jitter boxes with Gaussians instead of real detector errors")
    p.add_argument(
        "--head", choices=["dense", "pip"], default=d.head, help="output head: dense (flatten + linear) or pip (cell scores + offsets)"
    )
    p.add_argument(
        "--mirror-heads", action="store_true", help="mirrored crops train their own heads (the annotations are not mirror-symmetric)"
    )
    p.add_argument("--heads", type=int, default=d.heads, help="output heads, one per annotation style (2: 300w and ytf68)")
    p.add_argument(
        "--registration",
        type=float,
        default=d.registration_weight,
        help="weight of the temporal registration loss on unlabelled video pairs (0 = off; convert/cnn/registration.py)",
    )
    p.add_argument("--pair-batch", type=int, default=d.pair_batch, help="video frame pairs per step with --registration")
    p.add_argument(
        "--videos", type=Path, default=None, help="unlabelled clips for --registration (default: ../shared/data/videos, train part)"
    )
    p.add_argument(
        "--video-pairs",
        type=Path,
        default=None,
        help="cache of the cropped frame pairs and their flow (default build/cnn/video_pairs_<size>.npz; built when absent)",
    )
    p.add_argument("--limit", type=int, default=0, help="use only the first N training faces (smoke runs)")
    p.add_argument("--device", default="auto", help="auto (a CUDA GPU when PyTorch sees one, else the CPU), cpu or cuda")
    p.add_argument(
        "--pack-crops",
        type=Path,
        default=None,
        help="write the train and val crops to this new .npz file and stop (train elsewhere with --crops: convert/cnn/pack.py)",
    )
    p.add_argument("--crops", type=Path, default=None, help="train from a crop pack written by --pack-crops instead of --data")
    p.add_argument(
        "--aflw21",
        type=Path,
        nargs="?",
        const=data_root() / "aflw21",
        default=None,
        help="also train on an aflw21 folder's train part (default ../shared/data/aflw21) through a training-only head for its 21 points",
    )
    p.add_argument(
        "--teacher",
        type=Path,
        default=None,
        help="teacher labels from `edgetrack train teacher` (build/cnn/teacher_labels.npz): dlib's gated 68 points on the aflw21 "
        "(with --aflw21) and KDEF faces train the 300w head",
    )
    p.add_argument("--kdef", type=Path, default=None, help="the KDEF folder the --teacher labels are of (default ../shared/data/kdef)")
    p.add_argument("--aux-weight", type=float, default=d.aux_weight, help="weight of the aflw21 head's loss")
    p.add_argument(
        "--manual-repeat", type=int, default=d.manual_repeat, help="times an epoch shows each manually marked face (the others once)"
    )


def main(args: argparse.Namespace) -> int:
    if args.input_size % 16:
        raise ValueError(f"--input-size {args.input_size} must be a multiple of 16")
    if args.pack_crops is not None and args.pack_crops.exists():  # before minutes of caching, not after
        raise ValueError(f"--pack-crops {args.pack_crops} already exists; remove it or give a new file name (a run never overwrites it)")
    cfg = TrainConfig(
        args.input_size,
        args.width,
        args.epochs,
        args.batch,
        args.lr,
        seed=args.seed,
        qat=args.qat,
        threads=args.threads,
        heads=args.heads,
        registration_weight=args.registration,
        pair_batch=args.pair_batch,
        head=args.head,
        mirror=args.mirror_heads,
        aux_points=21 if args.aflw21 is not None else 0,
        aux_weight=args.aux_weight,
        manual_repeat=args.manual_repeat,
        stop_after=args.stop_after,
        device=resolve_device(args.device) if args.pack_crops is None else "cpu",
    )
    if (args.aflw21 or args.teacher) and (args.crops or args.pack_crops):
        raise ValueError("--aflw21/--teacher faces are not in crop packs yet; train them from the data folders (drop --crops/--pack-crops)")
    if args.crops is not None:
        train_cache, val_cache = _pack(args, cfg.input_size)
    else:
        train_cache, val_cache = _caches(args, cfg.input_size)
    train_cache = _with_extra_faces(args, train_cache, cfg.input_size)
    if args.pack_crops is not None:
        size = save_pack(args.pack_crops, train_cache, val_cache)
        faces = f"{len(train_cache)} train / {len(val_cache)} val faces"
        print(f"crop pack {args.pack_crops}: {faces}, {size / 2**20:.1f} MiB", file=sys.stderr)
        return 0
    aug = Augment(p_big_rotation=args.big_rotation, p_tracking=args.tracking_share, track_shift=args.track_shift)
    pairs = _video_pairs(args, cfg.input_size) if cfg.registration_weight > 0 else None
    result = train(train_cache, val_cache, cfg, args.out, aug=aug, init=args.init, pairs=pairs)
    print(
        f"best val NME {result['best_val_nme_pct']:.2f}% ({result['params']:,} params, {result['minutes']:.1f} min); "
        f"checkpoint {args.out}; next: edgetrack export cnn --checkpoint {args.out}",
        file=sys.stderr,
    )
    return 0


def _caches(args: argparse.Namespace, size: int) -> tuple[FaceCache, FaceCache]:
    """Train and val crops from the data folders (the identity split in models/splits/)."""
    train_samples = training_samples(args.data, "train")
    val_samples = training_samples(args.data, "val")
    if args.limit:
        train_samples, val_samples = train_samples[: args.limit], val_samples[: max(64, args.limit // 4)]
    print(f"caching {len(train_samples)} train and {len(val_samples)} val faces", file=sys.stderr)
    errors = None if args.no_detector_boxes else _box_errors(train_samples, args.box_errors)
    return build_cache(train_samples, size, box_errors=errors), build_cache(val_samples, size)


def _with_extra_faces(args: argparse.Namespace, cache: FaceCache, size: int) -> FaceCache:
    """The 68-point folders' cache plus the aflw21 train faces (--aflw21) and the teacher-labelled KDEF photos (--teacher)."""
    if args.aflw21 is None and args.teacher is None:
        return cache
    from convert.cnn.extra_faces import aflw_cache, concat, kdef_cache

    labels = None
    if args.teacher is not None:
        if not args.teacher.is_file():
            raise FileNotFoundError(f"--teacher {args.teacher} not found; make it with `edgetrack train teacher`")
        with np.load(args.teacher, allow_pickle=False) as z:
            labels = {k: z[k] for k in z.files}
    parts = [cache]
    if args.aflw21 is not None:
        parts.append(aflw_cache(args.aflw21, labels, size))
    if labels is not None:
        parts.append(kdef_cache(args.kdef or data_root() / "kdef", labels, size))
    return concat(parts)


def _pack(args: argparse.Namespace, size: int) -> tuple[FaceCache, FaceCache]:
    """Train and val crops from a pack; it must be for this input size and hold what the options need."""
    if args.data:
        raise ValueError("--crops replaces --data; give one of them")
    if args.limit:
        raise ValueError("--limit picks faces from --data; a --crops pack holds the faces it was written with (pack it with --limit)")
    train_cache, val_cache = load_pack(args.crops)
    if train_cache.input_size != size:
        raise ValueError(f"--crops {args.crops} holds crops for {train_cache.input_size} px; pass --input-size {train_cache.input_size}")
    if not args.no_detector_boxes and train_cache.box_errors is None:
        raise ValueError(f"--crops {args.crops} has no detector box errors; pass --no-detector-boxes or pack it without that option")
    if args.no_detector_boxes:
        train_cache.box_errors = None
    print(f"crops from {args.crops}: {len(train_cache)} train / {len(val_cache)} val faces", file=sys.stderr)
    return train_cache, val_cache


def _box_errors(samples, cache: Path) -> np.ndarray:
    """Real detector box errors per training face, from `cache` when it matches these faces."""
    names = np.array([str(s.image_path) for s in samples])
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            if z["names"].shape == names.shape and np.all(z["names"] == names):
                return z["errors"]
    print(f"running the Haar detector on {len(samples)} training faces for real box errors", file=sys.stderr)
    errors = detector_box_errors(samples)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, names=names, errors=errors)
    return errors


def _video_pairs(args: argparse.Namespace, size: int):
    """Frame pairs of the training clips, from the cache file when there is one (building them takes minutes)."""
    from convert.cnn.registration import VideoPairs, build_video_pairs
    from edge.data import video_clips
    from edge.paths import data_root

    cache = args.video_pairs or Path(f"build/cnn/video_pairs_{size}.npz")
    if cache.is_file():
        pairs = VideoPairs.load(cache)
        if pairs.crops.shape[-1] != size:
            raise ValueError(f"--video-pairs {cache} holds {pairs.crops.shape[-1]} px crops, not {size}; remove it or pass another file")
        print(f"video pairs: {len(pairs)} from {cache}", file=sys.stderr)
        return pairs
    clips = video_clips(args.videos or data_root() / "videos", "train")
    print(f"building video pairs from {len(clips)} training clips (tracked with the shipped model) -> {cache}", file=sys.stderr)
    pairs = build_video_pairs(clips, size)
    pairs.save(cache)
    return pairs
