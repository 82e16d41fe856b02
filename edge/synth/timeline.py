"""The synthetic face's animation timeline: deterministic, random-access curves over the frame index.
(Not the expression signals measured from points: those are edge/signals.py.)

Everything the renderer animates is a pure function of the frame index: periodic sums
of sinusoids for slow motion (so a script loops without a jump) and cue envelopes
(blink, smile, ...) placed at frames fixed by the seed. No state is carried from one
frame to the next, so `render(i)` can be called in any order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_MASK64 = (1 << 64) - 1


def rng_for(seed: int, *keys: int | str) -> np.random.Generator:
    """A generator for one named part of one seed's script (independent streams per part)."""
    ints = [int(seed) & 0xFFFFFFFF] + [k if isinstance(k, int) else int.from_bytes(k.encode()[:8].ljust(8, b"\0"), "little") for k in keys]
    return np.random.default_rng(np.random.SeedSequence(ints))


def hash_u64(*values: int) -> int:
    """splitmix64 over a few integers: a per-frame random number without building a Generator."""
    h = 0x9E3779B97F4A7C15
    for v in values:
        h = (h ^ (int(v) & _MASK64)) & _MASK64
        h = (h + 0x9E3779B97F4A7C15) & _MASK64
        z = h
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        h = z ^ (z >> 31)
    return h


class SmoothSignal:
    """A periodic signal in [-1, 1]: a few random harmonics of `period`, amplitude falling as 1/h,
    normalised so its extreme over one period is exactly +-1."""

    def __init__(self, rng: np.random.Generator, period: float, max_harmonic: int = 8, n_terms: int = 4) -> None:
        n_terms = min(n_terms, max_harmonic)
        self.harmonics = np.sort(rng.choice(np.arange(1, max_harmonic + 1), size=n_terms, replace=False)).astype(np.float64)
        self.amplitudes = rng.uniform(0.5, 1.0, n_terms) / np.sqrt(self.harmonics)
        self.phases = rng.uniform(0, 2 * np.pi, n_terms)
        self.omega = 2 * np.pi / float(period)
        grid = np.linspace(0.0, float(period), 2048, endpoint=False)
        self.norm = 1.0
        self.norm = float(np.abs(self(grid)).max()) or 1.0

    def __call__(self, t: float | np.ndarray) -> float | np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        v = (self.amplitudes * np.sin(self.omega * t[..., None] * self.harmonics + self.phases)).sum(-1) / self.norm
        return float(v) if v.ndim == 0 else v


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True)
class CueTrack:
    """Envelopes (rise, hold, fall frames) peaking at known frames: blinks, smiles, ...

    `peaks` are frame indices within one period; the envelope is 1 on [peak, peak + hold)
    and eases in over `rise` frames before and out over `fall` frames after.
    """

    peaks: np.ndarray  # (n,) int, sorted
    holds: np.ndarray  # (n,) int >= 1
    rise: int
    fall: int
    period: int

    def value(self, i: int) -> float:
        j = int(i) % self.period
        k = int(np.searchsorted(self.peaks, j + self.rise, side="right")) - 1
        if k < 0:
            return 0.0
        p, hold = int(self.peaks[k]), int(self.holds[k])
        if j < p:
            return _smoothstep((j - (p - self.rise - 1)) / (self.rise + 1))
        if j < p + hold:
            return 1.0
        return _smoothstep(1.0 - (j - (p + hold - 1)) / (self.fall + 1))

    def span(self, k: int) -> tuple[int, int]:
        """First and one-past-last frame where cue k is non-zero."""
        p = int(self.peaks[k])
        return p - self.rise, p + int(self.holds[k]) + self.fall

    def in_range(self, start: int, stop: int) -> list[int]:
        """Peak frames (absolute, looping) within [start, stop)."""
        out = []
        base = (start // self.period) * self.period
        while base < stop:
            out += [base + int(p) for p in self.peaks if start <= base + p < stop]
            base += self.period
        return out

    @staticmethod
    def empty(period: int, rise: int = 1, fall: int = 1) -> CueTrack:
        return CueTrack(np.zeros(0, np.int64), np.zeros(0, np.int64), rise, fall, period)


def schedule(
    rng: np.random.Generator,
    period: int,
    gap: tuple[int, int],
    hold: tuple[int, int],
    rise: int,
    fall: int,
    allowed: np.ndarray | None = None,
) -> CueTrack:
    """Cues spaced by a random gap, each kept only when its whole envelope lies in `allowed`
    (a bool per frame of the period; default: everywhere, away from the loop seam)."""
    peaks, holds = [], []
    t = int(rng.integers(gap[0] // 2, gap[1]))
    while True:
        h = int(rng.integers(hold[0], hold[1] + 1))
        lo, hi = t - rise, t + h + fall
        if hi >= period - 1:
            break
        if lo >= 1 and (allowed is None or allowed[lo:hi].all()):
            peaks.append(t)
            holds.append(h)
            t = hi + int(rng.integers(gap[0], gap[1] + 1))
        else:
            t += max(1, gap[0] // 4)
    return CueTrack(np.asarray(peaks, np.int64), np.asarray(holds, np.int64), rise, fall, period)
