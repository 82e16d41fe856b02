"""A procedural room behind the synthetic face: fixed per seed, drawn once, larger than the
frame so it can pan by slicing (no per-frame drawing)."""

from __future__ import annotations

import cv2
import numpy as np

from edge.synth.timeline import rng_for


def _colour(rng: np.random.Generator, lo: int = 40, hi: int = 220) -> tuple[int, int, int]:
    """A muted room colour: a grey level with a modest tint (walls and furniture, not toys)."""
    base = rng.uniform(lo, hi)
    tint = rng.normal(0, 0.12 * base, 3)
    return tuple(int(v) for v in np.clip(base + tint, 0, 255))


def make_background(width: int, height: int, seed: int, pad: int) -> np.ndarray:
    """(height + 2 pad, width + 2 pad, 3) uint8 BGR: wall gradient, floor, furniture-like
    boxes, frames, round shapes, shelf lines, soft shading and a fine texture."""
    rng = rng_for(seed, "background")
    h, w = height + 2 * pad, width + 2 * pad
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    top, bottom = np.array(_colour(rng, 90, 210), np.float32), np.array(_colour(rng, 50, 170), np.float32)
    t = (yy / h)[..., None]
    img = top * (1 - t) + bottom * t
    # a window-like light falloff from one side
    lx = rng.uniform(0, w)
    img *= (1.1 - 0.35 * np.abs(xx - lx) / w)[..., None]
    img = np.clip(img, 0, 255).astype(np.uint8)

    floor_y = int(h * rng.uniform(0.72, 0.85))
    cv2.rectangle(img, (0, floor_y), (w, h), _colour(rng, 30, 140), -1)
    for _ in range(int(rng.integers(5, 9))):  # furniture, doors, pictures
        x0, y0 = int(rng.uniform(-0.1, 0.95) * w), int(rng.uniform(0.05, 0.8) * h)
        bw, bh = int(rng.uniform(0.06, 0.3) * w), int(rng.uniform(0.08, 0.45) * h)
        c = _colour(rng)
        cv2.rectangle(img, (x0, y0), (x0 + bw, y0 + bh), c, -1)
        cv2.rectangle(img, (x0, y0), (x0 + bw, y0 + bh), tuple(int(v * 0.6) for v in c), int(rng.integers(2, 6)))
        if rng.random() < 0.5:  # a frame inside: a picture or a cabinet door
            m = int(min(bw, bh) * 0.15)
            cv2.rectangle(img, (x0 + m, y0 + m), (x0 + bw - m, y0 + bh - m), _colour(rng), -1)
    for _ in range(int(rng.integers(2, 5))):  # lamps, plants, clocks
        c = (int(rng.uniform(0, w)), int(rng.uniform(0.1, 0.9) * h))
        axes = (int(rng.uniform(0.02, 0.08) * w), int(rng.uniform(0.02, 0.1) * h))
        cv2.ellipse(img, c, axes, float(rng.uniform(0, 180)), 0, 360, _colour(rng), -1, cv2.LINE_AA)
    for _ in range(int(rng.integers(2, 5))):  # shelf edges
        y = int(rng.uniform(0.1, 0.7) * h)
        x0 = int(rng.uniform(0, 0.6) * w)
        cv2.line(img, (x0, y), (x0 + int(rng.uniform(0.15, 0.4) * w), y), _colour(rng, 20, 120), int(rng.integers(3, 8)))

    # low-frequency shading and a fine surface texture
    low = cv2.resize(rng.normal(0, 1, (max(2, h // 64), max(2, w // 64))).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    fine = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.2)
    shade = 1.0 + 0.08 * low + 0.04 * fine / (fine.std() + 1e-6)
    img = np.clip(img.astype(np.float32) * shade[..., None], 0, 255)
    img = cv2.GaussianBlur(img, (0, 0), 1.6)  # the room is behind the focus plane
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)
