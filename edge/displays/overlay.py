"""What is drawn over the picture, by overlay mode.

`points`: landmarks and face box (what a kiosk user sees); `debug`: also each face's id
and score and the info line (fps, model, delegate); `none`: nothing.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.faces import TrackedFace

GREEN = (80, 220, 80)
YELLOW = (40, 200, 240)


def to_bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image


MODES = ("none", "points", "debug")


def overlay_mode(mode: str | bool) -> str:
    """The mode by name; True / False (the overlay option's old values) mean points / none."""
    if isinstance(mode, bool):
        return "points" if mode else "none"
    if mode not in MODES:
        raise ValueError(f"overlay mode {mode!r} not understood; use one of {', '.join(MODES)}")
    return mode


def draw_overlay(image: np.ndarray, faces: list[TrackedFace], info: str = "", scale: float = 1.0, mode: str | bool = "debug") -> np.ndarray:
    """Draws in place on a BGR image (copy first if the source must stay clean); `scale` maps
    tracking pixels to this image's pixels (picamera2's bigger display stream). `info`, the
    id and the score are drawn in `debug` mode only."""
    mode = overlay_mode(mode)
    if mode == "none":
        return image
    debug = mode == "debug"
    radius = max(1, int(round(image.shape[1] / 400)))
    for face in faces:
        pts = np.round(np.asarray(face.points, dtype=np.float64) * scale).astype(np.int32)
        for x, y in pts:
            cv2.circle(image, (int(x), int(y)), radius, GREEN, -1, cv2.LINE_AA)
        if face.box is not None:
            b = face.box
            p0 = (int(b.x * scale), int(b.y * scale))
            p1 = (int((b.x + b.w) * scale), int((b.y + b.h) * scale))
            cv2.rectangle(image, p0, p1, YELLOW, 1, cv2.LINE_AA)
            if debug:
                label = f"#{face.id} {face.score:.2f}"
                cv2.putText(image, label, (p0[0], max(12, p0[1] - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, YELLOW, 1, cv2.LINE_AA)
    if info and debug:
        cv2.putText(image, info, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(image, info, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return image
