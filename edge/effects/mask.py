"""Masks: a PNG with alpha (glasses, moustache, hat, or your own) anchored to the face by a
similarity transform fitted from the mask's anchor points to the tracked landmarks.

A mask is NAME.png (BGRA) + NAME.json {"anchors": {"36": [x, y], ...}} giving where chosen
landmarks sit in the PNG. The shipped ones live in models/masks/ (drawn by
convert/masks.py). A PNG without a .json is treated as glasses-like: its width spans the
outer eye corners at its vertical middle.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from edge.effects import parse_args
from edge.faces import TrackedFace
from edge.geometry import fit_similarity
from edge.landmarks68 import OUTER_EYE_CORNERS
from edge.paths import model_path

MASK_DIR = "masks"


def shipped_masks() -> list[str]:
    return sorted(p.stem for p in model_path(MASK_DIR).glob("*.png"))


def load_mask(spec: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(BGRA image, anchor landmark indices, anchor positions in the image) for a name or a path."""
    path = Path(spec)
    if path.suffix.lower() != ".png":
        path = model_path(MASK_DIR) / f"{spec}.png"
        if not path.is_file():
            choices = ", ".join(shipped_masks()) or "(none: run python -m convert.masks)"
            raise FileNotFoundError(f"mask {spec!r} not found in {path.parent}; choose one of {choices} or give a PATH.png")
    elif not path.is_file():
        raise FileNotFoundError(f"mask image {path} not found; give an existing PNG with alpha")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 3 or image.shape[2] != 4:
        raise ValueError(f"mask {path} must be a PNG with an alpha channel (BGRA)")
    sidecar = path.with_suffix(".json")
    if sidecar.is_file():
        anchors = json.loads(sidecar.read_text())["anchors"]
        idx = np.array([int(k) for k in anchors], dtype=np.int64)
        pos = np.array(list(anchors.values()), dtype=np.float64)
    else:
        h, w = image.shape[:2]
        idx = OUTER_EYE_CORNERS
        pos = np.array([[0.0, h / 2], [w - 1.0, h / 2]])
    return image, idx, pos


class MaskEffect:
    name = "mask"

    def __init__(self, image: np.ndarray, anchor_idx: np.ndarray, anchor_pos: np.ndarray) -> None:
        alpha = image[..., 3:].astype(np.float32) / 255.0
        # premultiplied: bilinear sampling then cannot drag dark fringes in from transparent pixels
        self.premult = np.dstack([image[..., :3].astype(np.float32) * alpha, alpha])
        self.idx = anchor_idx
        self.pos = anchor_pos
        h, w = image.shape[:2]
        self.corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)

    def apply(self, frame: np.ndarray, faces: list[TrackedFace]) -> np.ndarray:
        fh, fw = frame.shape[:2]
        for face in faces:
            sim = fit_similarity(self.pos, np.asarray(face.points, dtype=np.float64)[self.idx])
            box = sim.apply(self.corners)
            x0, y0 = np.maximum(np.floor(box.min(0)).astype(int), 0)
            x1, y1 = np.minimum(np.ceil(box.max(0)).astype(int) + 1, [fw, fh])
            if x1 <= x0 or y1 <= y0:
                continue
            m = sim.matrix()
            m[:, 2] -= [x0, y0]
            warped = cv2.warpAffine(self.premult, m, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            roi = frame[y0:y1, x0:x1]
            a = warped[..., 3:]
            roi[:] = np.clip(warped[..., :3] + roi.astype(np.float32) * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)
        return frame


def create(args: str) -> MaskEffect:
    pos, kw = parse_args(args)
    spec = kw.get("path", pos[0] if pos else "glasses")
    return MaskEffect(*load_mask(spec))
