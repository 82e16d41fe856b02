"""Near-duplicate check: is any validation face of 300w-train or ytf68 also among the extra training faces?

AFLW and 300-W's LFPW/HELEN both come from Flickr, so the same photo can sit in both; a val face
seen in training scores a memory. Each face is aligned by a similarity on its eye and mouth
corners to one canonical 32x32 grey patch, normalised to zero mean and unit norm; a pair whose
correlation is above `THRESHOLD` is the same photo (a different photo of even the same person
at another moment correlates far less: light, pose and expression differ).

`python -m convert.cnn.duplicates` prints the closest pairs, writes those above the threshold to
build/cnn/near_duplicates.json and exits 1 when there are any (`make models` runs it before training
on the extra faces, so a changed data folder cannot leak val faces into training unnoticed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

from convert.training_data import training_samples
from edge.data import load_image
from edge.data.aflw21 import AflwImages, load_aflw21_part
from edge.geometry import fit_similarity
from edge.imaging import to_grey
from edge.paths import data_root
from edge.shape_model import ShapeModel

SIDE = 32
THRESHOLD = 0.97  # the closest pair found is 0.931, two different people (the top six looked at); a re-saved copy is ~0.99
CORNERS_68 = np.array([36, 39, 42, 45, 48, 54])
CORNERS_AFLW = np.array([6, 8, 9, 11, 17, 19])
OUT = Path("build/cnn/near_duplicates.json")


def _canonical() -> np.ndarray:
    mean = ShapeModel.load().mean[CORNERS_68]
    lo, hi = mean.min(0), mean.max(0)
    return (mean - (lo + hi) / 2) / (hi - lo).max() * (0.6 * SIDE) + (SIDE - 1) / 2


def patch(grey: np.ndarray, corners: np.ndarray, canonical: np.ndarray) -> np.ndarray | None:
    """Zero-mean unit-norm vector of the face aligned on its visible corners (None: fewer than 4)."""
    ok = np.isfinite(corners[:, 0])
    if ok.sum() < 4:
        return None
    m = fit_similarity(corners[ok], canonical[ok]).matrix()
    p = cv2.warpAffine(grey, m, (SIDE, SIDE), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE).astype(np.float32).ravel()
    p -= p.mean()
    n = np.linalg.norm(p)
    return p / n if n > 1e-3 else None


def val_patches(canonical: np.ndarray) -> tuple[list[str], np.ndarray]:
    names, rows = [], []
    for s in training_samples(None, "val"):
        img = load_image(s.image_path)
        v = None if img is None else patch(to_grey(img), s.points[CORNERS_68].astype(np.float64), canonical)
        if v is not None:
            names.append(f"{s.image_path.parent.parent.name}/{s.name}")
            rows.append(v)
    return names, np.stack(rows)


def main() -> int:
    canonical = _canonical()
    val_names, val = val_patches(canonical)
    found: list[dict] = []
    folder = data_root() / "aflw21"
    cands, vecs = [], []
    with AflwImages(folder) as images:
        for f in load_aflw21_part(folder, "train"):
            v = patch(images.read(f.name), f.points[CORNERS_AFLW].astype(np.float64), canonical)
            if v is not None:
                cands.append(f"aflw21/{f.name}")
                vecs.append(v)
    teacher = Path("build/cnn/teacher_labels.npz")
    if teacher.is_file():  # KDEF faces have no manual points: aligned on the teacher's
        with np.load(teacher) as z:
            for name, pts in zip(z["kdef_names"], z["kdef_points"]):
                img = load_image(data_root() / "kdef" / "images" / str(name))
                if img is not None and np.isfinite(pts[CORNERS_68]).all():
                    v = patch(to_grey(img), pts[CORNERS_68].astype(np.float64), canonical)
                    if v is not None:
                        cands.append(f"kdef/{name}")
                        vecs.append(v)
    corr = np.stack(vecs) @ val.T
    best = corr.max(1)
    order = np.argsort(-best)
    for i in order[:10]:
        j = int(corr[i].argmax())
        print(f"  {best[i]:.3f}  {cands[i]}  ~  {val_names[j]}", file=sys.stderr)
    for i in np.flatnonzero(best > THRESHOLD):
        found.append({"train": cands[i], "val": val_names[int(corr[i].argmax())], "corr": round(float(best[i]), 4)})
    print(
        f"{len(cands)} extra training faces against {len(val_names)} val faces: {len(found)} above {THRESHOLD} "
        f"(closest {best.max():.3f}; 99.9th percentile {np.percentile(best, 99.9):.3f})",
        file=sys.stderr,
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"threshold": THRESHOLD, "pairs": found}, indent=1))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
