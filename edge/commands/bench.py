"""`edgetrack bench`: per-stage median / p95 ms and end-to-end fps of the real runtime loop.

Modes: the default timing run; `--truth` scores tracking against the synthetic face's
ground truth (tracked share, NME, still jitter, moving lag, raw vs smoothed); `--soak`
runs the long unattended test (faces coming and going, a camera dropping out) and
reports RSS growth and lag.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from edge import config

BENCH_DEFAULTS = {"source": "synthetic", "display": "none", "frames": 1000}


def add_arguments(p: argparse.ArgumentParser) -> None:
    config.add_arguments(p, defaults=BENCH_DEFAULTS)  # every `run` option: bench what you run
    p.add_argument("--warmup", type=int, default=30, help="frames run first and left out of the figures (JIT, caches)")
    p.add_argument("--json", type=Path, help="write the figures as JSON (top-level fps)")
    p.add_argument("--truth", action="store_true", help="score tracking and smoothing against the synthetic ground truth")
    p.add_argument("--scenario", default=None, help="synthetic scenario for --truth / --soak (default: default / soak)")
    p.add_argument("--soak", action="store_true", help="long run: faces coming and going, camera dropping out; RSS and lag")
    p.add_argument("--dropout-every", type=int, default=2000, help="--soak: the camera drops out every N frames")
    p.add_argument("--camera-rate", type=float, default=60.0, help="--soak: frame rate of the simulated camera")


log = logging.getLogger(__name__)


def stage_table(stage_ms: dict[str, list[float]], skip: int) -> dict[str, dict[str, float]]:
    out = {}
    for name, ms in stage_ms.items():
        a = np.asarray(ms[skip:], dtype=np.float64)
        if a.size:
            out[name] = {"median_ms": round(float(np.median(a)), 3), "p95_ms": round(float(np.percentile(a, 95)), 3),
                         "mean_ms": round(float(a.mean()), 3)}  # fmt: skip
    return out


def format_stages(table: dict[str, dict[str, float]]) -> str:
    lines = [f"{'stage':<10} {'median ms':>10} {'p95 ms':>10} {'mean ms':>10}"]
    for name, s in table.items():
        lines.append(f"{name:<10} {s['median_ms']:>10.3f} {s['p95_ms']:>10.3f} {s['mean_ms']:>10.3f}")
    return "\n".join(lines)


def timing(cfg: config.RunConfig, warmup: int) -> dict:
    from edge.displays import make_display
    from edge.service.build import build_pipeline
    from edge.service.runtime import Runtime
    from edge.sources import make_source

    cfg = replace(cfg, frames=cfg.frames + warmup)
    source = make_source(cfg.source, cfg.width, cfg.height, cfg.camera_fps)
    display = make_display(cfg.display, cfg.http_host, cfg.http_port, cfg.fb_device)
    rt = Runtime(cfg, build_pipeline(cfg), source, display, record=True)
    res = rt.run()
    n = res.frames - warmup
    if n < 2:
        raise ValueError(f"only {res.frames} frames came from {cfg.source}; lower --warmup or give a longer source")
    wall = res.frame_end[-1] - res.frame_end[warmup - 1] if warmup > 0 else res.wall_s
    fps = (n - (1 if warmup > 0 else 0)) / wall if warmup > 0 else n / wall
    table = stage_table(res.stage_ms, warmup)
    per_frame = sum(s["mean_ms"] for name, s in table.items() if name != "capture")
    return {
        "fps": round(fps, 2),
        "fps_without_capture": round(1000.0 / per_frame, 1) if per_frame > 0 else float("inf"),
        "frames": n,
        "source": res.source,
        "width": cfg.width,
        "height": cfg.height,
        "landmarker": res.landmarker,
        "delegate": rt.delegate,
        "threads": cfg.threads,
        "effects": list(cfg.effect),
        "display": res.display,
        "faces_per_frame": round(float(np.mean(res.faces_per_frame[warmup:])), 3),
        "detector_full_frame_calls": rt.tracker.stats.detect_calls,
        "detector_roi_calls": rt.tracker.stats.roi_detect_calls,
        "stages": table,
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (what a 512 MB Pi Zero 2 must hold), in MB."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)  # Linux reports KiB


def main(args: argparse.Namespace) -> int:
    cfg = config.resolve(args, BENCH_DEFAULTS)
    if args.soak:
        from edge.evaluate.soak import soak

        report = soak(cfg, frames=cfg.frames, dropout_every=args.dropout_every, scenario=args.scenario or "soak",
                      pace_fps=args.camera_rate)  # fmt: skip
    elif args.truth:
        from edge.evaluate.tracking import evaluate_tracking, format_tracking

        report = evaluate_tracking(cfg, frames=cfg.frames, scenario=args.scenario or "default")
        print(format_tracking(report))
    else:
        report = timing(cfg, args.warmup)
        print(f"{report['frames']} frames of {report['source']} at {report['width']}x{report['height']}, "
              f"landmarker {report['landmarker']} ({report['delegate']}), {report['threads']} thread(s)")  # fmt: skip
        print(format_stages(report["stages"]))
        print(f"end-to-end: {report['fps']:.1f} fps ({report['fps_without_capture']:.1f} fps without the capture stage)")
    report["peak_rss_mb"] = peak_rss_mb()
    print(f"peak RSS: {report['peak_rss_mb']:.1f} MB")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        log.info(f"wrote {args.json}")
    if args.soak and not report["pass"]:
        log.error("soak FAILED: see rss_growth_pct (< 5 %) and lag_ms_median_last_tenth (<= 2x first tenth + 5 ms)")
        return 1
    return 0
