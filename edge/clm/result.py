"""What one CLM fit produces: points, the parameters to start the next frame from, and its diagnostics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.geometry import Similarity


@dataclass
class CLMFitResult:
    points: np.ndarray  # (68, 2) float32, frame pixels
    similarity: Similarity  # model frame -> frame pixels
    params: np.ndarray  # (k,) non-rigid shape parameters
    score: float  # face score model probability (nan when not computed)
    iterations: int  # Gauss-Newton steps over all kernel widths
    initial_points: np.ndarray  # (68, 2) where the fit started
    quality: float = float("nan")  # mean response under the final points at the last level run (how well the experts agree)
