"""AFLW's 21-point markup (`../shared/data/aflw21`): reader, mirror permutation, its places in the 68-point markup, split.

AFLW was marked by its own annotators with its own conventions (the eye point is the pupil,
the nose sides sit on the alae), so it is a markup of its own: the CNN learns it through a
head of its own (training only), and `edgetrack eval` scores a 68-point landmarker on it
only at the places both markups share (`COMMON_68`), normalised by the face box, per yaw bin.

Pure numpy/OpenCV: the device's `edgetrack eval` reads it too.
"""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.data.readers import FaceSample
from edge.data.split import Split, load_or_make_split
from edge.geometry import Box, fit_similarity

N_AFLW = 21
CROP_SIDE = 120  # every image is a 120x120 grey crop around the face
VAL_FRACTION = 0.1  # by image name (AFLW has no identity labels); 1,176 faces are enough per yaw bin
YAW_BINS = ((0.0, 30.0), (30.0, 45.0), (45.0, 180.0))  # |yaw| in degrees, AFLW's own estimate

# Image-left first: 0-2 brow (outer, centre, inner), 3-5 other brow (inner, centre, outer), 6-8 eye (outer,
# centre, inner), 9-11 other eye (inner, centre, outer), 12 ear lobe, 13 nose side, 14 nose tip, 15 other nose
# side, 16 other ear lobe, 17 mouth corner, 18 mouth centre, 19 other mouth corner, 20 chin.
FLIP_AFLW = np.array([5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6, 16, 15, 14, 13, 12, 19, 18, 17, 20])
FLIP_AFLW.setflags(write=False)

# The AFLW points that are the same place as a 68-point one: brow ends and centres, eye corners, mouth
# corners, chin (the 13 the teacher check uses). The pupil, alae, ear lobes and lip centre are not.
COMMON_AFLW = np.array([0, 1, 2, 3, 4, 5, 6, 8, 9, 11, 17, 19, 20])
COMMON_68 = np.array([17, 19, 21, 22, 24, 26, 36, 39, 42, 45, 48, 54, 8])
COMMON_AFLW.setflags(write=False)
COMMON_68.setflags(write=False)


@dataclass(frozen=True)
class AflwFace:
    """One AFLW face: its crop's name in images.zip, AFLW's yaw estimate (degrees), 21 points (NaN: not visible)."""

    name: str
    yaw_deg: float
    points: np.ndarray  # (21, 2) float32, crop pixels, 0-based


def load_aflw21(folder: Path | str) -> list[AflwFace]:
    """Every face of `landmarks21.csv` in `folder`; a missing folder or file is a one-line error."""
    csv_path = Path(folder) / "landmarks21.csv"
    if not csv_path.is_file():
        raise FileNotFoundError(f"{csv_path} not found; point --data at the aflw21 folder (../shared/data/aflw21)")
    faces = []
    with csv_path.open(newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        if header[:2] != ["image", "yaw_deg"] or len(header) != 2 + 2 * N_AFLW:
            raise ValueError(f"{csv_path}: header is not image,yaw_deg,x0,y0,...,x20,y20")
        for row in rows:
            pts = np.array([float(v) if v else np.nan for v in row[2:]], np.float32).reshape(N_AFLW, 2)
            faces.append(AflwFace(row[0], float(row[1]), pts))
    return faces


class AflwImages:
    """The grey crops, read straight from the uncompressed images.zip (no unzip step)."""

    def __init__(self, folder: Path | str) -> None:
        path = Path(folder) / "images.zip"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; point --data at the aflw21 folder (../shared/data/aflw21)")
        self._zip = zipfile.ZipFile(path)

    def read(self, name: str) -> np.ndarray:
        """(120, 120) uint8 grey crop."""
        data = np.frombuffer(self._zip.read(name), np.uint8)
        img = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise ValueError(f"aflw21 image {name} is not a readable JPEG")
        return img

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> AflwImages:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def flip_aflw(points: np.ndarray, width: int = CROP_SIDE) -> np.ndarray:
    """Mirror (..., 21, 2) AFLW points in an image `width` wide, keeping each point's meaning."""
    out = np.array(points, copy=True)
    out[..., 0] = (width - 1) - out[..., 0]
    return out[..., FLIP_AFLW, :]


def aflw_split(folder: Path | str, faces: list[AflwFace]) -> Split:
    """The recorded split (models/splits/aflw21.json), made by image name on first use (10% val)."""
    stubs = [FaceSample(Path(folder) / "images" / f.name, np.zeros((68, 2), np.float32)) for f in faces]
    return load_or_make_split(folder, stubs, val_fraction=VAL_FRACTION)


def load_aflw21_part(folder: Path | str, part: str) -> list[AflwFace]:
    """The faces of the recorded split's `part` ('train' or 'val'), in the file's order."""
    if part not in ("train", "val"):
        raise ValueError(f"aflw21 split part must be 'train' or 'val', not {part!r}")
    faces = load_aflw21(folder)
    names = set(getattr(aflw_split(folder, faces), part))
    return [f for f in faces if f.name in names]


def yaw_bin(yaw_deg: float) -> int:
    """Index into YAW_BINS of |yaw|."""
    a = abs(yaw_deg)
    return next(i for i, (lo, hi) in enumerate(YAW_BINS) if lo <= a < hi)


def box_size(points: np.ndarray) -> float:
    """sqrt(w * h) of the visible points' box: the normaliser of the aflw21 NME (no inter-ocular on profiles)."""
    p = points[np.isfinite(points[:, 0])]
    w, h = np.ptp(p, axis=0)
    return float(np.sqrt(max(w, 1.0) * max(h, 1.0)))


def framing_points(manual21: np.ndarray, mean68: np.ndarray) -> np.ndarray:
    """A 68-point shape (`mean68`, any scale) laid on a face's visible AFLW points at the shared places by a
    similarity fit: where a crop or box for this face goes when none of its 68 points are known."""
    src, dst = np.asarray(mean68, np.float64)[COMMON_68], manual21[COMMON_AFLW].astype(np.float64)
    ok = np.isfinite(dst[:, 0])
    return fit_similarity(src[ok], dst[ok]).apply(np.asarray(mean68, np.float64))


def face_box(manual21: np.ndarray, mean68: np.ndarray) -> Box:
    """The 68-point landmark box (the box every landmarker is fitted from) of an AFLW face, from its own points."""
    return Box.around(framing_points(manual21, mean68))
