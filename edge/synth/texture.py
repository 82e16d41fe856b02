"""The learned mean-face texture and the reference shape it is aligned to.

`edgetrack train texture` (convert/texture.py) writes models/mean_face.png and
models/mean_face.json; the renderer warps that texture from the reference points
onto every synthetic shape. The feathered alpha is derived here from the points, so
the artifact stays a plain colour PNG and the face edge can be tuned without retraining.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.landmarks68 import N_POINTS, interocular
from edge.paths import model_path, require_file
from edge.warp import N_FOREHEAD, FaceMesh, extend_points

TEXTURE_FILE = "mean_face.png"
TEXTURE_META = "mean_face.json"
TEXTURE_SIZE = 256
TEXTURE_IOD = 90.0  # outer eye-corner distance (edge.landmarks68.interocular) in texture pixels


def reference_points(mean_shape: np.ndarray, size: int = TEXTURE_SIZE, iod: float = TEXTURE_IOD) -> np.ndarray:
    """The mean shape scaled to `iod` pixels between the outer eye corners and centred so that
    the face and forehead (which sit higher than the 68 points) fit inside a `size` square."""
    mean = np.asarray(mean_shape, dtype=np.float64)
    s = iod / interocular(mean)
    pts = mean * s
    ext = extend_points(pts)[: N_POINTS + N_FOREHEAD]
    lo, hi = ext.min(0), ext.max(0)
    return pts + (size / 2.0 - (lo + hi) / 2.0)


def face_alpha(points: np.ndarray, size: int, feather_px: float) -> np.ndarray:
    """Soft 0..1 mask of the face: the hull of jaw, brows and forehead, blurred at its edge so the
    pasted face fades into whatever is behind it instead of showing a cut-out seam."""
    ext = extend_points(points)[: N_POINTS + N_FOREHEAD]
    hull = cv2.convexHull(np.round(ext * 4).astype(np.int32))
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, hull, 255, lineType=cv2.LINE_AA, shift=2)
    # shrink a little so the blur's outer half does not reach past the hull, then blur
    r = max(1, int(round(feather_px * 0.5)))
    mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), feather_px / 2.0)
    return np.clip(alpha, 0.0, 1.0)


@dataclass(frozen=True)
class MeanFace:
    """Texture (BGR uint8), its alpha (float32 0..1), the 68 reference points and the extended mesh."""

    image: np.ndarray
    alpha: np.ndarray
    points: np.ndarray  # (68, 2) float64 in texture pixels
    extended: np.ndarray  # (68 + forehead + ring, 2)
    triangles: np.ndarray  # (T, 3) int32, only those the face alpha touches
    margin: float  # how far (texture pixels) the feathered alpha reaches beyond the face hull

    @classmethod
    def load(cls, folder: Path | None = None, feather_px: float = 9.0) -> MeanFace:
        png = Path(folder) / TEXTURE_FILE if folder else model_path(TEXTURE_FILE)
        meta = png.with_name(TEXTURE_META)
        fix = "run `edgetrack train texture` (or `make models`) to build it"
        require_file(png, "mean face texture", fix)
        require_file(meta, "mean face reference points", fix)
        image = cv2.imread(str(png), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{png} is not a readable image; rebuild it with `edgetrack train texture`")
        points = np.asarray(json.loads(meta.read_text())["points"], dtype=np.float64)
        if points.shape != (N_POINTS, 2):
            raise ValueError(f"{meta}: 'points' must be 68 (x, y) pairs; rebuild it with `edgetrack train texture`")
        alpha = face_alpha(points, image.shape[0], feather_px)
        ext = extend_points(points)
        tris = FaceMesh(points).triangles
        return cls(image, alpha, points, ext, _touching(tris, ext, alpha), _reach(ext, alpha))


def _reach(ext: np.ndarray, alpha: np.ndarray) -> float:
    """Largest distance from the face hull (68 points + forehead) to a pixel with visible alpha."""
    hull = cv2.convexHull(np.round(ext[: N_POINTS + N_FOREHEAD]).astype(np.int32))
    inside = np.zeros(alpha.shape, np.uint8)
    cv2.fillConvexPoly(inside, hull, 255)
    dist = cv2.distanceTransform(255 - inside, cv2.DIST_L2, 3)
    visible = alpha > 1.0 / 512
    return float(dist[visible].max()) if visible.any() else 0.0


def _touching(tris: np.ndarray, ext: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Triangles that cover any non-zero alpha: warping only these keeps the per-frame region small."""
    keep = []
    h, w = alpha.shape
    for t in tris:
        m = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(m, np.round(ext[t] * 4).astype(np.int32), 1, shift=2)
        if (alpha[m > 0] > 1e-3).any():
            keep.append(t)
    return np.asarray(keep, dtype=np.int32)
