"""Similarity transforms between point sets: the one alignment every stage shares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Similarity:
    """x' = scale * R(angle) @ x + t, kept as (a, b, tx, ty) with a = s cos, b = s sin."""

    a: float
    b: float
    tx: float
    ty: float

    @property
    def scale(self) -> float:
        return float(np.hypot(self.a, self.b))

    @property
    def angle(self) -> float:
        return float(np.arctan2(self.b, self.a))

    def matrix(self) -> np.ndarray:
        """2x3 affine matrix, as cv2.warpAffine takes it."""
        return np.array([[self.a, -self.b, self.tx], [self.b, self.a, self.ty]], dtype=np.float64)

    def apply(self, pts: np.ndarray) -> np.ndarray:
        x, y = pts[..., 0], pts[..., 1]
        out = np.empty_like(pts, dtype=np.float64)
        out[..., 0] = self.a * x - self.b * y + self.tx
        out[..., 1] = self.b * x + self.a * y + self.ty
        return out.astype(pts.dtype, copy=False) if pts.dtype.kind == "f" else out

    def inverse(self) -> Similarity:
        d = self.a * self.a + self.b * self.b
        ia, ib = self.a / d, -self.b / d
        return Similarity(ia, ib, -(ia * self.tx - ib * self.ty), -(ib * self.tx + ia * self.ty))

    def compose(self, other: Similarity) -> Similarity:
        """self after other."""
        a = self.a * other.a - self.b * other.b
        b = self.b * other.a + self.a * other.b
        tx = self.a * other.tx - self.b * other.ty + self.tx
        ty = self.b * other.tx + self.a * other.ty + self.ty
        return Similarity(a, b, tx, ty)


def fit_similarity(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> Similarity:
    """Least-squares similarity mapping src onto dst (Umeyama without reflection)."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    ms = (w[:, None] * src).sum(0)
    md = (w[:, None] * dst).sum(0)
    s = src - ms
    d = dst - md
    den = (w * (s**2).sum(1)).sum()
    if den <= 1e-12:
        return Similarity(1.0, 0.0, md[0] - ms[0], md[1] - ms[1])
    a = (w * (s[:, 0] * d[:, 0] + s[:, 1] * d[:, 1])).sum() / den
    b = (w * (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0])).sum() / den
    tx = md[0] - (a * ms[0] - b * ms[1])
    ty = md[1] - (b * ms[0] + a * ms[1])
    return Similarity(float(a), float(b), float(tx), float(ty))


@dataclass(frozen=True)
class Box:
    """Face box in pixels (x, y = top-left), with the detector's confidence.

    `angle` (radians, the face's roll: its eye line, as `edge.landmarks68.roll`) turns the box
    about its centre: a turned box is the tight box of the points levelled by -angle. 0 (the
    default) is the plain axis-aligned box every upright detector returns.
    """

    x: float
    y: float
    w: float
    h: float
    score: float = 1.0
    angle: float = 0.0

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @classmethod
    def around(cls, points: np.ndarray, angle: float = 0.0) -> Box:
        """The tight box of a landmark set: the box every landmarker is initialised from.
        With `angle`, the tight box of the points levelled by -angle, turned back by `angle`."""
        if angle == 0.0:
            lo = points.min(0)
            hi = points.max(0)
            return cls(float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))
        c, s = np.cos(angle), np.sin(angle)
        level = np.asarray(points, dtype=np.float64) @ np.array([[c, -s], [s, c]])  # each point turned by -angle
        lo, hi = level.min(0), level.max(0)
        mx, my = (lo + hi) / 2
        cx, cy = c * mx - s * my, s * mx + c * my  # the levelled box's centre turned back
        w, h = float(hi[0] - lo[0]), float(hi[1] - lo[1])
        return cls(float(cx - w / 2), float(cy - h / 2), w, h, 1.0, float(angle))

    def corners(self) -> np.ndarray:
        """(4, 2) corners, turned by `angle` about the centre."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64) * [self.w / 2, self.h / 2]
        return half @ np.array([[c, s], [-s, c]]) + [self.cx, self.cy]

    def transformed(self, sim: Similarity) -> Box:
        """The same box seen through a similarity (e.g. from a levelled window back into the frame)."""
        cx, cy = sim.apply(np.array([self.cx, self.cy], dtype=np.float64))
        w, h = self.w * sim.scale, self.h * sim.scale
        angle = float(np.arctan2(np.sin(self.angle + sim.angle), np.cos(self.angle + sim.angle)))
        return Box(float(cx - w / 2), float(cy - h / 2), w, h, self.score, angle)

    def iou(self, other: Box) -> float:
        if self.angle or other.angle:
            return _turned_iou(self, other)
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1 = min(self.x + self.w, other.x + other.w)
        y1 = min(self.y + self.h, other.y + other.h)
        inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0


def _turned_iou(a: Box, b: Box) -> float:
    """IoU of two boxes either of which is turned (convex polygon intersection)."""
    import cv2

    area, _ = cv2.intersectConvexConvex(a.corners().astype(np.float32), b.corners().astype(np.float32))
    inter = max(float(area), 0.0)
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0
