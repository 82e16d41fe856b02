"""The 1-euro filter (Casiez, Roussel, Vogel, CHI 2012), vectorised over any number of values.

A low-pass filter whose cutoff rises with speed: still values are smoothed hard
(jitter goes), fast ones lightly (little lag). `speed_scale` divides the speed before it
sets the cutoff, so a speed measured in pixels can be read in face widths per second
and one `beta` works near and far from the camera.
"""

from __future__ import annotations

import math

import numpy as np


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuro:
    """Filters an array of shape (..., D); the speed for the cutoff is the norm over the last axis."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None
        self.t: float | None = None

    def reset(self) -> None:
        self.x = self.dx = self.t = None

    def __call__(self, x: np.ndarray, t: float, speed_scale: float = 1.0) -> np.ndarray:
        """The filtered value at time `t` (seconds). The same `t` again holds the last value (no time has
        passed to filter over); a `t` that goes back (a looped file starting at 0 again, a clock reset)
        starts afresh from `x`: returning the last value until time caught up froze the points."""
        x = np.asarray(x, dtype=np.float64)
        if self.x is not None and self.t is not None and t == self.t and self.x.shape == x.shape:
            return self.x
        if self.x is None or self.t is None or t < self.t or self.x.shape != x.shape:
            self.x, self.dx, self.t = x.copy(), np.zeros_like(x), t
            return self.x
        dt = t - self.t
        dx = (x - self.x) / dt
        self.dx = self.dx + _alpha(self.d_cutoff, dt) * (dx - self.dx)
        speed = np.linalg.norm(self.dx, axis=-1, keepdims=True) / max(speed_scale, 1e-9)
        a = _alpha(self.min_cutoff + self.beta * speed, dt)
        self.x = self.x + a * (x - self.x)
        self.t = t
        return self.x
