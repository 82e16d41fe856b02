"""The PCA point-distribution model shared by the CLM, the effects and the synthetic face.

A shape is a similarity transform of (mean + components^T p). The eigenvalues are kept
so fitters can regularise p (Tikhonov prior) and effects can exaggerate it in units
of standard deviations.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.geometry import Similarity, fit_similarity
from edge.paths import model_path, require_file

DEFAULT_FILE = "shape_model.npz"


@dataclass(frozen=True)
class ShapeModel:
    mean: np.ndarray  # (68, 2), centred, unit RMS radius
    components: np.ndarray  # (k, 136), orthonormal rows
    eigenvalues: np.ndarray  # (k,), variance of each parameter over the training shapes

    @property
    def n_params(self) -> int:
        return len(self.eigenvalues)

    @property
    def n_points(self) -> int:
        return len(self.mean)

    def reconstruct(self, params: np.ndarray) -> np.ndarray:
        """Shape in the model frame for non-rigid parameters `params`."""
        return self.mean + (np.asarray(params, dtype=np.float64) @ self.components).reshape(-1, 2)

    def to_image(self, sim: Similarity, params: np.ndarray) -> np.ndarray:
        return sim.apply(self.reconstruct(params))

    def clamp(self, params: np.ndarray, n_sigma: float = 3.0) -> np.ndarray:
        lim = n_sigma * np.sqrt(self.eigenvalues)
        return np.clip(params, -lim, lim)

    def fit(self, points: np.ndarray, n_iter: int = 4, n_sigma: float | None = None) -> tuple[Similarity, np.ndarray]:
        """Similarity + parameters whose shape is closest to `points` (alternating, converges in a few steps)."""
        points = np.asarray(points, dtype=np.float64)
        params = np.zeros(self.n_params)
        model = self.mean
        for _ in range(n_iter):
            sim = fit_similarity(model, points)
            local = sim.inverse().apply(points)
            params = self.components @ (local - self.mean).ravel()
            if n_sigma is not None:
                params = self.clamp(params, n_sigma)
            model = self.reconstruct(params)
        return fit_similarity(model, points), params

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, mean=self.mean, components=self.components, eigenvalues=self.eigenvalues)

    @classmethod
    def load(cls, path: Path | str | None = None) -> ShapeModel:
        path = Path(path) if path else model_path(DEFAULT_FILE)
        require_file(path, "shape model", "run `make models` (or `edgetrack train shape`) to build it")
        with np.load(path) as z:
            return cls(z["mean"].astype(np.float64), z["components"].astype(np.float64), z["eigenvalues"].astype(np.float64))
