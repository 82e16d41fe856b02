"""Face deformation: named presets (a bigger smile, wider eyes, a longer chin, ...) and free
offsets on the shape model's parameters, all through the same warp as the caricature.

Presets are displacement fields in the mean face's frame (units of its inter-ocular
distance), turned into image pixels by the face's fitted similarity, so they are local
(a wider eye does not drag the jaw) and follow the face's size and roll. Free offsets
`pN=S` move shape parameter N by S standard deviations.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edge.effects import parse_args, parse_float
from edge.effects.reshape import model_offsets, reshape_face, shared_model
from edge.faces import TrackedFace
from edge.geometry import fit_similarity


def _scale_about(mean: np.ndarray, idx, centre_idx, sx: float, sy: float) -> np.ndarray:
    d = np.zeros_like(mean)
    c = mean[list(centre_idx)].mean(0)
    d[list(idx)] = (mean[list(idx)] - c) * [sx, sy]
    return d


def _smile(mean: np.ndarray, iod: float) -> np.ndarray:
    d = np.zeros_like(mean)
    # corners out and up, the lips between them follow by how close they are to a corner
    for corner, inner, side in ((48, 60, -1), (54, 64, 1)):
        d[[corner, inner]] = [side * 0.07 * iod, -0.07 * iod]
    for i, w in ((49, 0.5), (53, 0.5), (59, 0.6), (55, 0.6), (58, 0.25), (56, 0.25), (61, 0.4), (63, 0.4), (67, 0.4), (65, 0.4)):
        side = -1 if mean[i, 0] < mean[[48, 54], 0].mean() else 1
        d[i] = [side * 0.04 * iod * w, -0.06 * iod * w]
    return d


def _frown(mean: np.ndarray, iod: float) -> np.ndarray:
    d = -_smile(mean, iod)
    d[:, 0] *= 0.3  # a frown narrows the mouth only slightly
    return d


def _wide_eyes(mean: np.ndarray, iod: float) -> np.ndarray:
    d = _scale_about(mean, range(36, 42), range(36, 42), 0.25, 0.9) + _scale_about(mean, range(42, 48), range(42, 48), 0.25, 0.9)
    d[17:27, 1] -= 0.05 * iod  # brows go up with the lids
    return d


def _long_chin(mean: np.ndarray, iod: float) -> np.ndarray:
    d = np.zeros_like(mean)
    for i in range(3, 14):
        d[i, 1] = 0.28 * iod * np.exp(-(((i - 8) / 2.5) ** 2))
    return d


def _big_nose(mean: np.ndarray, iod: float) -> np.ndarray:
    return _scale_about(mean, range(29, 36), [30, 33], 0.45, 0.3)


def _small_mouth(mean: np.ndarray, iod: float) -> np.ndarray:
    return _scale_about(mean, range(48, 68), range(48, 68), -0.35, -0.2)


def _slim(mean: np.ndarray, iod: float) -> np.ndarray:
    d = np.zeros_like(mean)
    centre_x = mean[27:36, 0].mean()
    for i in range(2, 15):
        d[i, 0] = -(mean[i, 0] - centre_x) * 0.12 * min(1.0, abs(i - 8) / 3)
    return d


PRESETS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "smile": _smile,
    "frown": _frown,
    "wide_eyes": _wide_eyes,
    "long_chin": _long_chin,
    "big_nose": _big_nose,
    "small_mouth": _small_mouth,
    "slim": _slim,
}


def preset_field(name: str, strength: float = 1.0) -> np.ndarray:
    """Displacement (68, 2) of a preset in the mean face's frame."""
    mean = shared_model().mean
    iod = float(np.linalg.norm(mean[45] - mean[36]))
    return PRESETS[name](mean, iod) * strength


class DeformEffect:
    name = "deform"

    def __init__(self, presets: dict[str, float] | None = None, param_offsets: dict[int, float] | None = None) -> None:
        self.model = shared_model()
        self.field = np.zeros_like(self.model.mean)
        for name, strength in (presets or {}).items():
            self.field += preset_field(name, strength)
        self.offsets = np.zeros(self.model.n_params)
        for k, sigma in (param_offsets or {}).items():
            self.offsets[k] = sigma * np.sqrt(self.model.eigenvalues[k])

    def target(self, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64)
        out = model_offsets(pts, lambda p: p + self.offsets) if self.offsets.any() else pts.copy()
        sim = fit_similarity(self.model.mean, pts)
        lin = sim.matrix()[:, :2]  # rotation and scale of the face
        return out + self.field @ lin.T

    def apply(self, frame: np.ndarray, faces: list[TrackedFace]) -> np.ndarray:
        for face in faces:
            reshape_face(frame, face.points, self.target(face.points))
        return frame


def create(args: str) -> DeformEffect:
    pos, kw = parse_args(args)
    usage = f"use deform:PRESET[,PRESET=STRENGTH][,pN=SIGMAS] with PRESET one of {', '.join(PRESETS)}"
    presets: dict[str, float] = {}
    offsets: dict[int, float] = {}
    n_params = shared_model().n_params
    for name in pos:
        if name.lower() not in PRESETS:
            raise ValueError(f"effect 'deform': unknown preset {name!r}; {usage}")
        presets[name.lower()] = 1.0
    for key, value in kw.items():
        if key in PRESETS:
            presets[key] = parse_float(value, f"strength of {key}", "deform")
        elif key.startswith("p") and key[1:].isdigit():
            k = int(key[1:])
            if k >= n_params:
                raise ValueError(f"effect 'deform': shape parameter {key} does not exist (the model has p0..p{n_params - 1})")
            offsets[k] = parse_float(value, key, "deform")
        else:
            raise ValueError(f"effect 'deform': unknown argument {key!r}; {usage}")
    if not presets and not offsets:
        presets = {"smile": 1.0}
    return DeformEffect(presets, offsets)
