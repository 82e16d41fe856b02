"""The cached training crops as one small file, so training can run where the data is not.

An accelerator machine (the `device` tool) receives at most 64 MiB and no data folder:
`edgetrack train cnn --pack-crops FILE` writes the train and val caches (grey crops as
JPEG, points, styles, detector box errors) and `--crops FILE` trains from them. JPEG at
quality 95 keeps a 154 px face crop at about 7 KB (the raw cache is 24 KB): measured,
1.9 MiB for 264 faces, so about 37 MiB for the 5,127 faces at 96 px. The crops differ from the images' by JPEG's
rounding (a few grey levels), so a model trained from a pack is close to, not bit-equal
with, one trained from the images.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from convert.cnn.data import CACHE_MARGIN, FaceCache

QUALITY = 95


def _encode(images: np.ndarray, quality: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, C, C) uint8 -> (all JPEG bytes, end offset of each)."""
    blobs = []
    for img in images:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("OpenCV could not JPEG-encode a training crop")
        blobs.append(buf.reshape(-1))
    ends = np.cumsum([len(b) for b in blobs]).astype(np.int64)
    return (np.concatenate(blobs) if blobs else np.zeros(0, np.uint8)), ends


def _decode(data: np.ndarray, ends: np.ndarray, side: int) -> np.ndarray:
    images = np.empty((len(ends), side, side), np.uint8)
    start = 0
    for i, end in enumerate(ends):
        images[i] = cv2.imdecode(data[start:end], cv2.IMREAD_GRAYSCALE)
        start = int(end)
    return images


def save_pack(path: Path, train: FaceCache, val: FaceCache, quality: int = QUALITY) -> int:
    """Write both caches to `path` (a new .npz file; an existing one is never replaced); returns its size in bytes."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists; remove it or give a new --pack-crops file name")
    if train.input_size != val.input_size:
        raise ValueError(f"train crops are for {train.input_size} px, val crops for {val.input_size} px")
    arrays: dict[str, np.ndarray] = {"input_size": np.array(train.input_size)}
    for part, cache in (("train", train), ("val", val)):
        data, ends = _encode(cache.images, quality)
        arrays |= {f"{part}_jpeg": data, f"{part}_ends": ends, f"{part}_points": cache.points}
        if cache.styles is not None:
            arrays[f"{part}_styles"] = cache.styles
        if cache.box_errors is not None:
            arrays[f"{part}_box_errors"] = cache.box_errors
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "wb") as f:  # written whole, then renamed: an interrupted run leaves no half pack under the name
        np.savez(f, **arrays)
    tmp.replace(path)
    return path.stat().st_size


def load_pack(path: Path) -> tuple[FaceCache, FaceCache]:
    """The (train, val) caches written by `save_pack`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--crops {path} not found; write it with `edgetrack train cnn --pack-crops {path}` where the data is")
    with np.load(path, allow_pickle=False) as z:
        if "input_size" not in z.files:
            raise ValueError(f"{path} is not a crop pack (no input_size); write one with `edgetrack train cnn --pack-crops`")
        size = int(z["input_size"])
        side = int(round(CACHE_MARGIN * size))
        caches = []
        for part in ("train", "val"):
            caches.append(
                FaceCache(
                    _decode(z[f"{part}_jpeg"], z[f"{part}_ends"], side),
                    z[f"{part}_points"],
                    size,
                    z[f"{part}_box_errors"] if f"{part}_box_errors" in z.files else None,
                    z[f"{part}_styles"] if f"{part}_styles" in z.files else None,
                )
            )
    return caches[0], caches[1]

