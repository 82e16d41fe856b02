"""The CLM's shipped parts: patch experts + the shape model they were trained with, and the face score model.

`models/clm_patches.npz` is self-contained (filters, biases, preprocessing, reference
scale and the shape model), so a retrained shape model never silently mismatches the
patch experts. `models/clm_patches_<level>_int8.tflite` are the same experts for the runtime, one per level.

Expert types (`EXPERT_TYPES`): linear experts on one feature image (`raw`, `sobel`, `lbp`), the
learned `blend` of those three (per landmark a logistic over their three responses, folded into one
3-channel filter), `joint` (the blend refitted as one logistic over all three channels' pixels, from
the blend's filters) and `mosse` correlation filters. Every type is the same thing at run time: per
landmark C feature channels, (C, P, P) filters, a bias and a logistic. `edgetrack train clm` writes
the shipped type as models/clm_patches.npz and every type as build/clm/clm_patches_<type>.npz
(`experts_file`), each with its TFLite files beside it (`tflite_path`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.clm.preprocessing import normalise_windows, sample_windows, to_grey, working_image
from edge.geometry import Similarity
from edge.paths import REPO_ROOT, model_path, require_file
from edge.shape_model import ShapeModel

PATCHES_FILE = "clm_patches.npz"
TYPES_DIR = REPO_ROOT / "build" / "clm"  # where `edgetrack train clm` writes every expert type
# expert type -> the feature channels its windows are turned into (edge.clm.preprocessing.normalise_windows)
EXPERT_TYPES = {"raw": "raw", "sobel": "sobel", "lbp": "lbp", "blend": "raw+sobel+lbp", "joint": "raw+sobel+lbp", "mosse": "raw"}
SCORE_FILE = "clm_face_score.npz"
FIX = "run `make models` (or `edgetrack train clm`) to build it"


@dataclass(frozen=True)
class ExpertLevel:
    """The 68 experts at one reference scale (coarse levels see further, fine levels see detail)."""

    filters: np.ndarray  # (68, P, P) or, with C feature channels, (68, C, P, P) float32 cross-correlation kernels
    bias: np.ndarray  # (68,) float32
    ref_scale: float  # reference pixels per model unit
    weights: np.ndarray | None = None  # (68,) how hard each landmark pulls in the fit (mean 1; None = all equal)

    @property
    def channels(self) -> int:
        return 1 if self.filters.ndim == 3 else int(self.filters.shape[1])


@dataclass(frozen=True)
class PatchExperts:
    levels: tuple[ExpertLevel, ...]  # coarse to fine
    preprocessing: str  # 'raw', 'sobel', 'lbp' or channels joined by '+', see edge.clm.preprocessing.normalise_windows
    window: int  # search window side W; responses are (W - P + 1)^2
    shape: ShapeModel
    expert_type: str = ""  # one of EXPERT_TYPES ('' = the preprocessing's name, as files from before the types had)
    blend_weights: np.ndarray | None = None  # (levels, 68, C) per-landmark weights of a blend's responses (already in the filters)

    @property
    def type(self) -> str:
        return self.expert_type or self.preprocessing

    @property
    def patch(self) -> int:
        return int(self.levels[0].filters.shape[-1])

    @property
    def response_size(self) -> int:
        return self.window - self.patch + 1

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        extra = {}
        if all(lv.weights is not None for lv in self.levels):
            extra["weights"] = np.stack([lv.weights for lv in self.levels]).astype(np.float32)
        if self.blend_weights is not None:
            extra["blend_weights"] = self.blend_weights.astype(np.float32)
        np.savez_compressed(
            path,
            filters=np.stack([lv.filters for lv in self.levels]).astype(np.float32),
            bias=np.stack([lv.bias for lv in self.levels]).astype(np.float32),
            ref_scales=np.array([lv.ref_scale for lv in self.levels]),
            preprocessing=np.array(self.preprocessing),
            expert_type=np.array(self.type),
            **extra,
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
                weights = z["weights"].astype(np.float64) if "weights" in z.files else [None] * len(z["bias"])
                levels = tuple(ExpertLevel(f, b, float(r), w) for f, b, r, w in zip(z["filters"], z["bias"], z["ref_scales"], weights))
                kind = str(z["expert_type"]) if "expert_type" in z.files else ""
                blend = z["blend_weights"].astype(np.float64) if "blend_weights" in z.files else None
                return cls(levels, str(z["preprocessing"]), int(z["window"]), shape, kind, blend)
        except (KeyError, ValueError, OSError) as exc:
            raise ValueError(f"{path} is not a CLM patch-expert file ({exc}); rebuild it with `edgetrack train clm`") from None


def tflite_path(level: int, kind: str = "int8", directory: Path | None = None, stem: str = "clm_patches") -> Path:
    """models/clm_patches_<level>_<int8|float>.tflite; `stem` is the experts file's name without .npz
    (build/clm/clm_patches_lbp.npz has build/clm/clm_patches_lbp_<level>_<kind>.tflite)."""
    name = f"{stem}_{level}_{kind}.tflite"
    return (Path(directory) / name) if directory else model_path(name)


def experts_file(expert_type: str | None = None, types_dir: Path | None = None) -> Path:
    """The experts file of a type: the shipped models/clm_patches.npz when it is that type (or none is named),
    else <types_dir or build/clm>/clm_patches_<type>.npz as `edgetrack train clm` writes it."""
    shipped = model_path(PATCHES_FILE)
    if not expert_type:
        return shipped
    if expert_type not in EXPERT_TYPES:
        raise ValueError(f"unknown CLM expert type {expert_type!r}; choose one of: {', '.join(EXPERT_TYPES)}")
    if shipped.is_file():
        with np.load(shipped) as z:
            kind = str(z["expert_type"]) if "expert_type" in z.files else str(z["preprocessing"])
        if kind == expert_type:
            return shipped
    path = Path(types_dir or TYPES_DIR) / f"clm_patches_{expert_type}.npz"
    require_file(path, f"CLM {expert_type} patch experts", "run `edgetrack train clm` (it writes every expert type to build/clm/)")
    return path


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
