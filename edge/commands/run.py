"""`edgetrack run`: track faces from a source and show them, until the source ends, --frames, or SIGTERM.

With no arguments on a machine with no camera and no screen it falls back to the
synthetic face and the http page, and says where to look.
"""

from __future__ import annotations

import argparse
import sys

from edge import config
from edge.service import Notifier, StopFlag


def add_arguments(p: argparse.ArgumentParser) -> None:
    config.add_arguments(p)


def log(msg: str) -> None:
    print(f"edgetrack: {msg}", file=sys.stderr, flush=True)


def main(args: argparse.Namespace) -> int:
    cfg = config.resolve(args)
    if cfg.config_path:
        log(f"config: {cfg.config_path}")
    from edge.service.runtime import Runtime

    stop = StopFlag().install()
    notifier = Notifier()
    try:
        rt = Runtime(cfg, log=log, stop=stop, notifier=notifier)
        log(f"source: {rt.source.name}; display: {rt.display.name}; Ctrl-C or SIGTERM stops")
        result = rt.run()
    finally:
        stop.restore()
        notifier.close()
    log(f"stopped ({result.ended_by}): {result.frames} frames in {result.wall_s:.1f} s, {result.fps:.1f} fps")
    skipped = len(getattr(rt.source, "unreadable", ()))
    if skipped:
        log(f"{skipped} unreadable image(s) skipped, each named above")
    if cfg.landmarks_out:
        log(f"landmarks written to {cfg.landmarks_out}")
    return 0
