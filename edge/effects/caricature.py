"""Caricature: push the face's non-rigid shape parameters away from the mean by a factor,
then warp the face from its tracked shape to the exaggerated one (clmtrackr's demo)."""

from __future__ import annotations

import numpy as np

from edge.effects import parse_args, parse_float
from edge.effects.reshape import model_offsets, reshape_face, shared_model
from edge.faces import TrackedFace


class CaricatureEffect:
    name = "caricature"

    def __init__(self, factor: float = 1.8, max_sigma: float = 4.0) -> None:
        self.factor = factor
        self.max_sigma = max_sigma  # exaggerated parameters stay within this many standard deviations: no fold-overs
        self.model = shared_model()

    def target(self, points: np.ndarray) -> np.ndarray:
        """The exaggerated shape of one face (68, 2)."""

        def exaggerate(params: np.ndarray) -> np.ndarray:
            out = params * self.factor
            # clamp only what the factor pushed out of range: a face already beyond it is not pulled back
            lim = np.maximum(self.max_sigma * np.sqrt(self.model.eigenvalues), np.abs(params))
            return np.clip(out, -lim, lim)

        return model_offsets(points, exaggerate)

    def apply(self, frame: np.ndarray, faces: list[TrackedFace]) -> np.ndarray:
        for face in faces:
            reshape_face(frame, face.points, self.target(face.points))
        return frame


def create(args: str) -> CaricatureEffect:
    pos, kw = parse_args(args)
    factor = parse_float(kw.get("factor", pos[0] if pos else "1.8"), "factor", "caricature")
    max_sigma = parse_float(kw.get("max_sigma", "4"), "max_sigma", "caricature")
    if not 0.0 <= factor <= 5.0:
        raise ValueError(f"effect 'caricature': factor must be in 0..5 (1 = unchanged, 2 = twice as distinctive), got {factor}")
    return CaricatureEffect(factor, max_sigma)
