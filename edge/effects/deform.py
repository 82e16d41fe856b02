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
from edge.landmarks68 import (
    BROWS,
    CHIN,
    JAW,
    LEFT_EYE,
    MOUTH,
    MOUTH_CORNERS,
    MOUTH_LEFT,
    MOUTH_RIGHT,
    NOSE,
    NOSE_BASE,
    NOSE_BRIDGE,
    NOSE_TIP,
    NOSTRILS,
    RIGHT_EYE,
    interocular,
)


def _scale_about(mean: np.ndarray, idx, centre_idx, sx: float, sy: float) -> np.ndarray:
    d = np.zeros_like(mean)
    c = mean[list(centre_idx)].mean(0)
    d[list(idx)] = (mean[list(idx)] - c) * [sx, sy]
    return d


def _smile(mean: np.ndarray, iod: float) -> np.ndarray:
    d = np.zeros_like(mean)
    # corners out and up, the lips between them follow by how close they are to a corner
    for m, side in ((MOUTH_RIGHT, -1), (MOUTH_LEFT, 1)):
        d[[m.corner, m.inner_corner]] = [side * 0.07 * iod, -0.07 * iod]
    for m in (MOUTH_RIGHT, MOUTH_LEFT):
        for i, w in ((m.upper, 0.5), (m.lower, 0.6), (m.lower_2, 0.25), (m.inner_upper, 0.4), (m.inner_lower, 0.4)):
            side = -1 if mean[i, 0] < mean[MOUTH_CORNERS, 0].mean() else 1
            d[i] = [side * 0.04 * iod * w, -0.06 * iod * w]
    return d


def _frown(mean: np.ndarray, iod: float) -> np.ndarray:
    d = -_smile(mean, iod)
    d[:, 0] *= 0.3  # a frown narrows the mouth only slightly
    return d


def _wide_eyes(mean: np.ndarray, iod: float) -> np.ndarray:
    d = _scale_about(mean, RIGHT_EYE, RIGHT_EYE, 0.25, 0.9) + _scale_about(mean, LEFT_EYE, LEFT_EYE, 0.25, 0.9)
    d[BROWS, 1] -= 0.05 * iod  # brows go up with the lids
    return d


def _long_chin(mean: np.ndarray, iod: float) -> np.ndarray:
    d = np.zeros_like(mean)
    for i in range(CHIN - 5, CHIN + 6):
        d[i, 1] = 0.28 * iod * np.exp(-(((i - CHIN) / 2.5) ** 2))
    return d


def _big_nose(mean: np.ndarray, iod: float) -> np.ndarray:
    lower_nose = np.r_[NOSE_BRIDGE[2:], NOSTRILS]  # the bridge's lower half and the base
    return _scale_about(mean, lower_nose, [NOSE_TIP, NOSE_BASE], 0.45, 0.3)


def _small_mouth(mean: np.ndarray, iod: float) -> np.ndarray:
    return _scale_about(mean, MOUTH, MOUTH, -0.35, -0.2)


def _slim(mean: np.ndarray, iod: float) -> np.ndarray:
    d = np.zeros_like(mean)
    centre_x = mean[NOSE, 0].mean()
    for i in JAW[2:-2]:  # the jaw below the ears
        d[i, 0] = -(mean[i, 0] - centre_x) * 0.12 * min(1.0, abs(i - CHIN) / 3)
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
    iod = float(interocular(mean))
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
