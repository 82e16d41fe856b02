"""`cnn`: the compact regressor on a face crop; `cnn+clm`: its points refined by the CLM under the shape prior.

From a detector box the crop is upright (the network learned turned faces), followed by
a second look from the levelled crop of that answer; when tracking, the crop comes from
the previous points with the eye line levelled, so the detector only has to find a face,
not run every frame. Each look averages the crop with its mirror image (flip test-time
augmentation, `flip=False` halves the cost). The score is how plausible the
shape is under the PCA shape model (1 = the mean face, towards 0 = not a face shape),
which is what lets the tracker notice it has lost the face.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.cnn.crop import CropSpec, crop_from_box, crop_from_points, decode_points, normalise, warp_crop
from edge.cnn.pip import decode_pip, pip_heads
from edge.cnn.styles import DEFAULT_STYLE, head_layout, style_index
from edge.geometry import Box
from edge.inference import TFLiteModel
from edge.landmarks.base import LandmarkResult
from edge.landmarks68 import FLIP_PERMUTATION, N_POINTS
from edge.paths import model_path, require_file
from edge.shape_model import ShapeModel

DEFAULT_MODEL = "cnn_landmarks_int8.tflite"


def shape_plausibility(points: np.ndarray, shape_model: ShapeModel) -> float:
    """exp(-mean squared Mahalanobis distance / 2) of the shape's PCA parameters: ~0.6 for typical faces."""
    _, params = shape_model.fit(points, n_iter=2)
    z2 = params**2 / np.maximum(shape_model.eigenvalues, 1e-12)
    return float(np.exp(-0.5 * z2.mean()))


class CnnLandmarker:
    name = "cnn"
    takes_turned_boxes = True  # a turned box (a detector's roll) makes a levelled first crop

    def __init__(
        self,
        model_path: str | Path | None = None,
        num_threads: int = 1,
        delegate: str = "cpu",
        shape_model: ShapeModel | None = None,
        passes: int = 2,
        flip: bool = True,
        style: str = DEFAULT_STYLE,
    ) -> None:
        path = Path(model_path) if model_path else _default_model()
        require_file(path, "CNN landmark model", "run `make models` (edgetrack train cnn; edgetrack export cnn) or pass --model")
        self.model = TFLiteModel(path, num_threads=num_threads, delegate=delegate)
        shape = self.model.input_shape
        if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 1:
            raise ValueError(
                f"{path}: expected a (1, S, S, 1) grey-crop model, got input shape {shape}; export it with `edgetrack export cnn`"
            )
        self.size = int(shape[1])
        out_shape = tuple(int(v) for v in self.model.outputs[0]["shape"])
        # a pip head gives (1, G, G, C) cell maps (edge/cnn/pip.py); a dense head 136 numbers per style
        self.pip = len(out_shape) == 4
        n_out = int(np.prod(out_shape))
        if not self.pip and n_out % (2 * N_POINTS):
            raise ValueError(f"{path}: output {out_shape} is not 136 numbers per annotation style; export it with `edgetrack export cnn`")
        self.heads, mirror = (pip_heads(out_shape[-1]), False) if self.pip else head_layout(n_out // (2 * N_POINTS))
        if self.heads < 1:
            raise ValueError(f"{path}: output {out_shape} is not a landmark model's; export it with `edgetrack export cnn`")
        self.style = style
        if self.heads == 1 and style != DEFAULT_STYLE:
            raise ValueError(f"{path} has one output for every annotation style; --landmark-style {style} needs a model with style heads")
        self._head_index = style_index(style, self.heads)  # which style's points to read (a one-head model has one for all)
        self._head = self._slice(self._head_index)
        # a mirrored crop is read from its own head where the model has them (edge/cnn/styles.py:head_layout)
        self._mirror_head = self._slice(self._head_index + self.heads) if mirror else self._head
        self.shape_model = shape_model if shape_model is not None else _optional_shape_model()
        self.flip = bool(flip)
        if passes not in (1, 2):
            raise ValueError(f"passes must be 1 or 2, got {passes}")
        self.passes = int(passes)

    def _points(self, frame: np.ndarray, spec: CropSpec) -> np.ndarray:
        """Frame points from one crop; with `flip`, averaged with the mirrored crop's (point meaning kept)."""
        crop = warp_crop(frame, spec, self.size)
        out = self._crop_points(crop, self._head)
        if self.flip:
            mirrored = self._crop_points(np.ascontiguousarray(crop[:, ::-1]), self._mirror_head)
            mirrored[:, 0] = 1.0 - mirrored[:, 0]
            out = 0.5 * (out + mirrored[FLIP_PERMUTATION])
        return decode_points(out.ravel(), spec, self.size)

    @staticmethod
    def _slice(head: int) -> slice:
        return slice(head * 2 * N_POINTS, (head + 1) * 2 * N_POINTS)

    def _crop_points(self, crop: np.ndarray, head: slice) -> np.ndarray:
        """(68, 2) points in crop units from one inference, read from output `head` (a dense model's)."""
        out = self.model.run(normalise(crop)[None])[0]
        if self.pip:
            return decode_pip(out[0], self._head_index, self.size).reshape(-1, 2)
        return out.reshape(-1)[head].reshape(-1, 2)

    def _result(self, pts: np.ndarray) -> LandmarkResult:
        score = shape_plausibility(pts, self.shape_model) if self.shape_model is not None else 1.0
        return LandmarkResult(pts.astype(np.float32), score)

    def predict(self, frame: np.ndarray, spec: CropSpec) -> LandmarkResult:
        return self._result(self._points(frame, spec))

    def fit(self, frame: np.ndarray, box: Box) -> LandmarkResult:
        """From a box; with `passes` 2, a second look from the tracking crop of the first answer, averaged with it.

        A detector box is off in centre, scale and roll; the second look sees the face framed
        as a tracked face is (levelled, centred, at the right scale). Measured on ytf68 val
        (80 px int8, detector boxes): 5.66% NME one pass, 5.37% two passes. The flip helps
        on 300w-train val (5.15 -> 5.12) but not on ytf68 (5.37 -> 5.46); it stays on by default.
        """
        pts = self._points(frame, crop_from_box(box))
        if self.passes > 1:
            pts = 0.5 * (pts + self._points(frame, crop_from_points(pts)))
        return self._result(pts)

    def track(self, frame: np.ndarray, previous: np.ndarray) -> LandmarkResult:
        return self.predict(frame, crop_from_points(previous))


class CnnClmLandmarker:
    """CNN first (robust to pose and blur), then CLM patch experts pull each point onto the image evidence."""

    name = "cnn+clm"
    takes_turned_boxes = True  # the CNN's first crop is levelled by the box's angle
    scores_faces = True  # the score is the CLM face score model's P(face) on the refined points

    def __init__(
        self,
        model_path: str | Path | None = None,
        num_threads: int = 1,
        delegate: str = "cpu",
        clm_model_path: str | Path | None = None,
        style: str = DEFAULT_STYLE,
    ) -> None:
        from edge.landmarks.clm import CLMLandmarker  # here, so plain `cnn` does not load the CLM's code

        self.cnn = CnnLandmarker(model_path, num_threads, delegate, style=style)
        # the CLM's patch experts run on the CPU (its own TFLite models); the delegate is the CNN's
        self.clm = CLMLandmarker(model_path=clm_model_path, num_threads=num_threads)

    def _refine(self, frame: np.ndarray, first: LandmarkResult) -> LandmarkResult:
        refined = self.clm.refine(frame, first.points)
        return LandmarkResult(np.asarray(refined.points, dtype=np.float32), refined.score, refined.valid)

    def fit(self, frame: np.ndarray, box: Box) -> LandmarkResult:
        return self._refine(frame, self.cnn.fit(frame, box))

    def track(self, frame: np.ndarray, previous: np.ndarray) -> LandmarkResult:
        return self._refine(frame, self.cnn.track(frame, previous))


def _default_model() -> Path:
    return model_path(DEFAULT_MODEL)


def _optional_shape_model() -> ShapeModel | None:
    try:
        return ShapeModel.load()
    except FileNotFoundError:
        return None
