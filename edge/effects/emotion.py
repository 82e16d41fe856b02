"""Overlay each face's emotion: its label (and probability) above the head, and a bar per label beside it.

Text and bars are sized by the frame's height (legible on a 160x120 webcam frame and on a
1080p screen alike). The label is the pipeline's (`face.emotion`, against the track's own
running neutral baseline); a face without one (a still, a caller of `apply` outside the
pipeline) is classified here with the absolute head. A face whose top probability is under the
model's threshold shows "uncertain" in grey, with no percentage (the bars still show what it leaned
to): a mirror should not greet someone with a confident wrong label.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.effects import parse_args
from edge.faces import TrackedFace

_TEXT, _BAR, _TOP, _FRAME = (255, 255, 255), (170, 170, 170), (60, 200, 255), (110, 110, 110)
COLOURS = {  # BGR, one per label, for the label text
    "anger": (40, 40, 230),
    "contempt": (160, 80, 200),
    "disgust": (40, 160, 60),
    "fear": (200, 120, 40),
    "happiness": (40, 215, 255),
    "neutral": (230, 230, 230),
    "sadness": (220, 160, 90),
    "surprise": (60, 140, 255),
    "uncertain": (150, 150, 150),
}


class EmotionEffect:
    name = "emotion"

    def __init__(self, bars: bool = True) -> None:
        self.bars = bars
        self._classifier = None

    def _emotion(self, face: TrackedFace) -> dict:
        if face.emotion:
            return face.emotion
        if self._classifier is None:
            from edge.emotion import EmotionClassifier

            self._classifier = EmotionClassifier.load()
        a = self._classifier.answer(self._classifier.features(face.points))
        return {"label": a.label, "scores": a.scores, "head": a.head}

    def apply(self, frame: np.ndarray, faces: list[TrackedFace]) -> np.ndarray:
        h, w = frame.shape[:2]
        scale = max(0.3, h / 480.0 * 0.55)  # font scale: 0.55 at 480 lines
        thick = max(1, int(round(h / 480.0)))
        font = cv2.FONT_HERSHEY_SIMPLEX
        for face in faces:
            emo = self._emotion(face)
            pts = np.asarray(face.points, dtype=np.float64)
            lo, hi = pts.min(0), pts.max(0)
            label = emo["label"]
            text = label if label not in emo["scores"] else f"{label} {float(emo['scores'][label]):.0%}"  # "uncertain": no figure
            (tw, th), base = cv2.getTextSize(text, font, scale * 1.3, thick + 1)
            x = int(np.clip((lo[0] + hi[0]) / 2 - tw / 2, 2, max(2, w - tw - 2)))
            y = int(lo[1] - 0.35 * (hi[1] - lo[1]))  # above the brows, clear of the forehead
            y = int(np.clip(y, th + 4, h - base - 2))
            cv2.putText(frame, text, (x, y), font, scale * 1.3, (0, 0, 0), thick + 3, cv2.LINE_AA)
            cv2.putText(frame, text, (x, y), font, scale * 1.3, COLOURS.get(label, _TEXT), thick + 1, cv2.LINE_AA)
            if self.bars:
                self._bars(frame, emo, lo, hi, scale, thick)
        return frame

    def _bars(self, frame: np.ndarray, emo: dict, lo: np.ndarray, hi: np.ndarray, scale: float, thick: int) -> None:
        """One row per label (name, bar of its probability) on a darkened panel right of the face, or left without room."""
        h, w = frame.shape[:2]
        font, s = cv2.FONT_HERSHEY_SIMPLEX, scale * 0.8
        names = list(emo["scores"])
        (label_w, text_h), _ = cv2.getTextSize("happiness ", font, s, thick)
        row = int(text_h * 1.8)
        bar_w = int(label_w * 0.9)
        panel_w, panel_h = label_w + bar_w + 8, row * len(names) + 6
        gap = 0.15 * (hi[0] - lo[0])
        x = int(hi[0] + gap)
        if x + panel_w > w:
            x = int(lo[0] - gap) - panel_w
        x = int(np.clip(x, 0, max(0, w - panel_w)))
        y = int(np.clip(lo[1], 0, max(0, h - panel_h)))
        back = frame[y : y + panel_h, x : x + panel_w]
        back[:] = (back.astype(np.float32) * 0.45).astype(np.uint8)
        x, y = x + 4, y + 3
        for k, name in enumerate(names):
            yy = y + k * row
            v = float(np.clip(emo["scores"][name], 0.0, 1.0))
            cv2.putText(frame, name, (x, yy + (row + text_h) // 2), font, s, _TEXT, thick, cv2.LINE_AA)
            bx = x + label_w
            cv2.rectangle(frame, (bx, yy + 3), (bx + bar_w, yy + row - 3), _FRAME, 1)
            colour = _TOP if name == emo["label"] else _BAR  # an uncertain face: no bar highlighted
            cv2.rectangle(frame, (bx, yy + 3), (bx + int(round(bar_w * v)), yy + row - 3), colour, -1)


def create(args: str) -> EmotionEffect:
    pos, kw = parse_args(args)
    unknown = [a for a in pos if a.lower() not in ("bars", "nobars")] + [k for k in kw if k != "bars"]
    if unknown:
        raise ValueError(f"effect 'emotion': unknown argument {unknown[0]!r}; use emotion or emotion:bars=0 (the label only)")
    bars = kw.get("bars", "0" if "nobars" in (a.lower() for a in pos) else "1").lower() not in ("0", "no", "false", "off")
    return EmotionEffect(bars)
