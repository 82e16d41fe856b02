"""Overlay the expression signals beside each face: a bar per signal (lit when its event
fires), head roll/yaw as numbers, and the eye and mouth outlines that the measures use."""

from __future__ import annotations

import cv2
import numpy as np

from edge.effects import parse_args
from edge.faces import TrackedFace
from edge.landmarks68 import LEFT_EYE, MOUTH_INNER, RIGHT_EYE, interocular
from edge.signals import compute_signals, events

BARS = ("blink", "mouth_open", "smile", "brow_raise")
_ON, _OFF, _TEXT = (60, 220, 60), (150, 150, 150), (255, 255, 255)


class SignalsEffect:
    name = "signals"

    def __init__(self, outlines: bool = True) -> None:
        self.outlines = outlines

    def apply(self, frame: np.ndarray, faces: list[TrackedFace]) -> np.ndarray:
        h, w = frame.shape[:2]
        for face in faces:
            sig = face.signals or compute_signals(face.points)
            on = events(sig)
            pts = np.asarray(face.points, dtype=np.float64)
            if self.outlines:
                for idx, key in ((RIGHT_EYE, "blink"), (LEFT_EYE, "blink"), (MOUTH_INNER, "mouth_open")):
                    poly = (pts[idx] * 16).round().astype(np.int32)
                    cv2.polylines(frame, [poly], True, _ON if on[key] else _OFF, 1, cv2.LINE_AA, 4)
            # the panel sits right of the face, or left when there is no room; a dark backing keeps it legible
            iod = float(interocular(pts))
            scale = float(np.clip(iod / 150.0, 0.35, 0.6))
            (label_w, text_h), _ = cv2.getTextSize("mouth open ", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)  # the longest label
            row = int(text_h * 1.9)
            bar_w = int(label_w * 0.8)
            panel_w, panel_h = label_w + bar_w + 8, row * 5 + 6
            x = int(pts[:, 0].max() + 0.25 * iod)
            if x + panel_w > w:
                x = int(pts[:, 0].min() - 0.25 * iod) - panel_w
            x = int(np.clip(x, 0, max(0, w - panel_w)))
            y = int(np.clip(pts[:, 1].min(), 0, max(0, h - panel_h)))
            back = frame[y : y + panel_h, x : x + panel_w]
            back[:] = (back.astype(np.float32) * 0.45).astype(np.uint8)
            x, y = x + 4, y + 3
            for k, key in enumerate(BARS):
                yy = y + k * row
                value = float(np.clip(sig.get(key, 0.0), 0, 1))
                colour = _ON if on[key] else _OFF
                baseline = yy + (row + text_h) // 2
                cv2.putText(frame, key.replace("_", " "), (x, baseline), cv2.FONT_HERSHEY_SIMPLEX, scale, _TEXT, 1, cv2.LINE_AA)
                bx = x + label_w
                cv2.rectangle(frame, (bx, yy + 3), (bx + bar_w, yy + row - 3), _OFF, 1)
                cv2.rectangle(frame, (bx, yy + 3), (bx + int(bar_w * value), yy + row - 3), colour, -1)
            text = f"roll {sig.get('roll_deg', 0.0):+.0f}  yaw {sig.get('yaw_deg', 0.0):+.0f}"
            cv2.putText(frame, text, (x, y + 4 * row + (row + text_h) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, _TEXT, 1, cv2.LINE_AA)
        return frame


def create(args: str) -> SignalsEffect:
    pos, kw = parse_args(args)
    outlines = kw.get("outlines", "1").lower() not in ("0", "no", "false", "off")
    return SignalsEffect(outlines)
