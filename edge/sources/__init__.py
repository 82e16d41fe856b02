"""Frame sources by spec: auto, picamera2[:N], v4l2:N, /dev/videoN, file:PATH, images:DIR, synthetic[:SCENARIO].

`make_source` builds one; `make_feed` wraps it for the pipeline: cameras (and anything
with --realtime) behind a capture thread that keeps the newest frame, files and the
synthetic face frame by frame with none dropped.
"""

from __future__ import annotations

import glob
import logging
from pathlib import Path

from edge.registry import Registry
from edge.sources.base import Frame, Source, SourceLost
from edge.sources.capture import FeedStats, FrameByFrame, LatestFrame
from edge.sources.images import ImageFolderSource
from edge.sources.picam import Picamera2Source, picamera2_cameras
from edge.sources.synthetic import SyntheticSource
from edge.sources.video import V4L2Source, VideoFileSource, parse_v4l2

logger = logging.getLogger(__name__)

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


def _auto(rest: str | None, *, width: int, height: int, fps: int) -> Source:
    """A Pi camera, else the first V4L2 camera that gives frames, else the synthetic face; says which."""
    cams = picamera2_cameras()
    if cams:
        logger.info(f"source: auto -> picamera2:0 ({cams[0].get('Model', 'Pi camera')})")
        return Picamera2Source(0, width, height, fps)
    cam = _probe_v4l2(width, height, fps)
    if cam is not None:
        logger.info(f"source: auto -> {cam.name}")
        return cam
    logger.info("source: auto -> synthetic (no Pi camera and no /dev/video* camera gives frames)")
    return SyntheticSource(width, height, live=True)


def _picamera2(rest: str | None, *, width: int, height: int, fps: int) -> Source:
    num = "0" if rest is None else rest
    if not num.isdigit():
        raise ValueError(f"source 'picamera2:{rest}': use picamera2 or picamera2:N")
    return Picamera2Source(int(num), width, height, fps)


def _v4l2(rest: str | None, *, width: int, height: int, fps: int) -> Source:
    return V4L2Source(parse_v4l2(f"v4l2:{rest}"), width, height, fps)


def _file(rest: str | None, *, width: int, height: int, fps: int) -> Source:
    return VideoFileSource(rest or "")


def _images(rest: str | None, *, width: int, height: int, fps: int) -> Source:
    return ImageFolderSource(rest or "")


def _synthetic(rest: str | None, *, width: int, height: int, fps: int) -> Source:
    return SyntheticSource(width, height, scenario="default" if rest is None else rest)


# scheme -> (factory(rest, width=, height=, fps=), form); the form says whether the scheme takes ':rest'
SOURCES = Registry(
    "source",
    {
        "auto": ("edge.sources:_auto", "auto"),
        "picamera2": ("edge.sources:_picamera2", "picamera2[:N]"),
        "v4l2": ("edge.sources:_v4l2", "v4l2:N, /dev/videoN"),
        "file": ("edge.sources:_file", "file:PATH"),
        "images": ("edge.sources:_images", "images:DIR"),
        "synthetic": ("edge.sources:_synthetic", "synthetic[:SCENARIO]"),
    },
)


def make_source(spec: str, width: int = 640, height: int = 480, fps: int = 30) -> Source:
    """A Source from 'scheme[:rest]', /dev/videoN, or a plain path (a file is a video, a folder holds images).

    `auto` says what it picked through logging.
    """
    spec = spec.strip()
    found = SOURCES.split(f"v4l2:{spec}" if spec.startswith("/dev/video") else spec)
    if found is None and Path(spec).is_file():
        found = ("file", spec)
    elif found is None and Path(spec).is_dir():
        found = ("images", spec)
    if found is None:
        raise ValueError(f"source {spec!r} not understood; use {SOURCES.forms()}")
    name, rest = found
    return SOURCES.make(name, rest, width=width, height=height, fps=fps)


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
