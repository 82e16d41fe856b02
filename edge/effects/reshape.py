"""Move a face from its tracked shape to a new shape in place: the one step caricature and
deformation share (the warp itself is edge.warp's; this only pins the ring and blends).

The boundary ring of the target shape is pinned to the tracked face's ring, so the warp is
the identity at the mesh's edge and nothing outside the face moves.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from edge.shape_model import ShapeModel
from edge.warp import FaceMesh, extend_points, warp_region


@lru_cache(maxsize=1)
def shared_model() -> ShapeModel:
    return ShapeModel.load()


@lru_cache(maxsize=1)
def shared_mesh() -> FaceMesh:
    """The triangulation of the extended mean face (scaled up so Delaunay works in whole pixels)."""
    return FaceMesh(shared_model().mean * 100.0 + 200.0)


def _signed_areas(pts: np.ndarray, tris: np.ndarray) -> np.ndarray:
    a, b, c = pts[tris[:, 0]], pts[tris[:, 1]], pts[tris[:, 2]]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def fold_free(src_ext: np.ndarray, dst_ext: np.ndarray, tris: np.ndarray, min_ratio: float = 0.15) -> np.ndarray:
    """`dst_ext`, pulled back towards `src_ext` just enough that no triangle flips or collapses:
    a flipped triangle overlaps its neighbour and shows as a torn, saw-toothed edge."""
    before = _signed_areas(src_ext, tris)
    step = dst_ext - src_ext
    t = 1.0
    for _ in range(8):
        after = _signed_areas(src_ext + t * step, tris)
        if np.all(after * np.sign(before) >= min_ratio * np.abs(before)):
            return src_ext + t * step
        t *= 0.7
    return src_ext.copy()


def reshape_face(frame: np.ndarray, points: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Warp the face region of `frame` (in place) so `points` (68, 2) move to `target` (68, 2)
    (or as far towards it as the mesh allows without folding).

    The ring is pinned, so the warp is continuous and the identity along the mesh's edge:
    copying the covered pixels leaves no seam, and needs no feathered blend (half the cost)."""
    tris = shared_mesh().triangles
    src = extend_points(points)
    dst = fold_free(src, extend_points(target, ring_from=points), tris)
    h, w = frame.shape[:2]
    region = warp_region(frame, src, dst, tris, (w, h))
    rh, rw = region.mask.shape
    if rh == 0 or rw == 0:
        return frame
    roi = frame[region.y0 : region.y0 + rh, region.x0 : region.x0 + rw]
    cv2.copyTo(region.image, region.mask, roi)  # in place: roi is a view of frame
    return frame


def model_offsets(points: np.ndarray, new_params) -> np.ndarray:
    """Target points: the tracked points plus the change the model makes when its parameters
    go from the fitted ones to `new_params(params)`; the fit's residual (what the model
    cannot express) is kept, so an unchanged parameter vector gives the tracked points back."""
    model = shared_model()
    pts = np.asarray(points, dtype=np.float64)
    sim, params = model.fit(pts)
    changed = new_params(params)
    return pts + sim.apply(model.reconstruct(changed)) - sim.apply(model.reconstruct(params))
