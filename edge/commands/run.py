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
    from edge.service.runtime import Runtime

    stop = StopFlag().install()
    notifier = Notifier()
    try:
        rt = Runtime(cfg, stop=stop, notifier=notifier)
        log.info(f"source: {rt.source.name}; display: {rt.display.name}; Ctrl-C or SIGTERM stops")
        result = rt.run()
    finally:
        stop.restore()
        notifier.close()
    log.info(f"stopped ({result.ended_by}): {result.frames} frames in {result.wall_s:.1f} s, {result.fps:.1f} fps")
    skipped = len(getattr(rt.source, "unreadable", ()))
    if skipped:
        log.info(f"{skipped} unreadable image(s) skipped, each named above")
    if cfg.landmarks_out:
        log.info(f"landmarks written to {cfg.landmarks_out}")
    return 0
