"""The CLM's shipped parts: patch experts + the shape model they were trained with, and the face score model.

`models/clm_patches.npz` is self-contained (filters, biases, preprocessing, reference
scale and the shape model), so a retrained shape model never silently mismatches the
patch experts. `models/clm_patches_<level>_int8.tflite` are the same experts for the runtime, one per level.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.clm.preprocessing import normalise_windows, sample_windows, to_grey, working_image
from edge.geometry import Similarity
from edge.paths import model_path, require_file
from edge.shape_model import ShapeModel

PATCHES_FILE = "clm_patches.npz"
SCORE_FILE = "clm_face_score.npz"
FIX = "run `make models` (or `edgetrack train clm`) to build it"


@dataclass(frozen=True)
class ExpertLevel:
    """The 68 experts at one reference scale (coarse levels see further, fine levels see detail)."""

    filters: np.ndarray  # (68, P, P) float32, cross-correlation kernels
    bias: np.ndarray  # (68,) float32
    ref_scale: float  # reference pixels per model unit


@dataclass(frozen=True)
class PatchExperts:
    levels: tuple[ExpertLevel, ...]  # coarse to fine
    preprocessing: str  # 'raw' or 'sobel', see edge.clm.preprocessing.normalise_windows
    window: int  # search window side W; responses are (W - P + 1)^2
    shape: ShapeModel

    @property
    def patch(self) -> int:
        return int(self.levels[0].filters.shape[1])

    @property
    def response_size(self) -> int:
        return self.window - self.patch + 1

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            filters=np.stack([lv.filters for lv in self.levels]).astype(np.float32),
            bias=np.stack([lv.bias for lv in self.levels]).astype(np.float32),
            ref_scales=np.array([lv.ref_scale for lv in self.levels]),
            preprocessing=np.array(self.preprocessing),
            window=np.array(self.window),
            mean=self.shape.mean,
            components=self.shape.components,
            eigenvalues=self.shape.eigenvalues,
        )

    @classmethod
    def load(cls, path: Path | str | None = None) -> PatchExperts:
        path = require_file(Path(path) if path else model_path(PATCHES_FILE), "CLM patch experts", FIX)
        try:
            with np.load(path) as z:
                shape = ShapeModel(z["mean"].astype(np.float64), z["components"].astype(np.float64), z["eigenvalues"].astype(np.float64))
                levels = tuple(ExpertLevel(f, b, float(r)) for f, b, r in zip(z["filters"], z["bias"], z["ref_scales"]))
                return cls(levels, str(z["preprocessing"]), int(z["window"]), shape)
        except (KeyError, ValueError, OSError) as exc:
            raise ValueError(f"{path} is not a CLM patch-expert file ({exc}); rebuild it with `edgetrack train clm`") from None


def tflite_path(level: int, kind: str = "int8", directory: Path | None = None) -> Path:
    """models/clm_patches_<level>_<int8|float>.tflite"""
    name = f"clm_patches_{level}_{kind}.tflite"
    return (Path(directory) / name) if directory else model_path(name)


# The aligned face the score model sees: a square of +-FACE_HALF model units, GRID x GRID samples.
FACE_HALF = 1.6
GRID = 24


def face_features(grey: np.ndarray, model_to_image: Similarity) -> np.ndarray:
    """(2 * GRID^2,) features of the face under a similarity: normalised intensity + gradient magnitude."""
    per_px = 2 * FACE_HALF / GRID  # model units per grid pixel
    ref_to_image = Similarity(model_to_image.a * per_px, model_to_image.b * per_px, model_to_image.tx, model_to_image.ty)
    work, to_work = working_image(grey, ref_to_image, GRID / 2 + 2)
    m = to_work.compose(ref_to_image)
    win = sample_windows(work, m.a, m.b, m.tx, m.ty, np.zeros((1, 2)), GRID)
    return np.concatenate([normalise_windows(win, "raw").ravel(), normalise_windows(win, "sobel").ravel()])


@dataclass(frozen=True)
class FaceScore:
    """Logistic regression on the aligned face: P(this similarity frames a face)."""

    weights: np.ndarray
    bias: float
    feat_mean: np.ndarray
    feat_std: np.ndarray

    def logit(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.feat_mean) / self.feat_std) @ self.weights + self.bias

    def __call__(self, frame_or_grey: np.ndarray, model_to_image: Similarity) -> float:
        grey = frame_or_grey if frame_or_grey.ndim == 2 else to_grey(frame_or_grey)
        z = float(self.logit(face_features(grey, model_to_image)))
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            weights=self.weights.astype(np.float32),
            bias=np.array(self.bias),
            feat_mean=self.feat_mean.astype(np.float32),
            feat_std=self.feat_std.astype(np.float32),
        )

    @classmethod
    def load(cls, path: Path | str | None = None) -> FaceScore:
        path = require_file(Path(path) if path else model_path(SCORE_FILE), "CLM face score model", FIX)
        with np.load(path) as z:
            return cls(
                z["weights"].astype(np.float64), float(z["bias"]), z["feat_mean"].astype(np.float64), z["feat_std"].astype(np.float64)
            )
