"""Scripts for the synthetic face: who is in the frame, where, doing what, at every frame.

A script is fixed by (scenario, seed, frame size) and loops with `period`. Each actor
(one on-screen appearance of a synthetic person) has tables over the period: whether
it is present, its motion time (which stops advancing on still segments, so the head
freezes exactly) and whether the head moved since the previous frame. Pose, identity
and lighting are smooth periodic functions of motion time; expressions are cue
envelopes at frames fixed by the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edge.synth.timeline import CueTrack, SmoothSignal, rng_for, schedule

SCENARIOS = ("default", "still", "soak", "roll")
EXPRESSIONS = ("blink", "smile", "mouth_open", "brow")
BLINK = {"gap": (45, 130), "hold": (1, 1), "rise": 2, "fall": 3}  # ~6 frames, peak at the cue frame
SLOW_CUE = {"gap": (60, 200), "hold": (15, 45), "rise": 8, "fall": 10}


@dataclass
class FaceState:
    """One face at one frame, before rendering."""

    id: int
    cx: float
    cy: float
    iod: float  # outer eye-corner distance of the mean shape at this scale, pixels
    roll: float  # radians
    params: np.ndarray  # non-rigid shape parameters
    blink: float
    smile: float
    mouth_open: float
    brow: float
    moving: bool
    colour: np.ndarray  # (3,) BGR gain: skin tint x lighting
    light: tuple[float, float, float]  # directional gradient: (dx, dy, strength)
    hair: tuple[float, float, float]  # BGR
    shirt: tuple[float, float, float]  # BGR


@dataclass
class SceneState:
    faces: list[FaceState]
    pan: tuple[float, float]  # background offset, -1..1 of the pad
    gain: np.ndarray  # (3,) global exposure / white balance


@dataclass
class Person:
    """A synthetic identity: shape parameters, skin tint and its own expression cues."""

    id: int
    params: np.ndarray
    tint: np.ndarray
    cues: dict[str, CueTrack]
    hair: tuple[float, float, float]
    shirt: tuple[float, float, float]


@dataclass
class Actor:
    person: Person
    present: np.ndarray  # (P,) bool
    tm: np.ndarray  # (P,) float motion time (frames of movement so far)
    moving: np.ndarray  # (P,) bool
    path: object  # callable tm -> (cx, cy, iod, roll)
    variation: list[SmoothSignal] = field(default_factory=list)  # per shape parameter, of tm
    var_amp: np.ndarray | None = None


def _person(pid: int, seed: int, sigma: np.ndarray, period: int, still_cues_everywhere: bool, moving_mask: np.ndarray | None) -> Person:
    rng = rng_for(seed, "person", pid)
    params = rng.uniform(-0.6, 0.6, len(sigma)) * sigma
    tint = np.ones(3)
    if pid:  # person 0 keeps the mean face's own colour; others get a darker or lighter, warmer or cooler skin
        tint = np.clip(np.array([0.95, 1.0, 1.03]) * rng.uniform(0.72, 1.08) + rng.normal(0, 0.04, 3), 0.6, 1.2)
    cues = {"blink": schedule(rng, period, BLINK["gap"], BLINK["hold"], BLINK["rise"], BLINK["fall"])}
    allowed = None if still_cues_everywhere else moving_mask
    for name in ("smile", "mouth_open", "brow"):
        c = SLOW_CUE
        gap = (c["gap"][0] * 2, c["gap"][1] * 2)
        cues[name] = schedule(rng, period, gap, c["hold"], c["rise"], c["fall"], allowed)
    hairs = ((25, 30, 40), (20, 22, 25), (40, 60, 90), (70, 110, 150), (55, 55, 60), (30, 45, 70))
    hair = hairs[pid % len(hairs)] if pid else hairs[0]
    shirt = tuple(float(v) for v in np.clip(rng.uniform(30, 190) + rng.normal(0, 25, 3), 10, 230))
    return Person(pid, params, tint, cues, tuple(float(v) for v in hair), shirt)


def _variation(
    rng: np.random.Generator, sigma: np.ndarray, base: np.ndarray, period: float, max_sigma: np.ndarray
) -> tuple[list[SmoothSignal], np.ndarray]:
    """Slow signals per shape parameter whose sum with `base` stays within `max_sigma`."""
    sigs = [SmoothSignal(rng, period, max_harmonic=6, n_terms=3) for _ in sigma]
    amp = np.maximum(max_sigma * sigma - np.abs(base), 0.0)
    return sigs, amp


class Script:
    """Base: turns the tables into per-frame states."""

    period: int
    actors: list[Actor]
    width: int
    height: int

    def __init__(self, width: int, height: int, seed: int, sigma: np.ndarray) -> None:
        self.width, self.height, self.seed, self.sigma = width, height, seed, sigma
        rng = rng_for(seed, "scene")
        self.scene_gain = [SmoothSignal(rng, self.scene_period(), 5, 3) for _ in range(4)]
        self.light = [SmoothSignal(rng, self.scene_period(), 4, 3) for _ in range(2)]
        self.pan = [SmoothSignal(rng, self.scene_period(), 3, 2) for _ in range(2)]

    def scene_period(self) -> float:
        return float(self.period)

    def scene_time(self, i: int) -> float:
        return float(i % self.period)

    def state(self, i: int) -> SceneState:
        j = i % self.period
        t = self.scene_time(i)
        g = 1.0 + 0.18 * self.scene_gain[0](t)
        wb = 1.0 + 0.06 * np.array([self.scene_gain[1](t), 0.0, self.scene_gain[2](t)])
        ang = np.pi * (0.5 + self.light[0](t))  # mostly from the side
        strength = 0.25 + 0.15 * self.light[1](t)
        light = (float(np.cos(ang)), float(np.sin(ang) * 0.5), float(strength))
        faces = []
        for a in self.actors:
            if not a.present[j]:
                continue
            tm = float(a.tm[j])
            cx, cy, iod, roll = a.path(tm)
            p = a.person.params + np.array([s(tm) for s in a.variation]) * a.var_amp
            cues = {k: a.person.cues[k].value(j) for k in EXPRESSIONS}
            faces.append(
                FaceState(a.person.id, cx, cy, iod, roll, p, cues["blink"], cues["smile"], cues["mouth_open"], cues["brow"],
                          bool(a.moving[j]), a.person.tint, light, a.person.hair, a.person.shirt)
            )
        faces.sort(key=lambda f: f.iod)  # far faces first, near ones drawn over them
        pan = (self.pan[0](t), self.pan[1](t))
        return SceneState(faces, pan, g * wb)

    def cue_frames(self, name: str, start: int, stop: int) -> list[int]:
        """Peak frames of cue `name` for faces present then, in [start, stop)."""
        if name not in EXPRESSIONS:
            raise ValueError(f"unknown cue {name!r}; choose one of: {', '.join(EXPRESSIONS)}")
        out = set()
        for a in self.actors:
            for f in a.person.cues[name].in_range(start, stop):
                if a.present[f % self.period]:
                    out.add(f)
        return sorted(out)


def _moving_from_tm(tm: np.ndarray, present: np.ndarray) -> np.ndarray:
    prev_tm = np.roll(tm, 1)
    prev_present = np.roll(present, 1)
    return present & (~prev_present | (tm != prev_tm))


class DefaultScript(Script):
    """One face: still segments (head frozen, only blinks) alternate with moving segments
    (translation, roll, approach/recede, identity/pose drift, expressions, lighting, pan)."""

    STILL, MOVE, CYCLES = 90, 150, 8

    def __init__(self, width: int, height: int, seed: int, sigma: np.ndarray) -> None:
        c = self.STILL + self.MOVE
        self.period = c * self.CYCLES
        j = np.arange(self.period)
        cyc, pos = j // c, j % c
        self.tm = ((cyc * self.MOVE + np.maximum(pos - self.STILL + 1, 0)) % (self.MOVE * self.CYCLES)).astype(np.float64)
        self.moving_mask = pos >= self.STILL
        super().__init__(width, height, seed, sigma)
        rng = rng_for(seed, "default")
        tm_period = float(self.MOVE * self.CYCLES)
        person = _person(0, seed, sigma, self.period, False, self.moving_mask)
        sx, sy, ss, sr = (SmoothSignal(rng, tm_period, 8, 4) for _ in range(4))
        w, h = width, height
        lo, hi = np.log(0.11 * h), np.log(0.22 * h)

        def path(tm: float) -> tuple[float, float, float, float]:
            iod = float(np.exp(lo + (ss(tm) + 1) / 2 * (hi - lo)))
            cx = w / 2 + sx(tm) * max(0.0, w / 2 - 1.5 * iod)
            cy = h / 2 + 0.03 * h + sy(tm) * max(0.0, h / 2 - 1.9 * iod)
            return cx, cy, iod, 0.3 * sr(tm)

        var, amp = _variation(rng, sigma, person.params, tm_period, _max_sigma(sigma))
        present = np.ones(self.period, bool)
        self.actors = [Actor(person, present, self.tm, _moving_from_tm(self.tm, present), path, var, amp)]

    def scene_period(self) -> float:
        return float(self.MOVE * self.CYCLES)

    def scene_time(self, i: int) -> float:
        return float(self.tm[i % self.period])  # lighting and pan freeze on still segments too


class RollScript(DefaultScript):
    """The default scenario's talking face (same moves, light and still segments) with the head
    rolling up to +-MAX_ROLL: slow tilts over 1.5-4 s and fast turns of up to 60 degrees in
    4-8 frames (200-400 deg/s), each followed by a hold; the mouth talks (opens and closes
    every second or so) while the head moves."""

    MAX_ROLL = np.deg2rad(45.0)
    TALK = {"gap": (12, 40), "hold": (2, 8), "rise": 3, "fall": 3}

    def __init__(self, width: int, height: int, seed: int, sigma: np.ndarray) -> None:
        super().__init__(width, height, seed, sigma)
        rng = rng_for(seed, "roll")
        tm_period = float(self.MOVE * self.CYCLES)
        knots_t, knots_r = [0.0], [0.0]
        while knots_t[-1] < tm_period - 40:
            fast = rng.random() < 0.35
            step = rng.uniform(25.0, 60.0) if fast else rng.uniform(15.0, 70.0)
            target = knots_r[-1] + np.deg2rad(step) * rng.choice([-1.0, 1.0])
            if abs(target) > self.MAX_ROLL:  # turn back the other way instead of past the limit
                target = knots_r[-1] - np.sign(target) * np.deg2rad(step)
            target = float(np.clip(target, -self.MAX_ROLL, self.MAX_ROLL))
            knots_t.append(knots_t[-1] + (rng.uniform(4, 8) if fast else rng.uniform(45, 120)))
            knots_r.append(target)
            knots_t.append(knots_t[-1] + rng.uniform(5, 30))  # hold the tilt a moment
            knots_r.append(target)
        knots_t.append(tm_period)  # back to level where the loop starts again
        knots_r.append(0.0)
        kt, kr = np.asarray(knots_t), np.asarray(knots_r)
        base = self.actors[0].path

        def roll(tm: float) -> float:
            k = int(np.clip(np.searchsorted(kt, tm, side="right") - 1, 0, len(kt) - 2))
            f = _ease((tm - kt[k]) / max(kt[k + 1] - kt[k], 1e-9))
            return float(kr[k] + (kr[k + 1] - kr[k]) * f)

        def path(tm: float) -> tuple[float, float, float, float]:
            cx, cy, iod, _ = base(tm)
            return cx, cy, iod, roll(tm)

        self.actors[0].path = path
        c = self.TALK
        self.actors[0].person.cues["mouth_open"] = schedule(
            rng, self.period, c["gap"], c["hold"], c["rise"], c["fall"], self.moving_mask
        )


class StillScript(Script):
    """One face, mostly still: it holds a pose for 300 frames, then glides (20 frames) to the
    next; blinks, smiles, mouth opening and brow raises on cue throughout."""

    HOLD, GLIDE, POSES = 300, 20, 3

    def __init__(self, width: int, height: int, seed: int, sigma: np.ndarray) -> None:
        self.period = self.HOLD * self.POSES
        j = np.arange(self.period)
        k, pos = j // self.HOLD, j % self.HOLD
        frac = np.clip(pos / self.GLIDE, 0, 1)
        self.tm = ((k + frac * frac * (3 - 2 * frac)) % self.POSES).astype(np.float64)  # pose index, eased; loops
        super().__init__(width, height, seed, sigma)
        rng = rng_for(seed, "still")
        person = _person(0, seed, sigma, self.period, True, None)
        w, h = width, height
        poses = np.stack([
            w / 2 + rng.uniform(-0.08, 0.08, self.POSES) * w,
            h / 2 + 0.03 * h + rng.uniform(-0.05, 0.05, self.POSES) * h,
            rng.uniform(0.15, 0.19, self.POSES) * h,
            rng.uniform(-0.08, 0.08, self.POSES),
        ], 1)

        def path(tm: float) -> tuple[float, float, float, float]:
            a = int(np.floor(tm)) % self.POSES
            f = tm - np.floor(tm)
            p = poses[a - 1] * (1 - f) + poses[a] * f if f > 0 else poses[a - 1]
            return float(p[0]), float(p[1]), float(p[2]), float(p[3])

        present = np.ones(self.period, bool)
        moving = _moving_from_tm(self.tm, present)
        self.actors = [Actor(person, present, self.tm, moving, path, [_Const()] * len(sigma), np.zeros(len(sigma)))]

    def scene_time(self, i: int) -> float:
        return 0.0  # constant light


class _Const:
    def __call__(self, t: float) -> float:
        return 0.0


def _max_sigma(sigma: np.ndarray) -> np.ndarray:
    """1.5 sigma of identity/pose variation, a bit less on the first two modes (yaw and pitch),
    which a frontal detector tolerates least."""
    m = np.full(len(sigma), 1.5)
    m[:2] = 1.1
    return m


class SoakScript(Script):
    """0..3 faces over a long loop: people walk in, linger (with still pauses), leave, come
    back, cross in front of one another; gaps with nobody in the frame."""

    PERIOD = 3600
    N_PEOPLE = 6

    def __init__(self, width: int, height: int, seed: int, sigma: np.ndarray) -> None:
        self.period = self.PERIOD
        super().__init__(width, height, seed, sigma)
        rng = rng_for(seed, "soak")
        people = [_person(k, seed, sigma, self.period, True, None) for k in range(self.N_PEOPLE)]
        self.actors = []
        busy = np.zeros((self.N_PEOPLE, self.period), bool)
        kinds = ["solo", "pair", "cross", "trio", "gap", "solo", "cross1", "pair", "gap", "trio", "cross"]
        order = [kinds[0]] + list(rng.permutation(kinds[1:]))
        t = 40
        for kind in order:
            length = {"solo": 400, "pair": 600, "trio": 650, "cross": 170, "cross1": 260, "gap": 120}[kind]
            length = int(length * rng.uniform(0.8, 1.2))
            if t + length > self.period - 40:
                break
            if kind != "gap":
                self._event(kind, t, length, rng, people, busy)
            t += length + int(rng.integers(10, 60))

    def _free_person(self, rng, people, busy, start, stop) -> Person:
        free = [p for p in people if not busy[p.id, max(start - 30, 0) : stop + 30].any()]
        p = free[int(rng.integers(len(free)))]
        busy[p.id, start:stop] = True
        return p

    def _event(self, kind: str, t: int, length: int, rng, people, busy) -> None:
        if kind == "solo":
            self._dweller(t, length, rng, self._free_person(rng, people, busy, t, t + length))
        elif kind == "pair":
            for s, d in ((0.0, 0.7), (0.3, 0.7)):
                a, b = t + int(s * length), t + int((s + d) * length)
                self._dweller(a, b - a, rng, self._free_person(rng, people, busy, a, b))
        elif kind == "trio":
            for s, d in ((0.0, 0.8), (0.1, 0.85), (0.25, 0.6)):
                a, b = t + int(s * length), t + int((s + d) * length)
                self._dweller(a, b - a, rng, self._free_person(rng, people, busy, a, b))
        else:  # two people walk across in opposite directions and pass each other mid-frame
            y = self.height * rng.uniform(0.42, 0.58)
            iod = self.height * rng.uniform(0.11, 0.15)
            for direction, scale in ((1, 1.0), (-1, 1.15)):
                self._crosser(t, length, direction, y + rng.uniform(-0.04, 0.04) * self.height, iod * scale,
                              self._free_person(rng, people, busy, t, t + length))
            if kind == "cross1":  # and someone further back, who stays
                a = max(t - 60, 0)
                self._dweller(a, length + 120, rng, self._free_person(rng, people, busy, a, a + length + 120), far=True)

    def _tables(self, start: int, length: int, still: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        present = np.zeros(self.period, bool)
        present[start : start + length] = True
        step = np.zeros(self.period)
        step[start + 1 : start + length] = 1.0
        for a, b in still:
            step[start + a : start + b] = 0.0
        tm = np.cumsum(step)
        return present, tm, _moving_from_tm(tm, present)

    def _dweller(self, start: int, length: int, rng, person: Person, far: bool = False) -> None:
        w, h = self.width, self.height
        iod0 = h * (rng.uniform(0.08, 0.1) if far else rng.uniform(0.11, 0.19))
        enter, leave = int(rng.integers(40, 90)), int(rng.integers(40, 90))
        still = []
        a = enter + int(rng.integers(30, 90))
        while a + 120 < length - leave:  # still pauses while lingering
            d = int(rng.integers(40, 100))
            still.append((a, a + d))
            a += d + int(rng.integers(60, 160))
        present, tm, moving = self._tables(start, length, still)
        life = float(tm[(start + length - 1) % self.period])
        side_in, side_out = rng.choice([-1, 1]), rng.choice([-1, 1])
        q = np.array([w * rng.uniform(0.25, 0.75), h * rng.uniform(0.38, 0.6)])
        sx, sy, ss = (SmoothSignal(rng, max(life, 60.0) * 2, 4, 2) for _ in range(3))
        sr = SmoothSignal(rng, max(life, 60.0) * 2, 4, 2)
        n_in, n_out = float(enter), float(leave)

        def path(t: float) -> tuple[float, float, float, float]:
            iod = iod0 * (1.0 + 0.2 * ss(t))
            off = 2.2 * iod
            p_in = np.array([-off if side_in < 0 else w + off, q[1] + 0.1 * h])
            p_out = np.array([-off if side_out < 0 else w + off, q[1] - 0.05 * h])
            wander = np.array([0.12 * w * sx(t), 0.06 * h * sy(t)])
            if t < n_in:
                f = _ease(t / n_in)
                base = p_in * (1 - f) + q * f
            elif t > life - n_out:
                f = _ease((t - (life - n_out)) / n_out)
                base = q * (1 - f) + p_out * f
            else:
                base = q
            c = base + wander
            return float(c[0]), float(c[1]), float(iod), 0.2 * sr(t)

        var, amp = _variation(rng, self.sigma, person.params, max(life, 60.0) * 2, _max_sigma(self.sigma))
        self.actors.append(Actor(person, present, tm, moving, path, var, amp))

    def _crosser(self, start: int, length: int, direction: int, y: float, iod: float, rng_person: Person) -> None:
        w = self.width
        present, tm, moving = self._tables(start, length, [])
        life = float(length - 1)
        off = 2.2 * iod
        x0, x1 = (-off, w + off) if direction > 0 else (w + off, -off)

        def path(t: float) -> tuple[float, float, float, float]:
            f = t / life
            return x0 + (x1 - x0) * f, y + 0.02 * self.height * np.sin(2 * np.pi * f * 3), iod, 0.05 * direction

        n = len(self.sigma)
        self.actors.append(Actor(rng_person, present, tm, moving, path, [_Const()] * n, np.zeros(n)))


def _ease(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


def make_script(scenario: str, width: int, height: int, seed: int, sigma: np.ndarray) -> Script:
    cls = {"default": DefaultScript, "still": StillScript, "soak": SoakScript, "roll": RollScript}.get(scenario)
    if cls is None:
        raise ValueError(f"unknown synthetic scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}")
    return cls(width, height, seed, sigma)
