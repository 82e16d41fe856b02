"""Small generated media shared by the tests (importable as `media`: pytest puts tests/ on sys.path)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def blank_video(path: Path, n: int = 20) -> Path:
    """An MJPG .avi of n faceless 320x240 frames, each a shade lighter: a real file for `--source file:`."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240))
    for i in range(n):
        w.write(np.full((240, 320, 3), (60 + 4 * i) % 256, np.uint8))
    w.release()
    assert path.stat().st_size > 0
    return path
