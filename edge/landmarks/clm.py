"""`clm`: the constrained local model landmarker (patch experts + regularized landmark mean-shift).

fit() starts from the mean shape in the box (and, since a box cannot tell, from faces turned
left and right: the start whose responses fit best goes on) and runs every expert level, once per box
scale (`box_scales`: a detector's box is often 10 % off in size, which the coarse level cannot always
undo); the fit whose final responses agree best with its points wins. track() starts from
the previous points' shape parameters and runs the finest level only; refine() is the entry
point for `cnn+clm`: start from given points, keep the fit under the shape prior.

`experts=` picks an expert type (raw, sobel, lbp, blend, joint, mosse; see edge.clm.model.EXPERT_TYPES) by its
file (`experts_file`); the landmarker is then named `clm:<type>` so a comparison run tells them apart.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.clm.fitter import CLMFitter, fit_from_box, schedules, start_from_points
from edge.clm.model import FaceScore, PatchExperts, experts_file, tflite_path
from edge.clm.response import FloatResponses, TFLiteResponses
from edge.clm.result import CLMFitResult
from edge.geometry import Box
from edge.landmarks.base import LandmarkResult

BACKENDS = ("tflite", "tflite-float", "float")  # int8 TFLite (default), float32 TFLite, numba float reference
BOX_SCALES = (1.0, 0.88, 1.12)  # box sizes a fit from a box tries (measured: models/cards/clm.md)


class CLMLandmarker:
    name = "clm"
    scores_faces = True  # the score is the face score model's P(face) on the fitted points (the tracker's first judge)

    def __init__(
        self,
        model_path: str | Path | None = None,
        backend: str = "tflite",
        num_threads: int = 1,
        score_path: str | Path | None = None,
        reg: float = 2.0,
        yaw_starts: float = 1.5,
        experts: str | None = None,
        box_scales: tuple[float, ...] = BOX_SCALES,
    ) -> None:
        """model_path: a clm_patches*.npz (its TFLite files are looked up beside it, named after it);
        experts: an expert type instead of a path (the shipped file when it is that type, else build/clm/)."""
        if backend not in BACKENDS:
            raise ValueError(f"unknown CLM backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
        if experts and model_path:
            raise ValueError("pass the CLM either a model file or an expert type (--clm-experts), not both")
        if experts:
            model_path = experts_file(experts)
            self.name = f"clm:{experts}"
        self.experts = PatchExperts.load(model_path)
        if experts and self.experts.type != experts:
            raise ValueError(f"{model_path} holds {self.experts.type} experts, not {experts}; rebuild it with `edgetrack train clm`")
        if backend.startswith("tflite"):
            folder = Path(model_path).parent if model_path else None
            stem = Path(model_path).stem if model_path else "clm_patches"
            kind = "float" if backend == "tflite-float" else "int8"
            responses = [TFLiteResponses(tflite_path(i, kind, folder, stem), num_threads) for i in range(len(self.experts.levels))]
        else:
            responses = [FloatResponses(lv.filters, lv.bias) for lv in self.experts.levels]
        if score_path is None and model_path is not None and (Path(model_path).parent / "clm_face_score.npz").is_file():
            score_path = Path(model_path).parent / "clm_face_score.npz"  # else the shipped one (build/clm/ has none)
        self.backend = backend
        # what runs the experts, for the runtime's status line
        self.delegate = f"{backend}, {responses[0].model.delegate}" if backend.startswith("tflite") else "numba float"
        self.yaw_starts = yaw_starts
        self.box_scales = tuple(box_scales) or (1.0,)
        self.score = FaceScore.load(score_path)
        self.fitter = CLMFitter(self.experts, responses, self.score, reg=reg)
        self.box_schedule, self.track_schedule = schedules(len(self.experts.levels))

    def _result(self, r: CLMFitResult) -> LandmarkResult:
        return LandmarkResult(r.points, float(r.score) if np.isfinite(r.score) else 0.0)

    def fit(self, frame: np.ndarray, box: Box) -> LandmarkResult:
        if not (np.isfinite([box.x, box.y, box.w, box.h]).all() and box.w > 1 and box.h > 1):
            raise ValueError(f"CLM needs a face box at least 2 px wide, got {box}; pass a detector or ground-truth box")
        return self._result(fit_from_box(self.fitter, frame, box, self.yaw_starts, self.box_scales, self.box_schedule))

    def track(self, frame: np.ndarray, previous: np.ndarray) -> LandmarkResult:
        sim, params = start_from_points(self.experts, previous)
        return self._result(self.fitter.fit(frame, sim, params, self.track_schedule))

    def refine(self, frame: np.ndarray, initial_points: np.ndarray) -> LandmarkResult:
        """Start the fit from `initial_points` (e.g. a CNN's) and settle them under the shape prior (finest level)."""
        return self.track(frame, initial_points)
