"""The face crop the CNN sees, defined once so training and run time cannot drift apart.

A crop is a square of `side` frame pixels centred on the face, turned by `angle` (so
the eye line is level when tracking) and resampled to the network's input size. The
face's landmark box fills `FILL` of the crop, leaving room for the detector's and the
tracker's jitter. The network predicts points in crop units in [0, 1]; decoding maps
them back through the inverse similarity.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge.geometry import Box, Similarity
from edge.imaging import to_grey
from edge.landmarks68 import eye_centres

FILL = 0.75  # share of the crop side taken by the landmark box side


@dataclass(frozen=True)
class CropSpec:
    """Where the crop sits in the frame: centre, side in frame pixels, rotation in radians."""

    cx: float
    cy: float
    side: float
    angle: float = 0.0

    def to_crop(self, size: int) -> Similarity:
        """Similarity mapping frame pixels to crop pixels (0..size-1 pixel centres)."""
        s = size / self.side
        a, b = s * np.cos(-self.angle), s * np.sin(-self.angle)
        c = (size - 1) / 2.0
        return Similarity(float(a), float(b), float(c - (a * self.cx - b * self.cy)), float(c - (b * self.cx + a * self.cy)))


def crop_from_box(box: Box, fill: float = FILL) -> CropSpec:
    """Crop around a landmark box (ground truth or a mapped detector box): upright, or levelled
    when the box is turned (`box.angle`, a detector that sees the roll)."""
    side = max(0.5 * (box.w + box.h), 1.0) / fill
    return CropSpec(box.cx, box.cy, side, float(box.angle))


def eye_angle(points: np.ndarray) -> float:
    """Angle of the line from the image-left eye centre to the image-right eye centre."""
    right, left = eye_centres(points)  # image left, image right
    d = left - right
    return float(np.arctan2(d[1], d[0]))


def crop_from_points(points: np.ndarray, fill: float = FILL) -> CropSpec:
    """Rotation-normalised tracking crop from the previous frame's points (eye line level).

    The centre and side are those of the points' tight box in the de-rotated frame, so a
    tracked face lands in the crop as an upright ground-truth box would.
    """
    pts = np.asarray(points, dtype=np.float64)
    angle = eye_angle(pts)
    c, s = np.cos(-angle), np.sin(-angle)
    rot = pts @ np.array([[c, s], [-s, c]])  # rotate by -angle
    lo, hi = rot.min(0), rot.max(0)
    mid = 0.5 * (lo + hi)
    # centre back in the frame: rotate by +angle
    cx = mid[0] * np.cos(angle) - mid[1] * np.sin(angle)
    cy = mid[0] * np.sin(angle) + mid[1] * np.cos(angle)
    side = max(0.5 * float((hi - lo).sum()), 1.0) / fill
    return CropSpec(float(cx), float(cy), side, angle)


def warp_crop(frame: np.ndarray, spec: CropSpec, size: int) -> np.ndarray:
    """Grey uint8 crop (size x size); pixels outside the frame replicate the border.

    Only the window the crop can reach is converted to grey and blurred: the same pixels as
    doing it over the whole frame (`warp_crop_full_frame`, kept as the reference the tests
    compare with), at a fraction of the cost. Measured on a 640x480 frame, 96 px crop of a
    160 px face: grey conversion, copy and blur of the frame took ~1.2 of 2.3 ms per tracked face.
    """
    sim = spec.to_crop(size)
    # shrinking a lot aliases; pre-blur proportionally, as INTER_AREA would for an upright crop
    shrink = 1.0 / sim.scale
    sigma = shrink / 2.0 if shrink > 1.5 else 0.0
    reach = 0.5 * spec.side * (abs(np.cos(spec.angle)) + abs(np.sin(spec.angle))) + 4.0 * sigma + 4.0
    h, w = frame.shape[:2]
    x0, x1 = int(max(np.floor(spec.cx - reach), 0)), int(min(np.ceil(spec.cx + reach) + 1, w))
    y0, y1 = int(max(np.floor(spec.cy - reach), 0)), int(min(np.ceil(spec.cy + reach) + 1, h))
    if x1 - x0 < 2 or y1 - y0 < 2:  # the crop lies (almost) wholly outside the frame: replicated border pixels
        return warp_crop_full_frame(frame, spec, size)
    window = to_grey(frame[y0:y1, x0:x1])
    if sigma:
        window = cv2.GaussianBlur(window, (0, 0), sigma)
    m = sim.matrix().copy()
    m[:, 2] += m[:, 0] * x0 + m[:, 1] * y0  # window pixel (u, v) is frame pixel (u + x0, v + y0)
    return cv2.warpAffine(window, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def warp_crop_full_frame(frame: np.ndarray, spec: CropSpec, size: int) -> np.ndarray:
    """`warp_crop` done over the whole frame (the original, slower way): the reference for its window."""
    grey = to_grey(frame)
    sim = spec.to_crop(size)
    shrink = 1.0 / sim.scale
    if shrink > 1.5:
        k = shrink / 2.0
        x0 = int(max(spec.cx - spec.side, 0))
        y0 = int(max(spec.cy - spec.side, 0))
        x1 = int(min(spec.cx + spec.side + 1, grey.shape[1]))
        y1 = int(min(spec.cy + spec.side + 1, grey.shape[0]))
        if x1 > x0 and y1 > y0:
            grey = grey.copy()
            roi = grey[y0:y1, x0:x1]
            cv2.GaussianBlur(roi, (0, 0), k, dst=roi)
    return cv2.warpAffine(grey, sim.matrix(), (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def normalise(crop: np.ndarray) -> np.ndarray:
    """uint8 grey crop(s) -> float32 in [-1, 1], the network's input scale (NHWC with C=1)."""
    x = np.asarray(crop, dtype=np.float32) * (2.0 / 255.0) - 1.0
    return x[..., None]


def encode_points(points: np.ndarray, spec: CropSpec, size: int) -> np.ndarray:
    """Frame points -> crop units in [0, 1] (the regression target)."""
    return (spec.to_crop(size).apply(np.asarray(points, dtype=np.float64)) / (size - 1)).astype(np.float32)


def decode_points(output: np.ndarray, spec: CropSpec, size: int) -> np.ndarray:
    """Network output (136,) in crop units -> (68, 2) frame points."""
    crop_pts = np.asarray(output, dtype=np.float64).reshape(-1, 2) * (size - 1)
    return spec.to_crop(size).inverse().apply(crop_pts).astype(np.float32)
