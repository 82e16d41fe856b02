"""`cnn`: our own learned single-shot face detector (trained by `edgetrack train detector`, convert/detector/).

An int8 TFLite network on the grey frame, fully convolutional, CenterNet-style at two levels
(strides 8 and 16): per cell a face-centre score, the centre's offset in the cell, the face
box's size, and five key points (eye centres, nose tip, mouth corners). It was trained on
faces of NATIVE_MIN..NATIVE_MAX pixels in its input, rolled up to +-45 degrees, so it
returns each face as a turned box (`Box.angle`: the roll of its eye line) through the learned
box mapping, and the first landmark crop is level (`sees_roll`: the tracker needs no turned
searches for it). Each candidate then gets a second look (`edge.detect.second_look`, a
levelled crop through a tiny convolutional network fitted on our own candidates), whose
output is its final score.

A frame is searched at a few scales, each one inference on the whole resized frame: the
coarsest fits the frame in the base input (BASE, 160x120) and a face filling the frame's
height in the network's native range, the finest makes a `min_face` pixel face NATIVE_MIN
pixels (never above 1:1); in between, one scale per factor SCALE_STEP. A 640x480 frame with
the default min_face of 24 px is two passes (132x99 and 267x200, padded to multiples of 16).
Each input shape gets its own interpreter, kept for the next frame of that size.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from edge.detect.mapping import BoxMapping
from edge.detect.second_look import VERIFY_FILE, SecondLook
from edge.geometry import Box
from edge.imaging import to_grey
from edge.inference import TFLiteModel
from edge.paths import model_path, require_file

DEFAULT_MODEL = "detector_int8.tflite"
BASE = (160, 120)  # (w, h): the training scenes' size, and the coarsest search scale's input
STRIDES = (8, 16)  # the two output levels
NATIVE_MIN, NATIVE_MAX = 10.0, 110.0  # face sizes it learned: the longer side of the levelled landmark box, input px
LEVEL_SPLIT = 30.0  # faces below this size belong to the stride-8 level, above it to the stride-16 level
LEVEL_BAND = 1.25  # ...and within this factor of the split to both
SCALE_STEP = 4.0  # neighbouring search scales differ by at most this factor (the native range spans 11)
BIGGEST = 0.9  # the coarsest scale makes a face as big as the frame's short side this share of NATIVE_MAX
PAD = 16  # inputs are padded to a multiple of the coarsest stride
KEEP_INTERPRETERS = 6  # input shapes whose interpreters are kept
DEFAULT_THRESHOLD = 0.5  # the network's score a face needs when there is no second look
FIX = "run `make models` (edgetrack train detector) or pass the right model path"
# the smallest face searched for by default, frame px. 20 was tried (issue 20 asks for faces down to 20 px), the second
# look refitted and calibrated on a 20 px search without the calibration leak (models/cards/detector.md): validation
# recall 74.0% -> 77.2% within Haar's false detections (0.029 per face-free 640x480 scene against 0.033; 24 px: 0.021),
# but 7 / 3 of the annotated ytf68 / 300w-train val faces missed against 1 / 2. `--detector-min-face 20` remains the
# user's choice.
DEFAULT_MIN_FACE = 24


@dataclass(frozen=True)
class Detection:
    """One face: its (mapped, turned) box and five key points in frame pixels."""

    box: Box
    key_points: np.ndarray  # (5, 2): image-left eye, image-right eye, nose tip, image-left / image-right mouth corner


def search_scales(width: int, height: int, min_face: float) -> list[float]:
    """The scales a `width` x `height` frame is searched at, coarsest first."""
    coarse = min(BASE[0] / width, BASE[1] / height, BIGGEST * NATIVE_MAX / min(width, height))
    fine = min(NATIVE_MIN / max(float(min_face), 1.0), 1.0)
    if fine <= coarse * 1.0001:
        return [coarse]
    n = int(np.ceil(np.log(fine / coarse) / np.log(SCALE_STEP) - 1e-9))
    return [float(coarse * (fine / coarse) ** (k / n)) for k in range(n + 1)]


def decode_level(
    heat: np.ndarray, box: np.ndarray, kps: np.ndarray, stride: int, threshold: float
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """Peaks of one level's outputs: (score, (cx, cy, w, h), (5, 2) key points), in input pixel-centre coordinates.

    heat (h, w) logits, box (h, w, 4): centre offset in the cell and log size in strides, kps (h, w, 10): key
    points relative to the centre in units of the face size (the box's longer side)."""
    logit = float(np.log(threshold / (1.0 - threshold)))
    heat = np.ascontiguousarray(heat, dtype=np.float32)
    peak = cv2.dilate(heat, np.ones((3, 3), np.uint8))
    ys, xs = np.nonzero((heat >= peak) & (heat > logit))
    out = []
    for y, x in zip(ys, xs):
        ox, oy, lw, lh = (float(v) for v in box[y, x])
        cx, cy = (x + ox) * stride - 0.5, (y + oy) * stride - 0.5
        w, h = float(np.exp(np.clip(lw, -4, 6))) * stride, float(np.exp(np.clip(lh, -4, 6))) * stride
        k = np.asarray(kps[y, x], dtype=np.float64).reshape(5, 2) * max(w, h) + [cx, cy]
        out.append((float(1.0 / (1.0 + np.exp(-heat[y, x]))), np.array([cx, cy, w, h]), k))
    return out


def non_max_suppression(found: list[Detection], iou: float) -> list[Detection]:
    """Greedy, best score first; boxes may be turned."""
    kept: list[Detection] = []
    for d in sorted(found, key=lambda d: -d.box.score):
        if all(d.box.iou(k.box) < iou for k in kept):
            kept.append(d)
    return kept


class CnnDetector:
    name = "cnn"
    sees_roll = True  # finds faces rolled up to +-45 degrees and says how far (Box.angle)

    def __init__(
        self,
        model_path: str | Path | None = None,
        num_threads: int = 1,
        min_face: int = DEFAULT_MIN_FACE,
        score_threshold: float | None = None,
        nms_iou: float = 0.35,
        mapped: bool = True,
        second_look: bool | str | Path = True,
        box_mapping: BoxMapping | None = None,
    ) -> None:
        """`second_look`: True = the shipped second look when it is there (its fitted thresholds then apply), a path =
        that file, False = the network's score alone against `score_threshold` (default 0.5). `box_mapping`: this
        mapping instead of the fitted one (`mapped=False`: none)."""
        path = Path(model_path) if model_path else _default_model()
        require_file(path, "face detector model", FIX)
        self.second_look: SecondLook | None = None
        if second_look is True and model_path is None and Path(_default_model().parent / VERIFY_FILE).is_file():
            self.second_look = SecondLook.load()
        elif second_look not in (True, False):
            self.second_look = SecondLook.load(second_look)  # type: ignore[arg-type]
        if score_threshold is None:
            score_threshold = self.second_look.score_floor if self.second_look is not None else DEFAULT_THRESHOLD
        if not 0.0 < score_threshold < 1.0:
            raise ValueError(f"detector score threshold must be between 0 and 1, got {score_threshold}")
        self.path, self.num_threads = path, int(num_threads)
        self.min_face, self.score_threshold, self.nms_iou = float(min_face), float(score_threshold), float(nms_iou)
        self._models: OrderedDict[tuple[int, int], TFLiteModel] = OrderedDict()
        first = TFLiteModel(path, num_threads=self.num_threads)  # a missing or corrupt file fails here, in one line
        shape = first.input_shape
        if len(shape) != 4 or shape[3] != 1 or len(first.outputs) != 3 * len(STRIDES):
            raise ValueError(
                f"{path}: not a face detector model (input {shape}, {len(first.outputs)} outputs; expected (1, H, W, 1) "
                f"and {3 * len(STRIDES)}); export one with `edgetrack train detector`"
            )
        self._models[(shape[1], shape[2])] = first
        self.mapping = (box_mapping or BoxMapping.load(detector=self.name)) if mapped else BoxMapping()
        self.delegate = first.delegate

    def _model(self, h: int, w: int) -> TFLiteModel:
        m = self._models.get((h, w))
        if m is None:
            m = TFLiteModel(self.path, num_threads=self.num_threads)
            m.interpreter.resize_tensor_input(m.inputs[0]["index"], [1, h, w, 1])
            m.interpreter.allocate_tensors()
            m.inputs, m.outputs = m.interpreter.get_input_details(), m.interpreter.get_output_details()
            self._models[(h, w)] = m
            while len(self._models) > KEEP_INTERPRETERS:
                self._models.popitem(last=False)
        else:
            self._models.move_to_end((h, w))
        return m

    def _levels(self, outputs: list[np.ndarray]) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """(stride, heat, box, kps) per level, told apart by channel count and map size."""
        by_size: dict[int, dict[int, np.ndarray]] = {}
        for o in outputs:
            by_size.setdefault(int(o.shape[1]) * int(o.shape[2]), {})[int(o.shape[3])] = o[0]
        sizes = sorted(by_size, reverse=True)  # the finest map is the stride-8 level
        return [(s, by_size[n][1][..., 0], by_size[n][4], by_size[n][10]) for s, n in zip(STRIDES, sizes)]

    def _scan(self, grey: np.ndarray, scale: float) -> list[Detection]:
        h, w = grey.shape
        rw, rh = max(int(round(w * scale)), 1), max(int(round(h * scale)), 1)
        img = cv2.resize(grey, (rw, rh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        ph, pw = -(-rh // PAD) * PAD, -(-rw // PAD) * PAD
        if (ph, pw) != (rh, rw):
            img = cv2.copyMakeBorder(img, 0, ph - rh, 0, pw - rw, cv2.BORDER_REPLICATE)
        x = (img.astype(np.float32) * (2.0 / 255.0) - 1.0)[None, :, :, None]
        outputs = self._model(ph, pw).run(x)
        sx, sy = w / rw, h / rh  # input -> frame, on pixel edges
        found = []
        for stride, heat, box, kps in self._levels(outputs):
            for score, (cx, cy, bw, bh), k in decode_level(heat, box, kps, stride, self.score_threshold):
                fx, fy = (cx + 0.5) * sx - 0.5, (cy + 0.5) * sy - 0.5
                kp = (k + 0.5) * [sx, sy] - 0.5
                angle = float(np.arctan2(kp[1, 1] - kp[0, 1], kp[1, 0] - kp[0, 0]))
                fw, fh = bw * sx, bh * sy
                found.append(Detection(Box(fx - fw / 2, fy - fh / 2, fw, fh, score, angle), kp))
        return found

    def detect_with_key_points(self, frame: np.ndarray, max_faces: int = 1) -> list[Detection]:
        """Faces, best score first, each with its mapped turned box and five key points."""
        grey = to_grey(frame)
        found: list[Detection] = []
        for s in search_scales(grey.shape[1], grey.shape[0], self.min_face):
            found += self._scan(grey, s)
        kept = non_max_suppression(found, self.nms_iou)
        if self.second_look is not None:  # the final score is the second look's
            final = self.second_look.look(grey, [(d.key_points, d.box.score) for d in kept])
            cut = self.second_look.threshold
            looked = [Detection(replace(d.box, score=float(p)), d.key_points) for d, p in zip(kept, final) if p >= cut]
            kept = sorted(looked, key=lambda d: -d.box.score)
        return [Detection(self.mapping.apply(d.box), d.key_points) for d in kept[:max_faces]]

    def detect(self, frame: np.ndarray, max_faces: int = 1) -> list[Box]:
        """Faces in a BGR or grey frame, best first, as turned landmark boxes."""
        return [d.box for d in self.detect_with_key_points(frame, max_faces)]


def _default_model() -> Path:
    return model_path(DEFAULT_MODEL)
