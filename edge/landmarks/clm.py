"""`clm`: the constrained local model landmarker (patch experts + regularized landmark mean-shift).

fit() starts from the mean shape in the box (and, since a box cannot tell, from faces turned
left and right: the start whose responses fit best goes on) and runs every expert level; track() starts from
the previous points' shape parameters and runs the finest level only; refine() is the entry
point for `cnn+clm`: start from given points, keep the fit under the shape prior.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.clm.fitter import CLMFitter, box_starts, schedules, start_from_points
from edge.clm.model import FaceScore, PatchExperts, tflite_path
from edge.clm.response import FloatResponses, TFLiteResponses
from edge.clm.result import CLMFitResult
from edge.geometry import Box
from edge.landmarks.base import LandmarkResult

BACKENDS = ("tflite", "tflite-float", "float")  # int8 TFLite (default), float32 TFLite, numba float reference


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
    ) -> None:
        """model_path: a clm_patches.npz (its TFLite files are looked up beside it)."""
        if backend not in BACKENDS:
            raise ValueError(f"unknown CLM backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
        self.experts = PatchExperts.load(model_path)
        if backend.startswith("tflite"):
            folder = Path(model_path).parent if model_path else None
            kind = "float" if backend == "tflite-float" else "int8"
            responses = [TFLiteResponses(tflite_path(i, kind, folder), num_threads) for i in range(len(self.experts.levels))]
        else:
            responses = [FloatResponses(lv.filters, lv.bias) for lv in self.experts.levels]
        if score_path is None and model_path is not None:
            score_path = Path(model_path).parent / "clm_face_score.npz"
        self.backend = backend
        # what runs the experts, for the runtime's status line
        self.delegate = f"{backend}, {responses[0].model.delegate}" if backend.startswith("tflite") else "numba float"
        self.yaw_starts = yaw_starts
        self.score = FaceScore.load(score_path)
        self.fitter = CLMFitter(self.experts, responses, self.score, reg=reg)
        self.box_schedule, self.track_schedule = schedules(len(self.experts.levels))

    def _result(self, r: CLMFitResult) -> LandmarkResult:
        return LandmarkResult(r.points, float(r.score) if np.isfinite(r.score) else 0.0)

    def fit(self, frame: np.ndarray, box: Box) -> LandmarkResult:
        if not (np.isfinite([box.x, box.y, box.w, box.h]).all() and box.w > 1 and box.h > 1):
            raise ValueError(f"CLM needs a face box at least 2 px wide, got {box}; pass a detector or ground-truth box")
        (sim, params), *others = box_starts(self.experts, box, self.yaw_starts)
        return self._result(self.fitter.fit(frame, sim, params, self.box_schedule, others))

    def track(self, frame: np.ndarray, previous: np.ndarray) -> LandmarkResult:
        sim, params = start_from_points(self.experts, previous)
        return self._result(self.fitter.fit(frame, sim, params, self.track_schedule))

    def refine(self, frame: np.ndarray, initial_points: np.ndarray) -> LandmarkResult:
        """Start the fit from `initial_points` (e.g. a CNN's) and settle them under the shape prior (finest level)."""
        return self.track(frame, initial_points)
