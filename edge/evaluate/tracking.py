"""Tracking and smoothing scored against the synthetic face's exact ground truth.

Figures, raw (landmarker output) and smoothed (what the runtime hands on):
- tracked share: truth faces in frame that a track follows (its centroid within half an
  inter-ocular distance of theirs);
- NME: inter-ocular-normalised point error on the tracked faces;
- still jitter: on still segments (the head frozen), the RMS frame-to-frame movement of
  each point's error, in % of the inter-ocular distance: trembling, not bias; and still
  spread, the RMS of the error about its segment mean (slow wander counts too);
- lag: on moving segments, the time shift (frames) that best aligns the estimate with
  the ground truth; the smoother's added lag is smoothed minus raw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from edge.config import RunConfig
from edge.data.matching import FOLLOW_IOD, greedy_pairs
from edge.displays import NoDisplay
from edge.evaluate.metrics import interocular, nme_interocular
from edge.sources import SyntheticSource

MIN_STILL = 8  # frames: shorter still runs say little about jitter
MIN_MOVING = 12
MAX_LAG = 6.0  # frames searched for the lag


def _segments(flags: list[bool], min_len: int) -> list[tuple[int, int]]:
    out, start = [], None
    for i, f in enumerate([*flags, False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            if i - start >= min_len:
                out.append((start, i))
            start = None
    return out


def jitter(est: np.ndarray, truth: np.ndarray) -> float:
    """Shake: RMS frame-to-frame movement of the error (estimate's motion the truth did not make),
    averaged over points, / inter-ocular distance (fraction). What a person sees as trembling points."""
    step = np.diff(est - truth, axis=0)
    return float(np.sqrt((step**2).sum(-1).mean(0)).mean() / interocular(truth).mean())


def spread(est: np.ndarray, truth: np.ndarray) -> float:
    """Wander: RMS over time of the error about its mean (slow drift counts too), / inter-ocular (fraction)."""
    err = est - truth
    dev = err - err.mean(0, keepdims=True)
    return float(np.sqrt((dev**2).sum(-1).mean(0)).mean() / interocular(truth).mean())


def lag_frames(est: np.ndarray, truth: np.ndarray, step: float = 0.1) -> float:
    """Shift k (frames) minimising mean |est(t) - truth(t - k)|, truth linearly interpolated."""
    n = len(est)
    best_k, best_e = 0.0, np.inf
    k_max = int(np.ceil(MAX_LAG))
    t = np.arange(k_max, n)
    if len(t) < 4:
        return float("nan")
    for k in np.arange(0.0, MAX_LAG + 1e-9, step):
        src = t - k
        i0 = np.floor(src).astype(int)
        w = (src - i0)[:, None, None]
        shifted = truth[i0] * (1 - w) + truth[np.minimum(i0 + 1, n - 1)] * w
        e = float(np.linalg.norm(est[t] - shifted, axis=-1).mean())
        if e < best_e:
            best_k, best_e = float(k), e
    return best_k


def followers(truths: list, faces: list) -> list[int]:
    """Per truth face, the index of the reported face that follows it, or -1: its raw points' centroid within
    FOLLOW_IOD inter-ocular distances of the truth's (`edge.data.matching.greedy_pairs`, truths in order)."""
    centres = [np.asarray(f.raw_points, dtype=np.float64).mean(0) for f in faces]
    gts = [np.asarray(tr.points, dtype=np.float64) for tr in truths]
    places = [(gt.mean(0), float(interocular(gt))) for gt in gts]

    def closeness(place: tuple[np.ndarray, float], centre: np.ndarray) -> float:
        return -float(np.linalg.norm(centre - place[0])) / place[1]  # minus the distance in inter-ocular distances

    return greedy_pairs(places, centres, closeness, -FOLLOW_IOD)


def match_counts(truths: list, faces: list) -> tuple[int, int, int]:
    """(truth faces, truth faces a track follows, reported faces on no truth face)."""
    tracked = sum(j >= 0 for j in followers(truths, faces))
    return len(truths), tracked, len(faces) - tracked


class Collector:
    """Per truth face: frames, truth points, moving flags and the matched track's raw / smoothed points.
    `truth_of(index)`: the source's ground truth of a frame (SyntheticSource.truth_of)."""

    def __init__(self, truth_of: Callable[[int], list]) -> None:
        self.truth_of = truth_of
        self.present = 0
        self.tracked = 0
        self.faces_out = 0  # faces the tracker reported
        self.false = 0  # reported faces matching no truth face (a track left on the background)
        self.rows: dict[int, list[tuple[int, np.ndarray, bool, int, np.ndarray, np.ndarray]]] = {}

    def __call__(self, frame, faces) -> None:
        truths = self.truth_of(frame.index)
        self.faces_out += len(faces)
        self.present += len(truths)
        pairs = followers(truths, faces)
        for tr, j in zip(truths, pairs):
            if j < 0:
                continue
            best = faces[j]
            self.tracked += 1
            gt = np.asarray(tr.points, dtype=np.float64)
            row = (frame.index, gt, bool(tr.moving), best.id, np.asarray(best.raw_points, np.float64), np.asarray(best.points, np.float64))
            self.rows.setdefault(tr.id, []).append(row)
        self.false += len(faces) - sum(j >= 0 for j in pairs)


def summarise(col: Collector) -> dict[str, Any]:
    nme_raw, nme_s, jit_raw, jit_s, lag_raw, lag_s = [], [], [], [], [], []
    spr_raw: list[float] = []
    spr_s: list[float] = []
    n_still = n_moving = 0
    for rows in col.rows.values():
        gt = np.stack([r[1] for r in rows])
        raw = np.stack([r[4] for r in rows])
        sm = np.stack([r[5] for r in rows])
        nme_raw.extend(nme_interocular(raw, gt))
        nme_s.extend(nme_interocular(sm, gt))
        # runs of consecutive frames followed by one track id
        breaks = [0] + [i for i in range(1, len(rows)) if rows[i][0] != rows[i - 1][0] + 1 or rows[i][3] != rows[i - 1][3]] + [len(rows)]
        for a, b in zip(breaks[:-1], breaks[1:]):
            moving = [r[2] for r in rows[a:b]]
            for s, e in _segments([not m for m in moving], MIN_STILL):
                s += 3  # the first frames of a still run still carry the motion before it
                if e - s >= MIN_STILL - 3:
                    seg = slice(a + s, a + e)
                    jit_raw.append(jitter(raw[seg], gt[seg]))
                    jit_s.append(jitter(sm[seg], gt[seg]))
                    spr_raw.append(spread(raw[seg], gt[seg]))
                    spr_s.append(spread(sm[seg], gt[seg]))
                    n_still += e - s
            for s, e in _segments(moving, MIN_MOVING):
                lr, ls = lag_frames(raw[a + s : a + e], gt[a + s : a + e]), lag_frames(sm[a + s : a + e], gt[a + s : a + e])
                if np.isfinite(lr) and np.isfinite(ls):
                    lag_raw.append(lr)
                    lag_s.append(ls)
                    n_moving += e - s

    def pct(x: list[float]) -> float:
        return round(float(np.mean(x)) * 100, 3) if x else float("nan")

    def mean(x: list[float]) -> float:
        return round(float(np.mean(x)), 3) if x else float("nan")

    out = {
        "faces_present": col.present,
        "tracked_share": round(col.tracked / col.present, 4) if col.present else float("nan"),
        "false_face_share": round(col.false / col.faces_out, 4) if col.faces_out else 0.0,
        "nme_raw_pct": pct(nme_raw),
        "nme_smoothed_pct": pct(nme_s),
        "still_frames": n_still,
        "still_jitter_raw_pct_iod": pct(jit_raw),
        "still_jitter_smoothed_pct_iod": pct(jit_s),
        "still_spread_raw_pct_iod": pct(spr_raw),
        "still_spread_smoothed_pct_iod": pct(spr_s),
        "moving_frames": n_moving,
        "moving_lag_raw_frames": mean(lag_raw),
        "moving_lag_smoothed_frames": mean(lag_s),
    }
    if jit_raw and jit_s:
        out["jitter_ratio_smoothed_over_raw"] = round(float(np.mean(jit_s) / np.mean(jit_raw)), 3)
    if lag_raw:
        out["added_lag_frames"] = round(float(np.mean(lag_s) - np.mean(lag_raw)), 3)
    return out


def evaluate_tracking(cfg: RunConfig, frames: int, scenario: str = "default") -> dict:
    """Runs the real runtime on the synthetic face (display none) and scores raw vs smoothed."""
    from edge.service.build import build_pipeline
    from edge.service.runtime import Runtime

    cfg = replace(cfg, frames=frames, smooth=True, landmarks_out="", effect=(), realtime=False, loop=False)
    report: dict[str, Any] = {"scenario": scenario, "frames": frames}
    variants = [("1euro", False), ("1euro+flow", True)]
    for name, flow in variants:
        src = SyntheticSource(cfg.width, cfg.height, scenario=scenario)
        col = Collector(src.truth_of)
        run_cfg = replace(cfg, smooth_flow=flow)
        rt = Runtime(run_cfg, build_pipeline(run_cfg), src, NoDisplay(), on_frame=col)
        res = rt.run()
        report.setdefault("landmarker", rt.landmarker.name)
        report[name] = summarise(col) | {"fps": round(res.fps, 1)}
    return report


def format_tracking(report: dict) -> str:
    keys = [k for k in report["1euro"] if k != "faces_present"]
    lines = [f"tracking on synthetic:{report['scenario']} ({report['frames']} frames, landmarker {report['landmarker']})"]
    lines.append(f"{'figure':<34}" + "".join(f"{n:>14}" for n in ("1euro", "1euro+flow")))
    for k in keys:
        lines.append(f"{k:<34}" + "".join(f"{report[n].get(k, float('nan')):>14}" for n in ("1euro", "1euro+flow")))
    return "\n".join(lines)
