"""The unattended-kiosk soak: many synthetic frames with faces appearing, leaving and crossing,
and a camera that drops out and comes back, through the real capture thread and runtime.

Pass criteria (reported, and checked by `edgetrack bench --soak`): no crash, resident
memory growth under 5 % from the end of warm-up to the end, and lag (capture to
processed) that does not grow: the last tenth's median within 2x the first's (+5 ms).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from edge.config import RunConfig
from edge.displays import make_display
from edge.evaluate.flaky import FlakySource
from edge.evaluate.tracking import match_counts
from edge.sources import SyntheticSource

RSS_LIMIT = 0.05


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def soak(
    cfg: RunConfig,
    frames: int = 20000,
    dropout_every: int = 2000,
    scenario: str = "soak",
    pace_fps: float = 60.0,
) -> dict:
    """`pace_fps`: the simulated camera's frame rate (a real camera costs the CPU nothing to wait for)."""
    from edge.service.build import build_pipeline
    from edge.service.runtime import Runtime

    frames = frames or 20000
    warm = max(50, frames // 10)
    lag = np.zeros(frames, dtype=np.float64)
    faces = np.zeros(frames, dtype=np.int16)
    rss: list[tuple[int, int]] = []
    # Memory every 250 frames on a long soak, ~30 times on a short one: the baseline is the first sample after
    # warm-up, so with too few samples it would be the last one too and growth would always read 0.
    rss_every = max(1, min(250, frames // 30))
    count = [0]

    counts = np.zeros(3, dtype=np.int64)  # truth faces, followed truth faces, reported faces on nothing

    def on_frame(frame, tracked) -> None:
        i = count[0]
        if i < frames:
            lag[i] = (time.monotonic() - frame.t) * 1e3
            faces[i] = len(tracked)
            counts[:] += match_counts(inner.truth_of(frame.index), tracked)
        if i % rss_every == 0 or i == frames - 1:
            rss.append((i, rss_bytes()))
        count[0] += 1

    inner = SyntheticSource(cfg.width, cfg.height, scenario=scenario, live=True)
    source = FlakySource(inner, every=dropout_every, down_opens=3, pace_fps=pace_fps)
    cfg = replace(cfg, frames=frames, landmarks_out="", realtime=False, loop=False, max_faces=max(2, cfg.max_faces))
    display = make_display(cfg.display, http_port=cfg.http_port)
    rt = Runtime(cfg, build_pipeline(cfg), source, display, on_frame=on_frame)
    t0 = time.monotonic()
    res = rt.run()
    wall = time.monotonic() - t0
    n = min(count[0], frames)
    rss_arr = np.array(rss, dtype=np.float64)
    base_frame, base = rss_arr[rss_arr[:, 0] >= warm][0] if (rss_arr[:, 0] >= warm).any() else rss_arr[0]
    growth = float((rss_arr[-1, 1] - base) / base)
    tenth = max(1, n // 10)
    lag_first, lag_last = float(np.median(lag[warm : warm + tenth])), float(np.median(lag[n - tenth : n]))
    feed = rt.feed.stats
    report: dict[str, Any] = {
        "frames": n,
        "scenario": scenario,
        "camera_fps": pace_fps,
        "max_faces": cfg.max_faces,
        "wall_s": round(wall, 1),
        "fps": round(n / wall, 1),
        "landmarker": rt.landmarker.name,
        "source_frames_rendered": inner.index,
        "camera_dropouts": source.drops,
        "camera_reopens": feed.reopens,
        "capture_failures": feed.failures,
        "frames_dropped_as_stale": feed.dropped,
        "tracks_started": rt.tracker.stats.tracks_started,
        "tracks_ended": rt.tracker.stats.tracks_ended,
        "frames_with_0_1_2plus_faces": [int((faces[:n] == 0).sum()), int((faces[:n] == 1).sum()), int((faces[:n] >= 2).sum())],
        "truth_faces": int(counts[0]),
        "tracked_share": round(float(counts[1] / max(counts[0], 1)), 4),
        "false_face_share": round(float(counts[2] / max(int(faces[:n].sum()), 1)), 4),
        "verify_drops": rt.tracker.stats.verify_drops,
        "rss_baseline_frame": int(base_frame),
        "rss_mb_after_warmup": round(base / 2**20, 1),
        "rss_mb_end": round(rss_arr[-1, 1] / 2**20, 1),
        "rss_mb_max": round(rss_arr[:, 1].max() / 2**20, 1),
        "rss_growth_pct": round(growth * 100, 2),
        "lag_ms_median": round(float(np.median(lag[:n])), 2),
        "lag_ms_p99": round(float(np.percentile(lag[:n], 99)), 2),
        "lag_ms_max": round(float(lag[:n].max()), 2),
        "lag_ms_median_first_tenth": round(lag_first, 2),
        "lag_ms_median_last_tenth": round(lag_last, 2),
        "ended_by": res.ended_by,
    }
    report["pass"] = bool(n >= frames and growth < RSS_LIMIT and lag_last <= 2 * lag_first + 5.0)
    for k, v in report.items():
        print(f"{k:<30} {v}")
    return report
