"""Move a face from its tracked shape to a new shape in place: the one step caricature and
deformation share (the warp itself is edge.warp's; this only pins the ring and blends).

The boundary ring of the target shape is pinned to the tracked face's ring, so the warp is
the identity at the mesh's edge and nothing outside the face moves; a feathered mask hides
the last pixel of the edge.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from edge.shape_model import ShapeModel
from edge.warp import FaceMesh, extend_points, feather, paste, warp_region


@lru_cache(maxsize=1)
def shared_model() -> ShapeModel:
    return ShapeModel.load()


@lru_cache(maxsize=1)
def shared_mesh() -> FaceMesh:
    """The triangulation of the extended mean face (scaled up so Delaunay works in whole pixels)."""
    return FaceMesh(shared_model().mean * 100.0 + 200.0)


def reshape_face(frame: np.ndarray, points: np.ndarray, target: np.ndarray, feather_px: int = 2) -> np.ndarray:
    """Warp the face region of `frame` (in place) so `points` (68, 2) move to `target` (68, 2)."""
    src = extend_points(points)
    dst = extend_points(target, ring_from=points)
    h, w = frame.shape[:2]
    region = warp_region(frame, src, dst, shared_mesh().triangles, (w, h))
    if region.mask.size == 0:
        return frame
    return paste(frame, region, feather(region.mask, feather_px))


def model_offsets(points: np.ndarray, new_params) -> np.ndarray:
    """Target points: the tracked points plus the change the model makes when its parameters
    go from the fitted ones to `new_params(params)`; the fit's residual (what the model
    cannot express) is kept, so an unchanged parameter vector gives the tracked points back."""
    model = shared_model()
    pts = np.asarray(points, dtype=np.float64)
    sim, params = model.fit(pts)
    changed = new_params(params)
    return pts + sim.apply(model.reconstruct(changed)) - sim.apply(model.reconstruct(params))
