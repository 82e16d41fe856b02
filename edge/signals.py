"""Expression signals from 68 landmarks: blink, mouth open, smile, brow raise, head roll and yaw.

Every measure is taken in the face's own frame (the mean shape fitted to the points by a
similarity), so it does not change with the face's size, position or roll. Raw measures
become 0..1 scores against a neutral value and a "full" value calibrated on the annotated
data (`edgetrack train expressions`, convert/signal_thresholds.py -> models/expressions.json);
the events (blink, smile, mouth open) fire when a score passes its calibrated threshold.
Measuring only: the synthetic face's expressions are animated in edge/synth/animate.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from edge.geometry import fit_similarity
from edge.landmarks68 import (
    BROWS,
    EYES,
    INNER_LIP_PAIRS,
    JAW,
    LEFT_EYE,
    LOWER_LIP_BOTTOM,
    MOUTH_CORNERS,
    NOSE_TIP,
    RIGHT_EYE,
    UPPER_LIP_TOP,
)
from edge.paths import model_path

CALIBRATION_FILE = "expressions.json"

# Fallbacks when models/expressions.json is absent: values from a calibration run on the
# shared data (see convert/signal_thresholds.py), so a bare checkout still gives sensible signals.
DEFAULTS: dict[str, dict[str, float]] = {
    "ear": {"neutral": 0.296, "full": 0.008, "threshold": 0.152},
    "mouth_gap": {"neutral": 0.0, "full": 0.291, "threshold": 0.463},
    "smile": {"neutral": -0.016, "full": 0.310, "threshold": 0.393, "width_neutral": 0.942},
    "brow": {"neutral": 0.374, "full": 0.501, "threshold": 0.5},
}
# Depth of the nose tip in front of the jaw's widest points, in units of the half face
# width (anthropometric, ~1): yaw = atan(asymmetry / NOSE_DEPTH).
NOSE_DEPTH = 1.0


@dataclass(frozen=True)
class Calibration:
    """Neutral and full values of each raw measure, and the score at which its event fires."""

    measures: dict[str, dict[str, float]] = field(default_factory=lambda: {k: dict(v) for k, v in DEFAULTS.items()})

    def score(self, name: str, raw: float) -> float:
        m = self.measures[name]
        span = m["full"] - m["neutral"]
        return float(np.clip((raw - m["neutral"]) / span, 0.0, 1.0)) if abs(span) > 1e-9 else 0.0

    def threshold(self, name: str) -> float:
        return float(self.measures[name]["threshold"])

    def save(self, path: Path, extra: dict | None = None) -> None:
        out = {"measures": self.measures, **(extra or {})}
        path.write_text(json.dumps(out, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path | str | None = None) -> Calibration:
        path = Path(path) if path else model_path(CALIBRATION_FILE)
        if not path.is_file():
            return cls()
        measures = {k: dict(v) for k, v in DEFAULTS.items()}
        for k, v in json.loads(path.read_text()).get("measures", {}).items():
            measures.setdefault(k, {}).update({kk: float(vv) for kk, vv in v.items()})
        return cls(measures)


@lru_cache(maxsize=1)
def _reference() -> np.ndarray:
    """The mean shape (unit RMS radius): the frame every measure is taken in."""
    from edge.shape_model import ShapeModel

    return ShapeModel.load().mean


@lru_cache(maxsize=1)
def default_calibration() -> Calibration:
    return Calibration.load()


def _dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a - b, axis=-1)


def eye_aspect_ratio(eye: np.ndarray) -> float:
    """(|p2-p6| + |p3-p5|) / (2 |p1-p4|) for the six points of one eye (Soukupova & Cech 2016)."""
    width = max(float(_dist(eye[0], eye[3])), 1e-6)
    return float((_dist(eye[1], eye[5]) + _dist(eye[2], eye[4])) / (2.0 * width))


def raw_measures(points: np.ndarray) -> dict[str, float]:
    """Scale- and roll-free measures of one face (68, 2); the inputs to the scores."""
    pts = np.asarray(points, dtype=np.float64)
    sim = fit_similarity(_reference(), pts)
    local = sim.inverse().apply(pts)  # face frame: unit RMS radius, x across, y down, roll removed
    ear_r = eye_aspect_ratio(local[RIGHT_EYE])  # subject's right eye (image left)
    ear_l = eye_aspect_ratio(local[LEFT_EYE])
    # inner-lip opening (three vertical gaps between the inner lips)
    gap = float(_dist(local[INNER_LIP_PAIRS[:, 0]], local[INNER_LIP_PAIRS[:, 1]]).mean())
    # smile: mouth corners pulled up (above the lips' centre line) and out (wider mouth)
    corners = local[MOUTH_CORNERS]
    centre_y = 0.5 * (local[UPPER_LIP_TOP, 1] + local[LOWER_LIP_BOTTOM, 1])
    lift = float(centre_y - corners[:, 1].mean())
    width = float(_dist(corners[0], corners[1]))
    # brow raise: mean brow height above the eyes
    brow = float(local[EYES, 1].mean() - local[BROWS, 1].mean())
    # yaw from the nose tip's offset between the jaw's widest points, its two ends (cylinder head model)
    left, right = float(local[NOSE_TIP, 0] - local[JAW[0], 0]), float(local[JAW[-1], 0] - local[NOSE_TIP, 0])
    asym = (left - right) / max(left + right, 1e-6)
    return {
        "ear_left": ear_l,
        "ear_right": ear_r,
        "mouth_gap": gap,
        "mouth_width": width,
        "mouth_lift": lift,
        "brow": brow,
        "roll_deg": float(np.degrees(sim.angle)),
        "yaw_deg": float(np.degrees(np.arctan2(asym, NOSE_DEPTH))),
    }


def smile_raw(m: dict[str, float], cal: Calibration) -> float:
    """Corner lift plus mouth widening beyond neutral: one number a smile raises."""
    width0 = cal.measures["smile"].get("width_neutral", m["mouth_width"])
    return m["mouth_lift"] + 0.5 * (m["mouth_width"] - width0)


def compute_signals(points: np.ndarray, calibration: Calibration | None = None) -> dict[str, float]:
    """Expression signals of one face: EARs, blink (0/1), mouth_open, smile, brow_raise (0..1), roll/yaw (degrees)."""
    cal = calibration or default_calibration()
    m = raw_measures(points)
    ear = 0.5 * (m["ear_left"] + m["ear_right"])
    mouth = cal.score("mouth_gap", m["mouth_gap"])
    smile = cal.score("smile", smile_raw(m, cal))
    return {
        "ear_left": m["ear_left"],
        "ear_right": m["ear_right"],
        "blink": float(ear < cal.threshold("ear")),
        "mouth_open": mouth,
        "smile": smile,
        "brow_raise": cal.score("brow", m["brow"]),
        "roll_deg": m["roll_deg"],
        "yaw_deg": m["yaw_deg"],
    }


def events(signals: dict[str, float], calibration: Calibration | None = None) -> dict[str, bool]:
    """Which expressions are 'on' (for overlays and triggers): blink, mouth open, smile, brows raised."""
    cal = calibration or default_calibration()
    return {
        "blink": signals.get("blink", 0.0) >= 0.5,
        "mouth_open": signals.get("mouth_open", 0.0) >= cal.threshold("mouth_gap"),
        "smile": signals.get("smile", 0.0) >= cal.threshold("smile"),
        "brow_raise": signals.get("brow_raise", 0.0) >= cal.threshold("brow"),
    }
