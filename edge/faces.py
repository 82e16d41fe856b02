"""What the tracker hands to smoothing, effects, overlays and `--landmarks-out`, per face per frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edge.geometry import Box


@dataclass
class TrackedFace:
    id: int  # stable while the track lives
    points: np.ndarray  # (68, 2) float32, source-frame pixels (smoothed when smoothing is on)
    score: float  # face confidence from the landmarker
    box: Box | None = None
    raw_points: np.ndarray | None = None  # before smoothing
    signals: dict[str, float] = field(default_factory=dict)  # expression signals (blink, smile, ...)
    emotion: dict | None = None  # {"label": str, "scores": {label: probability}} (edge/emotion.py)

    def to_json(self) -> dict:
        out = {
            "id": int(self.id),
            "score": round(float(self.score), 4),
            "points": [[round(float(x), 2), round(float(y), 2)] for x, y in self.points],
        }
        if self.signals:
            out["signals"] = {k: round(float(v), 4) for k, v in self.signals.items()}
        if self.emotion:
            out["emotion"] = {"label": self.emotion["label"], "scores": {k: round(float(v), 3) for k, v in self.emotion["scores"].items()}}
        return out
