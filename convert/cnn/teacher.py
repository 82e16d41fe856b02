"""Teacher labels: dlib's 68-point predictor on faces that have no 68-point markup, kept only where checks agree.

dlib's ERT predictor was fitted on 3,148 sharp 300-W photos at full resolution; on sharp faces it
has never seen it sits near 2.6% NME, the precision the CNN lacks on sharp faces. Its points
on the aflw21 crops and the KDEF photos are 68-point labels in the 300-W markup for faces the
CNN has never seen, as long as they are right. Two gates decide that:

* **flip**: the teacher run on the mirrored image, mirrored back, must land where it did on the
  straight one (a teacher that is lost answers differently each way);
* **manual**: on aflw21, its points at the 13 places both markups share (edge/data/aflw21.py
  COMMON_68) must lie near AFLW's own annotators' points, after the markups' mean offset at each
  place (measured on all faces, in the face's own frame) is taken out.

Workstation only (dlib is in `edgetrack[peers]`); the device never runs it. The labels and the
count each gate keeps go to one .npz (`build/cnn/teacher_labels.npz`), which training reads.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from edge.data import flip_points, load_image
from edge.data.aflw21 import COMMON_68, COMMON_AFLW, AflwImages, load_aflw21_part
from edge.landmarks68 import interocular

UPSCALE = 2  # aflw21 crops are 120 px; dlib's HOG finds faces from ~80 px, its predictor was fitted on larger ones
FLIP_GATE = 0.06  # mean distance between the straight and mirrored teacher answers, in IOD
MANUAL_GATE = 0.10  # mean distance to AFLW's own points at the shared places (mean offset removed), in IOD


class Teacher:
    """dlib's detector and 68-point predictor (loaded from face-recognition-models)."""

    def __init__(self) -> None:
        import dlib  # type: ignore  (workstation only: edgetrack[peers])

        from edge.landmarks.peers import dlib_predictor_path

        self._dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(dlib_predictor_path()))

    def detect(self, grey: np.ndarray) -> tuple[float, float, float, float] | None:
        """The HOG face nearest the image centre as (left, top, right, bottom), or None."""
        rects = self.detector(grey, 0)
        if not rects:
            return None
        h, w = grey.shape
        r = min(rects, key=lambda r: ((r.left() + r.right()) / 2 - w / 2) ** 2 + ((r.top() + r.bottom()) / 2 - h / 2) ** 2)
        return float(r.left()), float(r.top()), float(r.right()), float(r.bottom())

    def points(self, grey: np.ndarray, rect: tuple[float, float, float, float]) -> np.ndarray:
        l, t, r, b = (int(round(v)) for v in rect)
        shape = self.predictor(grey, self._dlib.rectangle(l, t, r, b))
        return np.array([[p.x, p.y] for p in shape.parts()], np.float64)

    def both_ways(self, grey: np.ndarray, rect: tuple[float, float, float, float]) -> tuple[np.ndarray, float]:
        """Points on the image and the flip disagreement (mean distance in IOD of the straight answer)."""
        w = grey.shape[1]
        straight = self.points(grey, rect)
        l, t, r, b = rect
        mirrored = self.points(np.ascontiguousarray(grey[:, ::-1]), ((w - 1) - r, t, (w - 1) - l, b))
        back = flip_points(mirrored, w)
        d = float(np.linalg.norm(straight - back, axis=1).mean() / max(interocular(straight), 1e-6))
        return straight, d


def _crop_rect(side: int) -> tuple[float, float, float, float]:
    """Where dlib's box sits in an aflw21 crop when HOG finds nothing (the median of the boxes it found on 264 of 300 random crops)."""
    return (0.146 * side, 0.063 * side, 0.879 * side, 0.808 * side)


def label_aflw(folder: Path, teacher: Teacher, progress: bool = True) -> dict[str, np.ndarray]:
    """Teacher points (in 120 px crop pixels) on the train part of aflw21, with both gates' measures."""
    faces = load_aflw21_part(folder, "train")
    n = len(faces)
    pts = np.full((n, 68, 2), np.nan)
    flip_d = np.full(n, np.inf)
    found = np.zeros(n, bool)
    t0 = time.perf_counter()
    with AflwImages(folder) as images:
        for i, face in enumerate(faces):
            grey = images.read(face.name)
            big = cv2.resize(grey, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC)
            rect = teacher.detect(big)
            found[i] = rect is not None
            p, flip_d[i] = teacher.both_ways(big, rect or _crop_rect(big.shape[0]))
            pts[i] = (p + 0.5) / UPSCALE - 0.5
            if progress and (i + 1) % 500 == 0:
                rate = (i + 1) / (time.perf_counter() - t0)
                print(f"  aflw21 teacher {i + 1}/{n} ({rate:.0f} faces/s, ~{(n - i - 1) / rate / 60:.1f} min left)", file=sys.stderr)
    manual = np.stack([f.points for f in faces])
    manual_d = manual_disagreement(pts, manual)
    return {
        "aflw_names": np.array([f.name for f in faces]),
        "aflw_yaw": np.array([f.yaw_deg for f in faces]),
        "aflw_points": pts.astype(np.float32),
        "aflw_hog_found": found,
        "aflw_flip_d": flip_d,
        "aflw_manual_d": manual_d,
    }


def _face_frame(pts68: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(origin (n,2), x axis (n,2), y axis (n,2)) of each face: eye-corner midpoint, eye line, IOD units."""
    a, b = pts68[:, 36], pts68[:, 45]
    ex = (b - a) / np.maximum(np.linalg.norm(b - a, axis=1, keepdims=True), 1e-6) ** 2
    ey = np.stack([-ex[:, 1], ex[:, 0]], 1)
    return (a + b) / 2, ex, ey


def manual_disagreement(teacher68: np.ndarray, manual21: np.ndarray) -> np.ndarray:
    """Mean distance (IOD) between the teacher's and AFLW's points at the shared places, each place's
    median offset between the markups (in the face's own frame) taken out; inf where fewer than 8 are visible."""
    t = teacher68[:, COMMON_68]
    m = manual21[:, COMMON_AFLW].astype(np.float64)
    origin, ex, ey = _face_frame(teacher68)
    d = m - t
    local = np.stack([(d * ex[:, None]).sum(-1), (d * ey[:, None]).sum(-1)], -1)  # in IOD, face frame
    offset = np.nanmedian(local, axis=0)
    resid = np.linalg.norm(local - offset, axis=-1)
    visible = np.isfinite(resid)
    out = np.where(visible.sum(1) >= 8, np.nanmean(np.where(visible, resid, np.nan), axis=1), np.inf)
    return out


def label_kdef(folder: Path, teacher: Teacher, progress: bool = True) -> dict[str, np.ndarray]:
    """Teacher points on the KDEF photos (256 px tight crops: jaw points outside the photo are left out, NaN)."""
    with (folder / "labels.csv").open(newline="") as f:
        names = [row["image"] for row in csv.DictReader(f)]
    n = len(names)
    pts = np.full((n, 68, 2), np.nan)
    flip_d = np.full(n, np.inf)
    for i, name in enumerate(names):
        img = load_image(folder / "images" / name)
        if img is None:
            continue
        grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        rect = teacher.detect(grey)
        if rect is None:
            continue
        p, flip_d[i] = teacher.both_ways(grey, rect)
        h, w = grey.shape
        outside = (p[:, 0] < 0) | (p[:, 1] < 0) | (p[:, 0] > w - 1) | (p[:, 1] > h - 1)
        p[outside] = np.nan
        pts[i] = p
        if progress and (i + 1) % 200 == 0:
            print(f"  kdef teacher {i + 1}/{n}", file=sys.stderr)
    return {"kdef_names": np.array(names), "kdef_points": pts.astype(np.float32), "kdef_flip_d": flip_d}


def gate_counts(labels: dict[str, np.ndarray]) -> dict[str, int]:
    """How many faces each gate keeps (the closing figures of `edgetrack train teacher`)."""
    a_flip = labels["aflw_flip_d"] < FLIP_GATE
    a_man = labels["aflw_manual_d"] < MANUAL_GATE
    k_flip = labels["kdef_flip_d"] < FLIP_GATE
    return {
        "aflw21 train faces": int(len(a_flip)),
        "aflw21 HOG found": int(labels["aflw_hog_found"].sum()),
        "aflw21 flip gate": int(a_flip.sum()),
        "aflw21 manual gate": int(a_man.sum()),
        "aflw21 both gates (kept)": int((a_flip & a_man).sum()),
        "kdef photos": int(len(k_flip)),
        "kdef HOG found": int(np.isfinite(labels["kdef_flip_d"]).sum()),
        "kdef flip gate (kept)": int(k_flip.sum()),
    }


def kept(labels: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(aflw kept mask, kdef kept mask) by both gates."""
    return (labels["aflw_flip_d"] < FLIP_GATE) & (labels["aflw_manual_d"] < MANUAL_GATE), labels["kdef_flip_d"] < FLIP_GATE


DEFAULT_LABELS = Path("build/cnn/teacher_labels.npz")


def add_arguments(p) -> None:
    from edge.paths import data_root

    p.add_argument("--aflw21", type=Path, default=data_root() / "aflw21", help="the aflw21 folder (its train part is labelled)")
    p.add_argument("--kdef", type=Path, default=data_root() / "kdef", help="the KDEF folder")
    p.add_argument("--out", type=Path, default=DEFAULT_LABELS, help=f"labels file to write (default {DEFAULT_LABELS})")


def main(args) -> int:
    if args.out.exists():
        raise ValueError(f"{args.out} already exists; remove it or pass --out with a new name (a run never overwrites it)")
    for folder in (args.aflw21, args.kdef):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} not found; pass --aflw21/--kdef or set EDGETRACK_DATA")
    teacher = Teacher()
    labels = label_aflw(args.aflw21, teacher) | label_kdef(args.kdef, teacher)
    counts = gate_counts(labels)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".partial.npz")
    np.savez_compressed(partial, **labels, counts=json.dumps(counts))
    partial.rename(args.out)
    for k, v in counts.items():
        print(f"  {k}: {v}", file=sys.stderr)
    print(f"teacher labels -> {args.out}; next: edgetrack train cnn --teacher {args.out} --aflw21 ...", file=sys.stderr)
    return 0
