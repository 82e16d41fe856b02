"""Overlay the expression signals beside each face: a bar per signal (lit when its event
fires), head roll/yaw as numbers, and the eye and mouth outlines that the measures use.

The panel is sized by the frame, not the face (text reads the same on a 640 px and a
1920 px screen: font scale proportional to the frame's width, capped), and placed beside
the face, never over it while there is room anywhere around it: right, left, below, above,
then the frame's corners; only when none is free does it shrink (to MIN_SCALE), and then it
goes where it covers the least of the face.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from edge.effects import parse_args
from edge.faces import TrackedFace
from edge.landmarks68 import LEFT_EYE, MOUTH_INNER, RIGHT_EYE
from edge.signals import compute_signals, events

BARS = ("blink", "mouth_open", "smile", "brow_raise")
_ON, _OFF, _TEXT = (60, 220, 60), (150, 150, 150), (255, 255, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX
SCALE_PER_PX = 0.42 / 640  # font scale per pixel of frame width: 0.42 on a 640 px frame, 1.0 (the cap) from 1524 px
MIN_SCALE, MAX_SCALE = 0.3, 1.0  # smaller is unreadable; larger only wastes the screen


class Panel(NamedTuple):
    x: int
    y: int
    w: int
    h: int
    scale: float  # font scale


def _panel_size(scale: float) -> tuple[int, int, int, int, int]:
    """(width, height, label width, row height, text height) of the panel at a font scale."""
    thick = _thickness(scale)
    (label_w, text_h), _ = cv2.getTextSize("mouth open ", _FONT, scale, thick)  # the longest label
    (roll_w, _), _ = cv2.getTextSize("roll +00  yaw +00", _FONT, scale, thick)
    row = int(text_h * 1.9)
    pad = max(3, row // 4)
    width = max(label_w + label_w // 2, roll_w) + 2 * pad
    return width, row * 5 + 2 * pad, label_w, row, text_h


def _thickness(scale: float) -> int:
    return max(1, round(scale * 1.6))


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return max(0, min(ax + aw, bx + bw) - max(ax, bx)) * max(0, min(ay + ah, by + bh) - max(ay, by))


def panel_rect(frame_shape: tuple[int, ...], points: np.ndarray) -> Panel:
    """Where the panel of the face with `points` goes on a frame of `frame_shape`, and its font scale."""
    h, w = frame_shape[:2]
    pts = np.asarray(points, dtype=np.float64)
    fx0, fy0 = np.floor(pts.min(0)).astype(int)
    fx1, fy1 = np.ceil(pts.max(0)).astype(int)
    face = (int(fx0), int(fy0), int(fx1 - fx0), int(fy1 - fy0))
    scale = float(np.clip(SCALE_PER_PX * w, MIN_SCALE, MAX_SCALE))
    best: Panel | None = None
    best_cover = None
    while True:
        pw, ph, *_ = _panel_size(scale)
        gap = max(4, pw // 12)
        candidates = [
            (fx1 + gap, fy0),  # right of the face, level with its top
            (fx0 - gap - pw, fy0),  # left
            (fx0, fy1 + gap),  # below
            (fx0, fy0 - gap - ph),  # above
            (w - pw, 0), (0, 0), (w - pw, h - ph), (0, h - ph),  # the frame's corners
        ]
        for cx, cy in candidates:
            x = int(np.clip(cx, 0, max(0, w - pw)))
            y = int(np.clip(cy, 0, max(0, h - ph)))
            cover = _overlap((x, y, pw, ph), face)
            if best_cover is None or cover < best_cover:
                best, best_cover = Panel(x, y, pw, ph, scale), cover
            if cover == 0:
                return Panel(x, y, pw, ph, scale)
        if scale <= MIN_SCALE:
            assert best is not None
            return best
        scale = max(MIN_SCALE, scale * 0.85)


class SignalsEffect:
    name = "signals"

    def __init__(self, outlines: bool = True) -> None:
        self.outlines = outlines

    def apply(self, frame: np.ndarray, faces: list[TrackedFace]) -> np.ndarray:
        for face in faces:
            sig = face.signals or compute_signals(face.points)
            on = events(sig)
            pts = np.asarray(face.points, dtype=np.float64)
            if self.outlines:
                for idx, key in ((RIGHT_EYE, "blink"), (LEFT_EYE, "blink"), (MOUTH_INNER, "mouth_open")):
                    poly = (pts[idx] * 16).round().astype(np.int32)
                    cv2.polylines(frame, [poly], True, _ON if on[key] else _OFF, 1, cv2.LINE_AA, 4)
            panel = panel_rect(frame.shape, pts)
            self._draw(frame, panel, sig, on)
        return frame

    @staticmethod
    def _draw(frame: np.ndarray, panel: Panel, sig: dict, on: dict) -> None:
        """The bars and the roll/yaw line on a dark backing (legible over anything)."""
        scale, thick = panel.scale, _thickness(panel.scale)
        _, _, label_w, row, text_h = _panel_size(scale)
        back = frame[panel.y : panel.y + panel.h, panel.x : panel.x + panel.w]
        back[:] = (back.astype(np.float32) * 0.45).astype(np.uint8)
        pad = max(3, row // 4)
        x, y = panel.x + pad, panel.y + pad
        bar_w = panel.w - 2 * pad - label_w
        inset = max(2, row // 6)
        for k, key in enumerate(BARS):
            yy = y + k * row
            value = float(np.clip(sig.get(key, 0.0), 0, 1))
            colour = _ON if on[key] else _OFF
            baseline = yy + (row + text_h) // 2
            cv2.putText(frame, key.replace("_", " "), (x, baseline), _FONT, scale, _TEXT, thick, cv2.LINE_AA)
            bx = x + label_w
            cv2.rectangle(frame, (bx, yy + inset), (bx + bar_w, yy + row - inset), _OFF, 1)
            cv2.rectangle(frame, (bx, yy + inset), (bx + int(bar_w * value), yy + row - inset), colour, -1)
        text = f"roll {sig.get('roll_deg', 0.0):+.0f}  yaw {sig.get('yaw_deg', 0.0):+.0f}"
        cv2.putText(frame, text, (x, y + 4 * row + (row + text_h) // 2), _FONT, scale, _TEXT, thick, cv2.LINE_AA)


def create(args: str) -> SignalsEffect:
    pos, kw = parse_args(args)
    outlines = kw.get("outlines", "1").lower() not in ("0", "no", "false", "off")
    return SignalsEffect(outlines)
