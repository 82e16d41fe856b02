"""The emotion data sets (KDEF photos fitted by the runtime, CK+ shapes) and each person's neutral baseline.

Data (../shared/data, never committed):
  * kdef/    980 photos (70 people x 7 expressions x 2 sessions), tight 256x256 crops. The points
             are fitted here with the runtime (Haar detector + the default CNN landmarker,
             `edge.emotion.fit_still`), so training sees the points the device will see; cached
             under build/emotion/ (derived from the photos: never committed), keyed by the contents
             of the landmarker and box-mapping files, so a new landmarker refits them.
  * ckplus/  68-point shapes of CK+ peak frames (contempt included, which KDEF lacks) and one neutral
             frame per subject, placed by CK+'s own annotators.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edge.detect import make_detector
from edge.emotion import fit_still
from edge.landmarks import make_landmarker
from edge.paths import REPO_ROOT, model_path

log = logging.getLogger(__name__)

CACHE = REPO_ROOT / "build" / "emotion"
# the labels both sets have: the cross-set protocol trains and scores on these (CK+'s contempt is left out)
SHARED_CLASSES = ("anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise")
FIT_INPUTS = ("cnn_landmarks_int8.tflite", "box_mapping.json")  # what the KDEF points depend on (haar is OpenCV's)


@dataclass
class EmotionSet:
    name: str
    points: np.ndarray  # (N, 68, 2)
    labels: np.ndarray  # (N,) str
    subjects: np.ndarray  # (N,) str
    sessions: np.ndarray  # (N,) str ("" where the set has none)
    images: list[Path] | None = None  # the photos (KDEF), None for shapes only (CK+)
    notes: dict = field(default_factory=dict)

    def subset(self, keep: np.ndarray) -> EmotionSet:
        imgs = None if self.images is None else [p for p, k in zip(self.images, keep) if k]
        return EmotionSet(self.name, self.points[keep], self.labels[keep], self.subjects[keep], self.sessions[keep], imgs, dict(self.notes))


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def kdef_fit_key(names: list[str]) -> str:
    """Key of the cached KDEF fits: the photo list and the *contents* of the landmarker and box-mapping files,
    so a new landmarker (or box mapping) refits the photos, whatever its file times say."""
    h = hashlib.sha1("|".join(names).encode())
    for n in FIT_INPUTS:
        p = model_path(n)
        h.update(n.encode() + (hashlib.sha1(p.read_bytes()).digest() if p.is_file() else b"absent"))
    return h.hexdigest()[:16]


def load_kdef(folder: Path, cache: Path | None = None) -> EmotionSet:
    """The KDEF photos with points fitted by the runtime (cached under `cache`, default build/emotion/;
    refitted when the photo list, the landmarker or the box mapping change: `kdef_fit_key`)."""
    cache = cache or CACHE
    rows = _rows(folder / "labels.csv")
    names = [r["image"] for r in rows]
    key = kdef_fit_key(names)
    where = hashlib.sha1(str(Path(folder).resolve()).encode()).hexdigest()[:8]  # one cache per data folder
    cached = cache / f"kdef_points_{where}.npz"
    if cached.is_file():
        with np.load(cached) as z:
            if str(z["key"]) == key:
                return _kdef_set(folder, rows, z["points"], z["found"])
        log.info(f"kdef: the landmarker, box mapping or photo list changed since {cached} was fitted: refitting")
    detector, landmarker = make_detector("haar"), make_landmarker("cnn", num_threads=1)
    points, found = [], []
    for i, name in enumerate(names):
        image = cv2.imread(str(folder / "images" / name))
        if image is None:
            raise FileNotFoundError(f"{folder / 'images' / name}: missing or unreadable; check the kdef folder")
        p, ok = fit_still(image, detector, landmarker)
        points.append(p)
        found.append(ok)
        if (i + 1) % 200 == 0:
            log.info(f"kdef: fitted {i + 1}/{len(names)} photos")
    points, found = np.array(points), np.array(found)
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cached, points=points, found=found, key=key)
    return _kdef_set(folder, rows, points, found)


def _kdef_set(folder: Path, rows: list[dict[str, str]], points: np.ndarray, found: np.ndarray) -> EmotionSet:
    return EmotionSet(
        "kdef",
        np.asarray(points, dtype=np.float64),
        np.array([r["label"] for r in rows]),
        np.array([r["subject"] for r in rows]),
        np.array([r["session"] for r in rows]),
        [folder / "images" / r["image"] for r in rows],
        {"photos": len(rows), "detected": int(np.sum(found)), "crop_box_fallback": int(len(found) - np.sum(found))},
    )


def load_ckplus(folder: Path) -> EmotionSet:
    rows = _rows(folder / "shapes.csv")
    pts = np.array([[float(r[f"{a}{i}"]) for i in range(68) for a in "xy"] for r in rows]).reshape(-1, 68, 2)
    return EmotionSet(
        "ckplus",
        pts,
        np.array([r["label"] for r in rows]),
        np.array([r["subject"] for r in rows]),
        np.array([""] * len(rows)),
        None,
        {"shapes": len(rows)},
    )


def subject_baseline(d: EmotionSet, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per face, the mean features of the same person's neutral faces *other than itself*, and whether there
    is one (CK+ has one neutral frame per subject: that frame has none). What `eval-emotion --baseline
    subject` does on photos."""
    base = np.zeros_like(x)
    has = np.zeros(len(x), dtype=bool)
    neutral = d.labels == "neutral"
    for i in range(len(x)):
        same = neutral & (d.subjects == d.subjects[i])
        same[i] = False
        if same.any():
            base[i] = x[same].mean(0)
            has[i] = True
    return base, has


def training_baseline(d: EmotionSet, x: np.ndarray) -> np.ndarray:
    """The baseline each training face is taken against: the person's other neutral faces, or, for a
    person's only neutral face, itself (a neutral face against its resting face is no change: the
    relative head's neutral examples on CK+). Raises when a person has no neutral face at all."""
    base, has = subject_baseline(d, x)
    alone = ~has & (d.labels == "neutral")
    base[alone] = x[alone]
    missing = ~has & ~alone
    if missing.any():
        raise ValueError(f"{d.name}: subject {d.subjects[missing][0]} has no neutral face; every person needs one for the relative head")
    return base
