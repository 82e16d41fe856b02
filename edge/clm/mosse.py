"""MOSSE correlation filters (Bolme et al. 2010): a patch's appearance as a filter learned in the Fourier domain.

Trained on S x S images f_i with the point at offset t_i from their centre and desired correlation outputs
g_i (a Gaussian peaked at the point), the filter is the closed form

    H* = sum_i G_i . conj(F_i) / (sum_i F_i . conj(F_i) + lambda)

(capitals: 2-D FFTs of the Hann-windowed images; lambda = `lam` x the mean spectral energy, so it is
scale-free). Every circular shift of a training image is implicitly a sample whose target is the shifted
Gaussian, so images larger than the point's patch (the CLM's search windows, the point anywhere near
their centre) teach the filter the point's surroundings as negatives. Correlating an image with it
gives a map that peaks where the point is:

- `locate(patch)`: the point's offset from the patch centre (sub-pixel) and the peak-to-sidelobe ratio;
  `recentre(grey, x, y)` repeats it on patches cut at the moving estimate (the window pulls one step's
  offset towards the centre, so a second step settles it) to re-centre a point between frames;
  `update(patch)` adapts the filter online (running averages of the numerator and denominator, Bolme's
  learning rate).
- `spatial_filter()`: the same filter as a P x P sliding-correlation kernel (Hann window folded in):
  its correlation with the patch at each window position is that patch's zero-shift output, so a
  MOSSE expert is one more depthwise-convolution kernel for the CLM's response maps.

numpy only (numpy.fft): nothing here needs SciPy.
"""

from __future__ import annotations

import cv2
import numpy as np


def hann(p: int) -> np.ndarray:
    """(p, p) separable Hann window, positive everywhere (so no pixel is ignored outright)."""
    w = 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(p) + 0.5) / p)
    return np.outer(w, w)


def gaussian_target(p: int, sigma: float, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """(p, p) Gaussian of `sigma` px peaked at the centre (p // 2, p // 2) + offset (x, y), wrapped circularly."""
    d = np.arange(p)
    dx = (d - p // 2 - offset[0] + p / 2) % p - p / 2
    dy = (d - p // 2 - offset[1] + p / 2) % p - p / 2
    return np.exp(-(dy[:, None] ** 2 + dx[None, :] ** 2) / (2.0 * sigma**2))


class Mosse:
    """One MOSSE filter: numerator A = sum G conj(F) and denominator B = sum F conj(F) (kept for online updates)."""

    def __init__(self, numerator: np.ndarray, denominator: np.ndarray, sigma: float, lam: float) -> None:
        self.num = np.asarray(numerator, dtype=np.complex128)
        self.den = np.asarray(denominator, dtype=np.float64)
        self.sigma = float(sigma)
        self.lam = float(lam)
        self.size = int(self.num.shape[0])
        self._window = hann(self.size)

    @classmethod
    def train(cls, images: np.ndarray, offsets: np.ndarray | None = None, sigma: float = 1.0, lam: float = 0.1) -> Mosse:
        """From (N, S, S) images (or one (S, S)) with the point at `offsets` (N, 2) (x, y) px from each centre
        (default: at the centre)."""
        x = np.asarray(images, dtype=np.float64)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1] != x.shape[2] or len(x) == 0:
            raise ValueError(f"MOSSE needs square images (N, S, S), got shape {x.shape}")
        s = x.shape[1]
        offs = np.zeros((len(x), 2)) if offsets is None else np.asarray(offsets, dtype=np.float64).reshape(len(x), 2)
        f = np.fft.fft2(cls._prepare(x, hann(s)))
        g = np.fft.fft2(np.stack([gaussian_target(s, sigma, (ox, oy)) for ox, oy in offs]))
        return cls((g * np.conj(f)).sum(0), (f * np.conj(f)).real.sum(0), sigma, lam)

    @staticmethod
    def _prepare(x: np.ndarray, window: np.ndarray) -> np.ndarray:
        """Zero-mean, unit-norm per patch, times the window (Bolme's preprocessing, without the log)."""
        x = x - x.mean(axis=(-2, -1), keepdims=True)
        x = x / (np.sqrt((x * x).sum(axis=(-2, -1), keepdims=True)) + 1e-9)
        return x * window

    @property
    def conj_filter(self) -> np.ndarray:
        """H* (P, P) complex."""
        return self.num / (self.den + self.lam * self.den.mean() + 1e-12)

    def response(self, patch: np.ndarray) -> np.ndarray:
        """(S, S) correlation output: index (S//2 + dy, S//2 + dx) says how likely the point is at centre + (dx, dy)."""
        f = np.fft.fft2(self._prepare(np.asarray(patch, dtype=np.float64), self._window))
        return np.real(np.fft.ifft2(f * self.conj_filter))

    def locate(self, patch: np.ndarray) -> tuple[float, float, float]:
        """(dx, dy, psr): where the point lies relative to the patch centre (sub-pixel, by a parabola through
        the peak and its neighbours) and the peak-to-sidelobe ratio (how sure: ~>6 for a clear peak)."""
        r = self.response(patch)
        p = self.size
        iy, ix = np.unravel_index(int(np.argmax(r)), r.shape)

        def refine(m1: float, c: float, p1: float) -> float:
            den = m1 - 2 * c + p1
            return float(np.clip(0.5 * (m1 - p1) / den, -0.5, 0.5)) if den < 0 else 0.0

        dx = ix - p // 2 + (refine(r[iy, ix - 1], r[iy, ix], r[iy, ix + 1]) if 0 < ix < p - 1 else 0.0)
        dy = iy - p // 2 + (refine(r[iy - 1, ix], r[iy, ix], r[iy + 1, ix]) if 0 < iy < p - 1 else 0.0)
        side = np.ones_like(r, dtype=bool)
        side[max(iy - 1, 0) : iy + 2, max(ix - 1, 0) : ix + 2] = False
        psr = float((r[iy, ix] - r[side].mean()) / (r[side].std() + 1e-12))
        return float(dx), float(dy), psr

    def recentre(self, grey: np.ndarray, x: float, y: float, iterations: int = 3, tol: float = 0.05) -> tuple[float, float, float]:
        """(x, y, psr): the point near (x, y) in a grey image (e.g. the next frame), by `locate` on patches
        cut (sub-pixel) at the current estimate until it moves less than `tol` px."""
        img = np.asarray(grey, dtype=np.float32)
        psr = 0.0
        for _ in range(max(1, iterations)):
            patch = cv2.getRectSubPix(img, (self.size, self.size), (float(x), float(y)))
            dx, dy, psr = self.locate(patch)
            x, y = x + dx, y + dy
            if abs(dx) + abs(dy) < tol:
                break
        return float(x), float(y), psr

    def update(self, patch: np.ndarray, rate: float = 0.125) -> None:
        """Blend in a patch centred on the point (the tracked frame's), at learning rate `rate`."""
        f = np.fft.fft2(self._prepare(np.asarray(patch, dtype=np.float64), self._window))
        self.num = (1 - rate) * self.num + rate * np.fft.fft2(gaussian_target(self.size, self.sigma)) * np.conj(f)
        self.den = (1 - rate) * self.den + rate * (f * np.conj(f)).real

    def spatial_filter(self, p: int | None = None) -> np.ndarray:
        """(p, p) float32 kernel k (default p = S) for sliding correlation: sum(patch * k) over a patch centred on
        a position is the correlation output there (the filter centred on the point, Hann window folded in,
        cut to p x p; k sums to zero, so the patch's mean drops out; its norm is left to the logistic the
        experts put on top)."""
        s = self.size
        p = s if p is None else int(p)
        if not (0 < p <= s and p % 2 == s % 2):
            raise ValueError(f"a {s}x{s} MOSSE filter cuts to an odd size up to {s} of the same parity, not {p}")
        k = np.fft.fftshift(np.real(np.fft.ifft2(np.conj(self.conj_filter)))) * self._window
        k = k[s // 2 - p // 2 : s // 2 + p // 2 + 1, s // 2 - p // 2 : s // 2 + p // 2 + 1]
        return (k - k.mean()).astype(np.float32)
