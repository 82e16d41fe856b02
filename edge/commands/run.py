"""`edgetrack run`: track faces from a source and show them, until the source ends, --frames, or SIGTERM.

With no arguments on a machine with no camera and no screen it falls back to the
synthetic face and the http page, and says where to look.
"""

from __future__ import annotations

import argparse
import logging

from edge import config
from edge.service import Notifier, StopFlag


def add_arguments(p: argparse.ArgumentParser) -> None:
    config.add_arguments(p)


log = logging.getLogger(__name__)


def main(args: argparse.Namespace) -> int:
    cfg = config.resolve(args)
    if cfg.config_path:
        log.info(f"config: {cfg.config_path}")
    from edge.displays import make_display
    from edge.service.build import build_pipeline
    from edge.service.feed import faces_feed
    from edge.service.landmarks_out import LandmarksWriter
    from edge.service.outputs import check_outputs
    from edge.service.runtime import Runtime
    from edge.sources import make_source

    check_outputs(cfg)  # before anything is built or opened: a run never writes over its input
    pipeline = build_pipeline(cfg)
    source = make_source(cfg.source, cfg.width, cfg.height, cfg.camera_fps)
    display = make_display(cfg.display, cfg.http_host, cfg.http_port, cfg.fb_device)
    outputs: list = []
    if cfg.landmarks_out:  # appended in whole lines (integrators can tail it live), rotated by size
        outputs.append(LandmarksWriter(cfg.landmarks_out, cfg.landmarks_out_max_mb, cfg.landmarks_out_keep))
    feed = faces_feed(cfg, display)
    if feed is not None:
        outputs.append(feed)
    stop = StopFlag().install()
    notifier = Notifier()
    try:
        rt = Runtime(cfg, pipeline, source, display, outputs, stop=stop, notifier=notifier)
        log.info(f"source: {source.name}; display: {display.name}; Ctrl-C or SIGTERM stops")
        result = rt.run()
    finally:
        stop.restore()
        notifier.close()
    log.info(f"stopped ({result.ended_by}): {result.frames} frames in {result.wall_s:.1f} s, {result.fps:.1f} fps")
    if rt.restarts:
        log.info(f"the source started again {rt.restarts} time(s) (--loop); each pass tracked afresh")
    skipped = len(getattr(source, "unreadable", ()))
    if skipped:
        log.info(f"{skipped} unreadable image(s) skipped, each named above")
    if cfg.landmarks_out:
        log.info(f"landmarks written to {cfg.landmarks_out}")
    return 0
