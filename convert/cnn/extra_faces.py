"""Training crops of the faces that have no manual 68-point markup: aflw21 (AFLW's 21 points, and the
teacher's 68 where both gates kept them) and KDEF (the teacher's 68 only).

They join the 68-point folders' cache (`convert.cnn.data.FaceCache`) with per-point target weights:
a face the teacher was not trusted on still teaches the backbone through the aflw21 head, and
its 68 "framing" points (the mean shape laid on its manual points) only place the crop the way
the runtime would. Only the train part of aflw21 is used (models/splits/aflw21.json); the
near-duplicate check (`python -m convert.cnn.duplicates`) found no val face of 300w-train or ytf68
among them or the KDEF photos.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

from convert.cnn.data import CACHE_MARGIN, FaceCache
from convert.cnn.teacher import kept
from edge.cnn.crop import CropSpec, crop_from_box, warp_crop
from edge.cnn.styles import STYLES
from edge.data import load_image
from edge.data.aflw21 import AflwImages, framing_points, load_aflw21_part
from edge.geometry import Box, fit_similarity
from edge.shape_model import ShapeModel

TEACHER_STYLE = "300w"  # dlib was fitted on 300-W's markup: its labels train the 300w head


def _complete(points68: np.ndarray, mean68: np.ndarray) -> np.ndarray:
    """Teacher points with NaNs (a jaw cut by the photo's edge) filled from the mean shape fitted to the rest."""
    ok = np.isfinite(points68[:, 0])
    if ok.all():
        return points68.astype(np.float64)
    out = fit_similarity(mean68[ok], points68[ok]).apply(mean68)
    out[ok] = points68[ok]
    return out


def _cache_one(img: np.ndarray, frame68: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray, object]:
    base = crop_from_box(Box.around(frame68))
    spec = CropSpec(base.cx, base.cy, base.side * CACHE_MARGIN, 0.0)
    sim = spec.to_crop(c)
    return warp_crop(img, spec, c), sim.apply(frame68), sim


def aflw_cache(folder: Path, labels: dict[str, np.ndarray] | None, input_size: int, part: str = "train") -> FaceCache:
    """aflw21 faces of `part` with their 21 points as `aux`; with `labels` (train part only), the teacher's
    68 points as targets where both gates kept them."""
    faces = load_aflw21_part(folder, part)
    mean = ShapeModel.load().mean  # any scale: it is laid on the face by a similarity fit
    teacher: dict[str, np.ndarray] = {}
    if labels is not None:
        keep, _ = kept(labels)
        teacher = {str(n): p for n, p, k in zip(labels["aflw_names"], labels["aflw_points"], keep) if k}
    c = int(round(CACHE_MARGIN * input_size))
    n = len(faces)
    images = np.zeros((n, c, c), np.uint8)
    points = np.zeros((n, 68, 2), np.float32)
    weights = np.zeros((n, 68), np.float32)
    aux = np.full((n, 21, 2), np.nan, np.float32)
    with AflwImages(folder) as reader:
        for i, face in enumerate(faces):
            img = reader.read(face.name)
            known = teacher.get(face.name)
            frame68 = known.astype(np.float64) if known is not None else framing_points(face.points, mean)
            images[i], points[i], sim = _cache_one(img, frame68, c)
            weights[i] = 1.0 if known is not None else 0.0
            aux[i] = sim.apply(face.points.astype(np.float64))
            if (i + 1) % 2000 == 0:
                print(f"  cached {i + 1}/{n} aflw21 faces", file=sys.stderr)
    styles = np.full(n, STYLES.index(TEACHER_STYLE), np.int64)
    print(f"aflw21 {part}: {n} faces, {int(weights[:, 0].sum())} with teacher 68-point labels", file=sys.stderr)
    return FaceCache(images, points, input_size, None, styles, weights, aux, np.zeros(n, bool))


def kdef_cache(folder: Path, labels: dict[str, np.ndarray], input_size: int) -> FaceCache:
    """KDEF photos the teacher was kept on (flip gate), its points as targets except where outside the photo."""
    _, keep = kept(labels)
    with (folder / "labels.csv").open(newline="") as f:
        known = {row["image"] for row in csv.DictReader(f)}
    rows = [(str(n), p) for n, p, k in zip(labels["kdef_names"], labels["kdef_points"], keep) if k and str(n) in known]
    mean = ShapeModel.load().mean  # any scale: it is laid on the face by a similarity fit
    c = int(round(CACHE_MARGIN * input_size))
    images, points, weights = [], [], []
    for name, p in rows:
        img = load_image(folder / "images" / name)
        if img is None:
            continue
        crop, pts, _ = _cache_one(img, _complete(p, mean), c)
        images.append(crop)
        points.append(pts)
        weights.append(np.isfinite(p[:, 0]).astype(np.float32))
    n = len(images)
    print(f"kdef: {n} photos with teacher labels", file=sys.stderr)
    styles = np.full(n, STYLES.index(TEACHER_STYLE), np.int64)
    pts = np.stack(points).astype(np.float32)
    return FaceCache(np.stack(images), pts, input_size, None, styles, np.stack(weights), None, np.zeros(n, bool))


def concat(caches: list[FaceCache]) -> FaceCache:
    """One cache of several; weights/aux/box errors filled where a part has none (all points targets, no aux, no box error)."""
    size = caches[0].input_size

    def col(get, fill):
        if all(get(k) is None for k in caches):
            return None
        return np.concatenate([get(k) if get(k) is not None else fill(k) for k in caches])

    n68 = caches[0].points.shape[1]
    return FaceCache(
        np.concatenate([k.images for k in caches]),
        np.concatenate([k.points for k in caches]),
        size,
        col(lambda k: k.box_errors, lambda k: np.full((len(k), 4), np.nan)),
        col(lambda k: k.styles, lambda k: np.zeros(len(k), np.int64)),
        col(lambda k: k.weights, lambda k: np.ones((len(k), n68), np.float32)),
        col(lambda k: k.aux, lambda k: np.full((len(k), 21, 2), np.nan, np.float32)),
        col(lambda k: k.manual, lambda k: np.ones(len(k), bool)),
    )
