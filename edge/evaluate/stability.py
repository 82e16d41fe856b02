"""Landmark stability on real video, with no labels: the RMS acceleration of the points.

Why no ground truth is needed: a real face moves smoothly at camera rate. Over three frames
(1/20 - 1/30 s apart) a head's motion is nearly constant-velocity, so the second difference
p[t+1] - 2 p[t] + p[t-1] of a point the face carries is close to zero, whatever the face
does; a landmarker that trembles (jitter) shows up in it at once, and much amplified: white
noise of RMS size s per frame gives an RMS acceleration of sqrt(6) s. Divided by the face's
inter-ocular distance it compares across faces of any size. Raw (the landmarker's own points)
against smoothed (what the runtime hands on) shows what the smoothing buys.

Its limit: real fast motion counts too. A sudden head turn, a nod's reversal, a blink or a
mouth opening between two frames is real acceleration, so the figure is a ceiling on jitter,
not jitter itself; compare landmarkers and smoothers on the same clips, not against zero.
A track's first frames and the frames around a gap (the face lost, a new track id) score
nothing: only runs of 3 or more consecutive frames of one track do.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from edge.config import RunConfig
from edge.landmarks68 import N_POINTS, interocular

log = logging.getLogger(__name__)

MIN_RUN = 3  # consecutive frames of one track needed for one second difference


def acceleration(frames: np.ndarray, points: np.ndarray, iod: np.ndarray) -> np.ndarray:
    """(M, 68) length of each point's second difference p[t+1] - 2 p[t] + p[t-1] divided by iod[t], for every t
    of one track whose frame numbers t-1, t, t+1 are consecutive (a gap ends a run; runs under 3 frames give nothing).

    `frames` (T,) increasing frame numbers, `points` (T, 68, 2), `iod` (T,) the face's inter-ocular distance."""
    f = np.asarray(frames, dtype=np.int64)
    p = np.asarray(points, dtype=np.float64)
    iod = np.asarray(iod, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (N_POINTS, 2) or len(f) != len(p) or iod.shape != f.shape:
        raise ValueError(f"acceleration needs frames (T,), points (T, {N_POINTS}, 2) and iod (T,); got {f.shape}, {p.shape}, {iod.shape}")
    if len(f) < MIN_RUN:
        return np.zeros((0, N_POINTS))
    if np.any(np.diff(f) <= 0):
        raise ValueError("frame numbers of a track must increase; sort the track's frames first")
    ok = (f[1:-1] - f[:-2] == 1) & (f[2:] - f[1:-1] == 1)
    acc = p[2:] - 2.0 * p[1:-1] + p[:-2]
    return np.linalg.norm(acc[ok], axis=-1) / iod[1:-1][ok, None]


def rms(values: np.ndarray) -> float:
    """Root mean square of all values; nan when there are none."""
    v = np.asarray(values, dtype=np.float64)
    return float(np.sqrt(np.mean(v**2))) if v.size else float("nan")


@dataclass
class TrackRecorder:
    """The runtime's on_frame callback: per track id its frame numbers, raw points and smoothed points."""

    frames: int = 0
    with_face: int = 0
    tracks: dict[int, tuple[list[int], list[np.ndarray], list[np.ndarray]]] = field(default_factory=dict)

    def __call__(self, frame: Any, faces: list) -> None:
        self.frames += 1
        self.with_face += bool(faces)
        for f in faces:
            idx, raw, smooth = self.tracks.setdefault(int(f.id), ([], [], []))
            idx.append(int(frame.index))
            raw.append(np.array(f.raw_points if f.raw_points is not None else f.points, dtype=np.float64))
            smooth.append(np.array(f.points, dtype=np.float64))

    def accelerations(self) -> tuple[np.ndarray, np.ndarray]:
        """(raw, smoothed) accelerations, (M, 68) each, of every track, normalised by the smoothed points' IOD."""
        raw_all, smooth_all = [np.zeros((0, N_POINTS))], [np.zeros((0, N_POINTS))]
        for idx, raw, smooth in self.tracks.values():
            sm = np.stack(smooth)
            iod = interocular(sm)
            raw_all.append(acceleration(np.array(idx), np.stack(raw), iod))
            smooth_all.append(acceleration(np.array(idx), sm, iod))
        return np.concatenate(raw_all), np.concatenate(smooth_all)


@dataclass
class ClipStability:
    """One clip's figures (or the pooled total): accelerations as RMS % of the inter-ocular distance."""

    clip: str
    frames: int
    tracked_frames: int  # frames with at least one face
    accel_samples: int  # face-frames that had a second difference (inside runs of >= 3 frames)
    accel_raw_pct_iod: float
    accel_smoothed_pct_iod: float
    ms_per_frame: float  # the pipeline's mean time per frame, capture (file decoding) left out

    @property
    def tracked_share(self) -> float:
        return self.tracked_frames / self.frames if self.frames else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {
            "clip": self.clip,
            "frames": self.frames,
            "tracked_frames": self.tracked_frames,
            "tracked_share": round(self.tracked_share, 4),
            "accel_samples": self.accel_samples,
            "accel_raw_pct_iod": round(self.accel_raw_pct_iod, 4),
            "accel_smoothed_pct_iod": round(self.accel_smoothed_pct_iod, 4),
            "ms_per_frame": round(self.ms_per_frame, 3),
        }


def pipeline_ms(stage_ms: dict[str, list[float]]) -> np.ndarray:
    """Per-frame time of every stage but capture (what a camera-fed device pays; decoding a file is not)."""
    per_stage = [np.asarray(v, dtype=np.float64) for k, v in stage_ms.items() if k != "capture" and v]
    if not per_stage:
        return np.zeros(0)
    n = min(len(v) for v in per_stage)
    return np.sum([v[:n] for v in per_stage], axis=0)


@dataclass
class ClipRun:
    """One clip measured: its figures, and what the total pools (accelerations (M, 68), per-frame pipeline ms)."""

    stats: ClipStability
    raw: np.ndarray
    smooth: np.ndarray
    ms: np.ndarray
    landmarker: str
    detector: str  # the one that ran (`auto` resolved)


def measure_clip(cfg: RunConfig, clip: Path) -> ClipRun:
    """Runs the real runtime (display none, no effects, every frame in order) over one clip, fresh tracker and smoother."""
    from edge.displays import NoDisplay
    from edge.service.build import build_pipeline
    from edge.service.runtime import Runtime
    from edge.sources import VideoFileSource

    cfg = replace(cfg, source=f"file:{clip}", display="none", effect=(), landmarks_out="", realtime=False, loop=False)
    rec = TrackRecorder()
    pipeline = build_pipeline(cfg)
    rt = Runtime(cfg, pipeline, VideoFileSource(clip), NoDisplay(), on_frame=rec, record=True)
    res = rt.run()
    raw, smooth = rec.accelerations()
    ms = pipeline_ms(res.stage_ms)
    stats = ClipStability(
        clip=clip.name,
        frames=rec.frames,
        tracked_frames=rec.with_face,
        accel_samples=len(raw),
        accel_raw_pct_iod=100.0 * rms(raw),
        accel_smoothed_pct_iod=100.0 * rms(smooth),
        ms_per_frame=float(ms.mean()) if ms.size else float("nan"),
    )
    return ClipRun(stats, raw, smooth, ms, rt.landmarker.name, pipeline.tracker.detector.name)


def measure_stability(cfg: RunConfig, clips: list[Path]) -> dict[str, Any]:
    """Every clip measured on its own (fresh tracker and smoother), then pooled: the total's RMS is over all
    scored face-frames of all clips, its ms per frame over all frames. Top-level keys are the total's."""
    if not clips:
        raise ValueError("no clips to measure; check --videos and --split")
    runs: list[ClipRun] = []
    t0 = time.monotonic()
    for i, clip in enumerate(clips, 1):
        run = measure_clip(cfg, clip)
        c = run.stats
        log.info(f"stability {i}/{len(clips)} {clip.name}: {c.frames} frames, tracked {c.tracked_share:.0%}, "
                 f"accel raw {c.accel_raw_pct_iod:.2f} smoothed {c.accel_smoothed_pct_iod:.2f} % IOD")  # fmt: skip
        runs.append(run)
    per_clip = [r.stats for r in runs]
    raw, smooth = np.concatenate([r.raw for r in runs]), np.concatenate([r.smooth for r in runs])
    ms = np.concatenate([r.ms for r in runs])
    total = ClipStability(
        clip="total",
        frames=sum(c.frames for c in per_clip),
        tracked_frames=sum(c.tracked_frames for c in per_clip),
        accel_samples=len(raw),
        accel_raw_pct_iod=100.0 * rms(raw),
        accel_smoothed_pct_iod=100.0 * rms(smooth),
        ms_per_frame=float(ms.mean()) if ms.size else float("nan"),
    )
    return {
        **total.to_json(),
        "landmarker": runs[0].landmarker,
        "detector": runs[0].detector,
        "smooth": cfg.smooth,
        "smooth_flow": cfg.smooth_flow,
        "frames_per_clip_limit": cfg.frames,
        "wall_s": round(time.monotonic() - t0, 1),
        "clips": [c.to_json() for c in per_clip],
    }


def format_stability(report: dict[str, Any]) -> str:
    """A markdown table, one row per clip and the pooled total last."""
    from edge.evaluate.report import markdown_table

    rows = [["clip", "frames", "tracked share", "accel raw % IOD", "accel smoothed % IOD", "ms/frame"]]
    for c in [*report["clips"], report]:
        rows.append([c["clip"], str(c["frames"]), f"{c['tracked_share']:.3f}", f"{c['accel_raw_pct_iod']:.2f}",
                     f"{c['accel_smoothed_pct_iod']:.2f}", f"{c['ms_per_frame']:.2f}"])  # fmt: skip
    return markdown_table(rows)
