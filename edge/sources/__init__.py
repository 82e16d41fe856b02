"""Frame sources by spec: auto, picamera2[:N], v4l2:N, /dev/videoN, file:PATH, images:DIR, synthetic[:SCENARIO].

`make_source` builds one; `make_feed` wraps it for the pipeline: cameras (and anything
with --realtime) behind a capture thread that keeps the newest frame, files and the
synthetic face frame by frame with none dropped.
"""

from __future__ import annotations

import glob
import sys
from pathlib import Path

from edge.sources.base import Frame, Source, SourceLost
from edge.sources.capture import FeedStats, FrameByFrame, LatestFrame
from edge.sources.images import ImageFolderSource
from edge.sources.picam import Picamera2Source, picamera2_cameras
from edge.sources.synthetic import SyntheticSource
from edge.sources.video import V4L2Source, VideoFileSource, parse_v4l2

__all__ = [
    "FeedStats",
    "Frame",
    "FrameByFrame",
    "ImageFolderSource",
    "LatestFrame",
    "Picamera2Source",
    "Source",
    "SourceLost",
    "SyntheticSource",
    "V4L2Source",
    "VideoFileSource",
    "make_feed",
    "make_source",
]


def _probe_v4l2(width: int, height: int, fps: int) -> Source | None:
    """The first /dev/videoN that opens and gives a frame (metadata nodes open but give none)."""
    for dev in sorted(glob.glob("/dev/video*"), key=lambda d: int(d[10:]) if d[10:].isdigit() else 999):
        src = V4L2Source(dev, width, height, fps)
        try:
            src.open()
            if src.read() is not None:
                src.close()
                return src
        except (SourceLost, OSError):
            pass
        src.close()
    return None


def make_source(spec: str, width: int = 640, height: int = 480, fps: int = 30, log=None) -> Source:
    """A Source from its spec; `auto` tries a Pi camera, then V4L2 cameras, then the synthetic face, and says which."""
    log = log or (lambda msg: print(msg, file=sys.stderr))
    spec = spec.strip()
    if spec == "auto":
        cams = picamera2_cameras()
        if cams:
            log(f"source: auto -> picamera2:0 ({cams[0].get('Model', 'Pi camera')})")
            return Picamera2Source(0, width, height, fps)
        cam = _probe_v4l2(width, height, fps)
        if cam is not None:
            log(f"source: auto -> {cam.name}")
            return cam
        log("source: auto -> synthetic (no Pi camera and no /dev/video* camera gives frames)")
        return SyntheticSource(width, height, live=True)
    if spec == "picamera2" or spec.startswith("picamera2:"):
        num = spec.split(":", 1)[1] if ":" in spec else "0"
        if not num.isdigit():
            raise ValueError(f"source {spec!r}: use picamera2 or picamera2:N")
        return Picamera2Source(int(num), width, height, fps)
    if spec.startswith("v4l2:") or spec.startswith("/dev/video"):
        return V4L2Source(parse_v4l2(spec), width, height, fps)
    if spec.startswith("file:"):
        return VideoFileSource(spec[5:])
    if spec.startswith("images:"):
        return ImageFolderSource(spec[7:])
    if spec == "synthetic" or spec.startswith("synthetic:"):
        scenario = spec.split(":", 1)[1] if ":" in spec else "default"
        return SyntheticSource(width, height, scenario=scenario)
    if Path(spec).is_file():
        return VideoFileSource(spec)
    if Path(spec).is_dir():
        return ImageFolderSource(spec)
    raise ValueError(
        f"source {spec!r} not understood; use auto, picamera2[:N], v4l2:N, /dev/videoN, file:PATH, images:DIR or synthetic[:SCENARIO]"
    )


def make_feed(source: Source, loop: bool = False, realtime: bool = False) -> FrameByFrame | LatestFrame:
    """Cameras and --realtime get the newest-frame capture thread; everything else is read frame by frame.

    A synthetic face standing in for a camera (`auto` on a machine without one) is paced at its
    frame rate; so are files with --realtime. Real cameras pace themselves.
    """
    paced = isinstance(source, SyntheticSource | VideoFileSource | ImageFolderSource)
    if source.live or realtime:
        pace = _fps_of(source) if paced else float(getattr(source, "pace_fps", 0.0))
        return LatestFrame(source, loop=loop, pace_fps=pace)
    return FrameByFrame(source, loop=loop)


def _fps_of(source: Source) -> float:
    if isinstance(source, SyntheticSource):
        source.open()
    elif isinstance(source, VideoFileSource) and source.cap is None and source.path.is_file():
        source.open()
        source.close()
    return float(source.fps or 30.0)
