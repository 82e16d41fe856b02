"""SyntheticFace: the mean face, deformed by the shape model, rendered with exact ground truth.

Per frame: the script gives each face's pose, shape parameters, expressions and light;
the points are the shape model's shape under that pose plus the expression offsets;
the mean texture is warped piecewise-affinely from its reference points onto exactly
those points (so the points are the truth, not an estimate), blended into a cached
background with a feathered edge, and sensor noise is added from precomputed tiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from edge.landmarks68 import (
    INNER_LIP_PAIRS,
    INNER_MOUTH_CORNERS,
    LOWER_INNER_LIP,
    MOUTH,
    MOUTH_CORNERS,
    MOUTH_INNER,
    N_POINTS,
    UPPER_INNER_CONTOUR,
    UPPER_INNER_LIP,
    interocular,
)
from edge.shape_model import ShapeModel
from edge.synth.animate import apply_expressions
from edge.synth.background import make_background
from edge.synth.compose import NoiseTiles, blend_face
from edge.synth.scenarios import EXPRESSIONS, SCENARIOS, FaceState, make_script
from edge.synth.texture import TEXTURE_IOD, MeanFace
from edge.synth.timeline import hash_u64, rng_for
from edge.warp import N_FOREHEAD, extend_points, warp_region

PAN_PAD = 40  # background margin each side, pixels (the pan range)
NOISE_SIGMA = 2.5


@dataclass
class SynthTruth:
    id: int  # stable per synthetic person
    points: np.ndarray  # (68, 2) float32 exact ground-truth landmarks in frame pixels
    blink: float  # 0 open .. 1 closed (eyes)
    smile: float  # 0..1
    mouth_open: float  # 0..1
    moving: bool  # True when the head moved since the previous frame; False on still segments


@lru_cache(maxsize=4)
def _assets(texture_dir: str | None) -> tuple[ShapeModel, MeanFace]:
    model = ShapeModel.load()
    tex = MeanFace.load(Path(texture_dir) if texture_dir else None)
    return model, tex


def parse_size(text: str) -> tuple[int, int]:
    """'640x480' -> (640, 480), with a one-line error for anything else."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 640x480") from None
    _check_size(w, h)
    return w, h


def _check_size(width: int, height: int) -> None:
    if not (64 <= width <= 4096 and 64 <= height <= 4096):
        raise ValueError(f"synthetic frame size {width}x{height} is out of range; use 64..4096 pixels per side")


class SyntheticFace:
    """Frames and exact landmarks of synthetic faces; `render(i)` is a pure function of
    (seed, scenario, size, i), so frames can be drawn in any order and the script loops."""

    fps = 30

    def __init__(
        self, width: int = 640, height: int = 480, seed: int = 0, scenario: str = "default", texture_dir: Path | None = None
    ) -> None:
        _check_size(int(width), int(height))
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown synthetic scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}")
        self.width, self.height, self.seed, self.scenario = int(width), int(height), int(seed), scenario
        self.model, self.texture = _assets(str(texture_dir) if texture_dir else None)
        self.script = make_script(scenario, self.width, self.height, self.seed, np.sqrt(self.model.eigenvalues))
        self.background = make_background(self.width, self.height, self.seed, PAN_PAD)
        self.noise = NoiseTiles(self.width, self.height, NOISE_SIGMA, rng_for(self.seed, "noise"))
        tex = self.texture
        bgra = cv2.cvtColor(tex.image, cv2.COLOR_BGR2BGRA)
        bgra[..., 3] = np.round(tex.alpha * 255).astype(np.uint8)
        self._bgra = bgra
        used = np.unique(tex.triangles)  # warp only the vertices the face's triangles use
        remap = np.full(tex.extended.shape[0], -1, np.int32)
        remap[used] = np.arange(len(used))
        self._used = used
        self._tris = remap[tex.triangles]
        self._src = np.ascontiguousarray(tex.extended[used])
        self._mean_iod = float(interocular(self.model.mean))
        skin = tex.image[tex.alpha > 0.95]
        self._skin = np.median(skin, axis=0).astype(np.float64) if len(skin) else np.array([120.0, 140.0, 180.0])
        self._body = _body_polygons()

    @property
    def period(self) -> int:
        """Frames before the script repeats exactly."""
        return self.script.period

    # ---- geometry -------------------------------------------------------------------------
    def _pose(self, f: FaceState) -> np.ndarray:
        """2x3 similarity from the model frame to frame pixels."""
        s = f.iod / self._mean_iod
        c, sn = np.cos(f.roll) * s, np.sin(f.roll) * s
        return np.array([[c, -sn, f.cx], [sn, c, f.cy]])

    def _points(self, f: FaceState) -> tuple[np.ndarray, float]:
        """Frame points, and how far expressions opened the lips beyond this shape's rest."""
        rest = self.model.reconstruct(f.params)
        shape = apply_expressions(rest, f.blink, f.smile, f.mouth_open, f.brow)
        m = self._pose(f)
        return shape @ m[:, :2].T + m[:, 2], _lip_gap(shape) - _lip_gap(rest)

    def _in_frame(self, pts: np.ndarray) -> bool:
        lo, hi = pts.min(0), pts.max(0)
        cx, cy = (lo + hi) / 2
        return 0 <= cx < self.width and 0 <= cy < self.height

    def truth(self, i: int) -> list[SynthTruth]:
        """The ground truth of frame i without drawing it."""
        return [t for t, _ in self._faces(i)[1] if t is not None]

    def _faces(self, i: int):
        """Scene state and, per face to draw, (its truth, or None while its centre is outside the
        frame, e.g. half-way out as it walks off; drawing data)."""
        scene = self.script.state(int(i))
        out = []
        for f in scene.faces:
            pts, opening = self._points(f)
            lo, hi = pts.min(0), pts.max(0)
            size = hi - lo
            if hi[0] + size[0] < 0 or lo[0] - size[0] >= self.width or hi[1] + size[1] < 0 or lo[1] - size[1] >= self.height:
                continue  # nothing of this person (face, hair, shoulders) can be in view
            truth = SynthTruth(f.id, pts.astype(np.float32), f.blink, f.smile, f.mouth_open, f.moving) if self._in_frame(pts) else None
            out.append((truth, (f, pts, opening)))
        return scene, out

    # ---- pixels ---------------------------------------------------------------------------
    def render(self, i: int) -> tuple[np.ndarray, list[SynthTruth]]:
        """(frame (H, W, 3) uint8 BGR, one SynthTruth per face in the frame)."""
        i = int(i)
        scene, faces = self._faces(i)
        frame = np.empty((self.height, self.width, 3), np.uint8)
        ox = int(round(PAN_PAD * (1 + 0.9 * scene.pan[0])))
        oy = int(round(PAN_PAD * (1 + 0.9 * scene.pan[1])))
        bg = self.background[oy : oy + self.height, ox : ox + self.width]
        g = scene.gain
        exposure = float(g.mean())
        cv2.convertScaleAbs(bg, dst=frame, alpha=exposure)  # exposure on everything; the colour cast only on faces (cheaper)
        for _, (f, pts, opening) in faces:
            self._draw_face(frame, f, pts, opening, g)
        self.noise.apply(frame, hash_u64(self.seed, i % self.period))
        return frame, [t for t, _ in faces if t is not None]

    def _draw_face(self, frame: np.ndarray, f: FaceState, pts: np.ndarray, opening: float, gain: np.ndarray) -> None:
        colour = (f.colour * gain).astype(np.float64)
        self._draw_body(frame, f, colour, gain)
        ext = extend_points(pts)
        hull = ext[: N_POINTS + N_FOREHEAD]
        reach = 1.3 * self.texture.margin * f.iod / TEXTURE_IOD + 2  # the feathered edge, in frame pixels
        lo, hi = hull.min(0) - reach, hull.max(0) + reach
        clip = (int(lo[0]), int(lo[1]), int(np.ceil(hi[0])) + 1, int(np.ceil(hi[1])) + 1)
        res = warp_region(self._bgra, self._src, ext[self._used], self._tris, (self.width, self.height), clip)
        h, w = res.mask.shape
        if h == 0 or w == 0:
            return
        roi = frame[res.y0 : res.y0 + h, res.x0 : res.x0 + w]
        centre = pts.mean(0)
        lx, ly, strength = f.light
        blend_face(roi, res.image, colour, centre[0] - res.x0, centre[1] - res.y0, lx, ly, strength, 1.0 / (1.2 * f.iod))
        if opening > 0.02:
            self._draw_mouth(frame, pts, colour, min(1.0, (opening - 0.02) / 0.08))

    def _draw_body(self, frame: np.ndarray, f: FaceState, colour: np.ndarray, gain: np.ndarray) -> None:
        """Shoulders, neck and hair behind the face, so it reads as a person, not a floating mask."""
        m = self._pose(f)
        polys = {k: np.round((p @ m[:, :2].T + m[:, 2]) * 16).astype(np.int32) for k, p in self._body.items()}
        cv2.fillPoly(frame, [polys["torso"]], _bgr(np.asarray(f.shirt) * gain), cv2.LINE_AA, shift=4)
        cv2.fillPoly(frame, [polys["neck"]], _bgr(self._skin * colour * 0.8), cv2.LINE_AA, shift=4)
        cv2.fillPoly(frame, [polys["hair"]], _bgr(np.asarray(f.hair) * gain), cv2.LINE_AA, shift=4)

    @staticmethod
    def _draw_mouth(frame: np.ndarray, pts: np.ndarray, colour: np.ndarray, weight: float) -> None:
        """An open mouth shows a dark cavity and the upper teeth inside the inner lip contour,
        faded in with how far the expression opened it."""
        x0, y0 = np.floor(pts[MOUTH].min(0)).astype(int) - 2
        x1, y1 = np.ceil(pts[MOUTH].max(0)).astype(int) + 3
        h, w = frame.shape[:2]
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            return
        roi = frame[y0:y1, x0:x1]
        local = pts - (x0, y0)
        cavity = np.zeros(roi.shape[:2], np.uint8)
        cv2.fillPoly(cavity, [np.round(_closed_spline(local[MOUTH_INNER]) * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
        # upper teeth: a band under the upper inner lip, only where the mouth is open
        gap = local[LOWER_INNER_LIP].mean(0) - local[UPPER_INNER_LIP].mean(0)
        inner_r, inner_l = INNER_MOUTH_CORNERS
        width = float(np.linalg.norm(local[inner_l] - local[inner_r])) or 1.0
        down = gap * min(0.45, 0.09 * width / max(float(np.linalg.norm(gap)), 1e-6))
        top = local[UPPER_INNER_CONTOUR]
        teeth = np.zeros_like(cavity)
        cv2.fillPoly(teeth, [np.round(np.vstack([top, top[::-1] + down]) * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
        a_cav = cavity.astype(np.float32) * (weight / 255.0)
        a_teeth = np.minimum(cavity, teeth).astype(np.float32) * (weight / 255.0)
        dark = np.array([40, 35, 60], np.float32) * colour.astype(np.float32)
        white = np.array([150, 160, 170], np.float32) * colour.astype(np.float32)
        out = roi * (1 - a_cav)[..., None] + (a_cav - a_teeth)[..., None] * dark + a_teeth[..., None] * white
        roi[:] = np.clip(out + 0.5, 0, 255).astype(np.uint8)

    # ---- cues -----------------------------------------------------------------------------
    def events(self, i: int) -> dict[str, bool]:
        """Named cues active at frame i over all faces: blink / smile / mouth_open / brow (envelope
        above one half), blink_peak (a blink cue frame), moving, and faces (count)."""
        scene = self.script.state(int(i))
        faces = scene.faces
        ev = {name: any(getattr(f, name) >= 0.5 for f in faces) for name in EXPRESSIONS}
        ev["blink_peak"] = bool(self.script.cue_frames("blink", int(i), int(i) + 1))
        ev["moving"] = any(f.moving for f in faces)
        return ev

    def cue_frames(self, name: str, start: int, stop: int) -> list[int]:
        """Frames in [start, stop) where cue `name` ('blink', 'smile', 'mouth_open', 'brow') peaks."""
        return self.script.cue_frames(name, int(start), int(stop))


def _bgr(v: np.ndarray) -> tuple[float, float, float]:
    v = np.clip(v, 0, 255)
    return float(v[0]), float(v[1]), float(v[2])


def _closed_spline(p: np.ndarray, per: int = 4) -> np.ndarray:
    """Closed Catmull-Rom curve through the points: a rounded inner-lip outline, not an octagon."""
    t = (np.arange(per) / per)[:, None, None]
    p0, p1, p2, p3 = np.roll(p, 1, 0), p, np.roll(p, -1, 0), np.roll(p, -2, 0)
    c = 0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
    return c.transpose(1, 0, 2).reshape(-1, 2)


def _lip_gap(shape: np.ndarray) -> float:
    """Inner-lip opening over mouth width."""
    upper, lower = INNER_LIP_PAIRS[:, 0], INNER_LIP_PAIRS[:, 1]
    gap = np.linalg.norm(shape[lower] - shape[upper], axis=1).mean()
    corner_r, corner_l = MOUTH_CORNERS
    return float(gap / (np.linalg.norm(shape[corner_l] - shape[corner_r]) or 1.0))


def _ellipse(cx: float, cy: float, ax: float, ay: float, n: int = 48) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + ax * np.cos(t), cy + ay * np.sin(t)], 1)


def _body_polygons() -> dict[str, np.ndarray]:
    """Hair, neck and shoulders in the shape model's frame (unit RMS radius, y down)."""
    shoulders = _ellipse(0.0, 2.9, 2.9, 1.0)
    torso = np.vstack([shoulders[shoulders[:, 1] <= 2.9], [[2.9, 9.0], [-2.9, 9.0]]])
    torso = torso[np.argsort(np.arctan2(torso[:, 1] - 4.0, torso[:, 0]))]
    neck = np.array([[-0.8, 0.4], [0.8, 0.4], [0.85, 2.6], [-0.85, 2.6]])
    hair = _ellipse(0.0, -0.75, 1.48, 1.5)
    return {"torso": torso, "neck": neck, "hair": hair}
