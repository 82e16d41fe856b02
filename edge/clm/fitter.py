"""The CLM fitter: responses around the current shape, regularized landmark mean-shift, repeat narrower and finer.

Per level (coarse to fine reference scale) and per kernel variance of its schedule: sample
the 68 windows around the current landmarks in that level's reference frame, compute all
responses (one TFLite invoke), then run the numba mean-shift + Gauss-Newton loop on them.
A fit from a box runs every level; a tracked frame starts close and runs only the finest
level with a short schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from edge.clm.model import FACE_HALF, FaceScore, PatchExperts
from edge.clm.preprocessing import normalise_windows, sample_windows, to_grey, working_image
from edge.clm.result import CLMFitResult
from edge.clm.rlms import rlms_iterations, shape_points
from edge.geometry import Box, Similarity, fit_similarity

# kernel variances (reference pixels^2) per level, coarse to fine, for the shipped three levels
BOX_SCHEDULE: tuple[tuple[float, ...], ...] = ((10.0, 4.0), (4.0,), (3.0, 1.5))  # measured as accurate as 9 steps
TRACK_SCHEDULE: tuple[tuple[float, ...], ...] = ((), (), (3.0, 1.5))


def schedules(n_levels: int) -> tuple[tuple[tuple[float, ...], ...], tuple[tuple[float, ...], ...]]:
    """(box, track) schedules for experts with `n_levels` levels (other level counts come from `--ref-scales`)."""
    if n_levels == len(BOX_SCHEDULE):
        return BOX_SCHEDULE, TRACK_SCHEDULE
    if n_levels == 1:
        return ((10.0, 4.0, 3.0, 1.5),), ((3.0, 1.5),)
    box = ((10.0, 4.0),) + ((4.0,),) * (n_levels - 2) + ((3.0, 1.5),)
    return box, ((),) * (n_levels - 1) + ((3.0, 1.5),)


Responses = Callable[[np.ndarray], np.ndarray]
SCORE_REACH = FACE_HALF * 1.5  # model units the face score model samples around the face centre (square, rotated)


class CLMFitter:
    def __init__(
        self,
        experts: PatchExperts,
        responses: Sequence[Responses],
        score: FaceScore | None = None,
        reg: float = 2.0,
        inner_iterations: int = 6,
        tol: float = 0.05,
        n_sigma: float = 3.0,
    ) -> None:
        if len(responses) != len(experts.levels):
            raise ValueError(f"{len(experts.levels)} expert levels but {len(responses)} response functions")
        self.experts = experts
        self.responses = list(responses)
        self.score_model = score
        self.reg = reg
        self.inner_iterations = inner_iterations
        self.tol = tol
        self.n_sigma = n_sigma
        self.probe_steps = 1  # steps of the first level each alternative start gets before the best goes on
        self.weights = [lv.weights for lv in experts.levels]  # per level: (68,) landmark weights or None (equal)
        sm = experts.shape
        self._mean = np.ascontiguousarray(sm.mean, dtype=np.float64)
        self._comps = np.ascontiguousarray(sm.components, dtype=np.float64)
        self._eig = np.ascontiguousarray(sm.eigenvalues, dtype=np.float64)
        self._radius = float(np.abs(self._mean).max())

    def _level(
        self, grey: np.ndarray, level: int, sim: Similarity, params: np.ndarray, schedule: Sequence[float]
    ) -> tuple[Similarity, np.ndarray, int, float]:
        """Run one level's schedule; also returns the mean response under the final points (fit quality)."""
        ex = self.experts
        rs = ex.levels[level].ref_scale
        respond = self.responses[level]
        half_extent = self._radius * rs * 1.35 + ex.window / 2 + 4  # how far windows may reach during the fit
        work, to_work = working_image(grey, Similarity(sim.a / rs, sim.b / rs, sim.tx, sim.ty), half_extent)
        total = 0
        quality = 0.0
        for rho in schedule:
            ref_to_image = Similarity(sim.a / rs, sim.b / rs, sim.tx, sim.ty)
            m = to_work.compose(ref_to_image)
            q = np.empty(4 + len(params))
            q[:4] = (rs, 0.0, 0.0, 0.0)
            q[4:] = params
            centres = ex.shape.reconstruct(params) * rs
            windows = sample_windows(work, m.a, m.b, m.tx, m.ty, centres, ex.window)
            resp = respond(normalise_windows(windows, ex.preprocessing))
            q, it = rlms_iterations(
                resp, centres, q, self._mean, self._comps, self._eig, float(rho), self.reg, self.inner_iterations, self.tol, self.n_sigma,
                self.weights[level],
            )
            total += it
            if not np.all(np.isfinite(q)) or np.hypot(q[0], q[1]) < 1e-3 * rs:
                break  # degenerate update: keep the last good parameters
            quality = _response_at(resp, centres, shape_points(q, self._mean, self._comps))
            sim = ref_to_image.compose(Similarity(*q[:4]))
            params = q[4:].copy()
        return sim, params, total, quality

    def fit(
        self,
        frame: np.ndarray,
        sim: Similarity,
        params: np.ndarray,
        schedule: Sequence[Sequence[float]] = BOX_SCHEDULE,
        alternatives: Sequence[tuple[Similarity, np.ndarray]] = (),
    ) -> CLMFitResult:
        """Fit from model->image similarity `sim` and shape parameters `params`; `schedule` has one tuple per level.

        `alternatives` are other starts (e.g. yawed shapes in the same box): each gets the first
        step of the first level and the one whose responses fit best goes on.
        """
        params = np.asarray(params, dtype=np.float64)
        start = self.experts.shape.to_image(sim, params).astype(np.float32)
        if not (np.all(np.isfinite(start)) and sim.scale > 1e-6):
            raise ValueError("CLM start shape is not finite; pass a real box or finite previous points")
        used = [lv for lv, rhos in enumerate(schedule) if len(rhos)]
        grey, to_local = self._local_grey(frame, sim, self._reach(used))
        sim = to_local.compose(sim)
        alternatives = [(to_local.compose(s0), p0) for s0, p0 in alternatives]
        if len(schedule) != len(self.experts.levels):
            raise ValueError(f"schedule has {len(schedule)} levels, the patch experts {len(self.experts.levels)}; rebuild the CLM models")
        total = 0
        quality = float("nan")
        plan = [(level, tuple(rhos)) for level, rhos in enumerate(schedule) if len(rhos)]
        if alternatives and plan:
            level, rhos = plan[0]
            starts = [(sim, params), *((s0, np.asarray(p0, dtype=np.float64)) for s0, p0 in alternatives)]
            tries = [self._level(grey, level, s0, p0, rhos[: self.probe_steps]) for s0, p0 in starts]
            sim, params, _, quality = max(tries, key=lambda t: t[3])
            total += sum(t[2] for t in tries)
            plan[0] = (level, rhos[self.probe_steps :])
        for level, rhos in plan:
            if rhos:
                sim, params, it, quality = self._level(grey, level, sim, params, rhos)
                total += it
        score = self.score_model(grey, sim) if self.score_model is not None else float("nan")
        sim = to_local.inverse().compose(sim)
        points = self.experts.shape.to_image(sim, params).astype(np.float32)
        if not np.all(np.isfinite(points)):
            points = start
        return CLMFitResult(points, sim, params, score, total, start, quality)

    def _reach(self, levels: list[int]) -> float:
        """Model units around the face centre that these levels' windows (and the score model) may sample."""
        ex = self.experts
        windows = [self._radius * 1.35 + (ex.window / 2 + 4) / ex.levels[lv].ref_scale for lv in levels]
        return max([SCORE_REACH, *windows]) + 0.3

    def _local_grey(self, frame: np.ndarray, sim: Similarity, reach: float) -> tuple[np.ndarray, Similarity]:
        """Grey crop around the face, shrunk (area-averaged) when the face is far above the finest reference scale,
        and the frame -> crop similarity. Only the face's neighbourhood is ever converted or resized, so a
        4K frame or a huge face costs about what a small one does."""
        frame = np.asarray(frame)
        if frame.ndim < 2 or frame.shape[0] < 2 or frame.shape[1] < 2:
            raise ValueError(f"frame of shape {frame.shape} is not an image; pass a HxW grey or HxWx3 BGR (or BGRA) array")
        h, w = frame.shape[:2]
        r = reach * sim.scale
        x0 = int(np.clip(np.floor(sim.tx - r), 0, w - 2))
        y0 = int(np.clip(np.floor(sim.ty - r), 0, h - 2))
        x1 = int(np.clip(np.ceil(sim.tx + r) + 1, x0 + 2, w))
        y1 = int(np.clip(np.ceil(sim.ty + r) + 1, y0 + 2, h))
        grey = to_grey(frame[y0:y1, x0:x1])
        f = 1.2 * max(lv.ref_scale for lv in self.experts.levels) / sim.scale
        if f >= 0.8:
            return grey, Similarity(1.0, 0.0, -float(x0), -float(y0))
        nw, nh = max(2, int(round((x1 - x0) * f))), max(2, int(round((y1 - y0) * f)))
        grey = cv2.resize(grey, (nw, nh), interpolation=cv2.INTER_AREA)
        f = 0.5 * (nw / (x1 - x0) + nh / (y1 - y0))
        return grey, Similarity(f, 0.0, -x0 * f + 0.5 * f - 0.5, -y0 * f + 0.5 * f - 0.5)


def _response_at(resp: np.ndarray, centres: np.ndarray, points: np.ndarray) -> float:
    """Mean over landmarks of each response map at the grid point nearest the landmark."""
    r = resp.shape[1]
    half = (r - 1) / 2
    idx = np.clip(np.rint(points - centres + half).astype(int), 0, r - 1)
    return float(resp[np.arange(len(resp)), idx[:, 1], idx[:, 0]].mean())


def start_from_box(experts: PatchExperts, box: Box, params: np.ndarray | None = None) -> tuple[Similarity, np.ndarray]:
    """The model shape of `params` (default: the mean) stretched into the tight landmark box, as similarity + parameters."""
    params = np.zeros(experts.shape.n_params) if params is None else np.asarray(params, dtype=np.float64)
    shape = experts.shape.reconstruct(params)
    lo, hi = shape.min(0), shape.max(0)
    placed = (shape - lo) / np.maximum(hi - lo, 1e-9) * [box.w, box.h] + [box.x, box.y]
    return fit_similarity(shape, placed), params


def scaled_box(box: Box, factor: float) -> Box:
    """The box grown (factor > 1) or shrunk about its centre."""
    w, h = box.w * factor, box.h * factor
    return Box(box.cx - w / 2, box.cy - h / 2, w, h, box.score, box.angle)


def box_starts(experts: PatchExperts, box: Box, yaw_sigma: float = 2.0) -> list[tuple[Similarity, np.ndarray]]:
    """Starts for a fit from a box: the mean shape, then the first (yaw) mode at +-yaw_sigma; a box cannot tell them apart."""
    starts = [start_from_box(experts, box)]
    if yaw_sigma > 0:
        for sign in (1.0, -1.0):
            p = np.zeros(experts.shape.n_params)
            p[0] = sign * yaw_sigma * np.sqrt(experts.shape.eigenvalues[0])
            starts.append(start_from_box(experts, box, p))
    return starts


def start_from_points(experts: PatchExperts, points: np.ndarray) -> tuple[Similarity, np.ndarray]:
    """Similarity + shape parameters closest to given points, kept inside the prior (3 sigma)."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape != (experts.shape.n_points, 2) or not np.all(np.isfinite(pts)):
        raise ValueError(f"CLM start points must be a finite ({experts.shape.n_points}, 2) array, got shape {pts.shape}")
    return experts.shape.fit(pts, n_sigma=3.0)


def fit_from_box(
    fitter: CLMFitter, frame: np.ndarray, box: Box, yaw_sigma: float = 1.5, box_scales: Sequence[float] = (1.0,),
    schedule: Sequence[Sequence[float]] | None = None,
) -> CLMFitResult:
    """A fit from a box: per box scale, the mean and yawed starts (the best after one coarse step goes on) through
    every level; the fit whose final responses agree best with its points (`quality`) wins."""
    schedule = schedule if schedule is not None else schedules(len(fitter.experts.levels))[0]
    best = None
    for factor in box_scales or (1.0,):
        (sim, params), *others = box_starts(fitter.experts, scaled_box(box, factor), yaw_sigma)
        r = fitter.fit(frame, sim, params, schedule, others)
        if best is None or r.quality > best.quality:  # nan (a degenerate fit) never wins
            best = r
    assert best is not None
    return best
