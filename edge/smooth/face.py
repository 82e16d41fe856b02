"""1-euro smoothing of 68 landmarks in face-normalised coordinates.

The raw points are split into a pose (a similarity: position, size, roll) and a shape
(the points in face units, inter-ocular distance = 1). Position speed is read in face
widths per second and shape in face units, so one setting works near and far from the
mirror. The pose is averaged over 68 points and is steady, so it gets a light filter;
per-point landmarker noise lives in the shape, which gets the heavy one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.geometry import Similarity, fit_similarity
from edge.landmarks68 import interocular
from edge.shape_model import ShapeModel
from edge.smooth.one_euro import OneEuro


@dataclass(frozen=True)
class SmoothParams:
    # tuned with `edgetrack bench --truth` on the synthetic face (CNN landmarker): still jitter -83 %, +0.28 frame lag
    min_cutoff: float = 0.5  # Hz, face shape
    beta: float = 4.0
    pose_min_cutoff: float = 1.0  # Hz, position / size / roll
    pose_beta: float = 8.0
    d_cutoff: float = 1.0


def reference_shape() -> np.ndarray:
    """The mean shape, centred, inter-ocular distance 1: the frame the shape is filtered in."""
    mean = ShapeModel.load().mean.astype(np.float64)
    mean = mean - mean.mean(0)
    return mean / interocular(mean)


class _FaceFilter:
    def __init__(self, p: SmoothParams) -> None:
        self.move = OneEuro(p.pose_min_cutoff, p.pose_beta, p.d_cutoff)
        self.size = OneEuro(p.pose_min_cutoff, p.pose_beta, p.d_cutoff)  # on (log scale, roll)
        self.shape = OneEuro(p.min_cutoff, p.beta, p.d_cutoff)


class FaceSmoother:
    """One filter per track id; ids not seen in a frame are forgotten."""

    def __init__(self, params: SmoothParams | None = None, reference: np.ndarray | None = None) -> None:
        self.params = params or SmoothParams()
        self.ref = reference if reference is not None else reference_shape()
        self.filters: dict[int, _FaceFilter] = {}

    def smooth(self, face_id: int, points: np.ndarray, t: float) -> np.ndarray:
        f = self.filters.get(face_id)
        if f is None:
            f = self.filters[face_id] = _FaceFilter(self.params)
        pts = np.asarray(points, dtype=np.float64)
        sim = fit_similarity(self.ref, pts)  # face units -> pixels
        scale = max(sim.scale, 1e-6)
        shape = sim.inverse().apply(pts)  # points in face units
        t_xy = f.move(np.array([sim.tx, sim.ty]), t, speed_scale=scale)
        log_s, roll = f.size(np.array([[np.log(scale), sim.angle]]), t)[0]
        shape_s = f.shape(shape, t)
        s = float(np.exp(log_s))
        smooth_sim = Similarity(s * np.cos(roll), s * np.sin(roll), float(t_xy[0]), float(t_xy[1]))
        return smooth_sim.apply(shape_s).astype(np.float32)

    def keep_only(self, ids: set[int]) -> None:
        for gone in set(self.filters) - ids:
            del self.filters[gone]
