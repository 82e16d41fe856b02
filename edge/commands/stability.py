"""`edgetrack stability`: how much the points shake on real video, no labels needed (edge/evaluate/stability.py).

Runs the real runtime over every clip of one part of the recorded person-disjoint split of the
video folder (models/splits/videos.json: val by default, people no trainer sees) and reports,
per clip and pooled, the RMS acceleration of the points in % of the inter-ocular distance, raw
and smoothed, with the tracked share and the pipeline's ms per frame. Every `run` option
(landmarker, model, detector, smoothing, flow, ...) is accepted, so what is measured is what runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from edge import config

# --frames is the per-clip limit (0 = the whole clip); the clips are the sources and nothing is shown,
# so --source and --display are the only `run` options not taken
STABILITY_DEFAULTS = {"display": "none", "frames": 0}
RUN_KEYS = [o.key for o in config.OPTIONS if o.key not in ("source", "display")]

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    config.add_arguments(p, keys=RUN_KEYS, defaults=STABILITY_DEFAULTS)  # the `run` options: measure what you run
    p.add_argument("--videos", type=Path, default=None, help="folder of clips (default: videos/ in $EDGETRACK_DATA or ../shared/data)")
    p.add_argument("--split", choices=["val", "train", "all"], default="val",
                   help="part of the folder's recorded split (models/splits/<folder>.json) to run; all = every clip "
                        "(every video file when the folder has no recorded split)")  # fmt: skip
    p.add_argument("--json", type=Path, help="write the figures as JSON (top level: the total; clips: one entry per clip)")


def main(args: argparse.Namespace) -> int:
    from edge.data.videos import video_clips
    from edge.evaluate.stability import format_stability, measure_stability
    from edge.paths import data_root

    cfg = config.resolve(args, STABILITY_DEFAULTS)
    videos = args.videos or data_root() / "videos"
    clips = video_clips(videos, args.split)
    limit = f"first {cfg.frames} frames of each" if cfg.frames else "every frame"
    print(f"stability on {len(clips)} {args.split} clips of {videos} ({limit}), landmarker {cfg.landmarker}", file=sys.stderr)
    report = measure_stability(cfg, clips)
    report = {"videos": str(videos), "split": args.split, **report}
    print(f"landmarker {report['landmarker']}, detector {report['detector']}, smoothing {'on' if report['smooth'] else 'off'}"
          f"{' with flow' if report['smooth'] and report['smooth_flow'] else ''}: RMS acceleration of the points, % IOD")  # fmt: skip
    print(format_stability(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        log.info(f"wrote {args.json}")
    return 0
