"""The runtime loop: capture -> detect/landmarks -> smoothing -> signals -> effects -> display/output.

One loop serves `edgetrack run` (until the source ends, --frames, SIGTERM or the window
closes) and `edgetrack bench` (which reads the per-stage times it records). Each stage is
timed per frame in milliseconds.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge.config import RunConfig
from edge.displays import Display, draw_overlay, make_display
from edge.displays.overlay import overlay_mode, to_bgr
from edge.faces import TrackedFace
from edge.service.landmarks_out import LandmarksWriter
from edge.service.outputs import check_outputs
from edge.smooth import Smoothing, SmoothParams
from edge.sources import FrameByFrame, LatestFrame, Source, make_feed, make_source
from edge.sources.orient import Orientation
from edge.tracking import Tracker, pick_landmarker

log = logging.getLogger(__name__)

READY_WAIT_S = 10.0  # READY=1 comes with the first frame, or after this long waiting for one
STAGES = ("capture", "detect", "landmarks", "smoothing", "signals", "effect", "display", "output")


def set_threads(n: int) -> None:
    """OpenCV, numba and BLAS threads: one by default, so a Pi keeps cores for the camera and screen."""
    import cv2

    cv2.setNumThreads(n)
    os.environ["OMP_NUM_THREADS"] = str(n)
    if "numba" not in sys.modules:
        os.environ["NUMBA_NUM_THREADS"] = str(n)
    else:
        import numba

        numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))


def describe_delegate(landmarker: Any, asked: str) -> str:
    """What actually runs the model: the TFLite wrapper's delegate when there is one (it may have fallen back)."""
    model = getattr(landmarker, "model", None)
    for obj in (model, landmarker):
        name = getattr(obj, "delegate", None)
        if isinstance(name, str) and name:
            return name
    return "numpy/OpenCV" if model is None else (asked or "cpu")


def load_effects(specs: list[str]) -> list[Any]:
    if not specs:
        return []
    try:
        from edge.effects import make_effect
    except ImportError as exc:
        raise RuntimeError(f"effects are not available in this build ({exc}); drop --effect") from None
    return [make_effect(s) for s in specs]


def signals_fn() -> Callable[[np.ndarray], dict[str, float]] | None:
    try:
        from edge.signals import compute_signals
    except ImportError:
        return None
    return compute_signals


@dataclass
class RunResult:
    frames: int = 0
    wall_s: float = 0.0
    fps: float = 0.0
    stage_ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    faces_per_frame: list[int] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)  # capture -> shown, live sources only
    frame_end: list[float] = field(default_factory=list)  # perf_counter at the end of each frame
    ended_by: str = ""
    landmarker: str = ""
    source: str = ""
    display: str = ""


class Runtime:
    def __init__(
        self,
        cfg: RunConfig,
        source: Source | None = None,
        display: Display | None = None,
        stop=None,
        notifier=None,
        record: bool = False,
        on_frame: Callable[[Any, list[TrackedFace]], None] | None = None,
    ) -> None:
        self.cfg = cfg
        check_outputs(cfg, source, display)  # before anything opens: an output never writes over an input
        set_threads(cfg.threads)
        self.source = source or make_source(cfg.source, cfg.width, cfg.height, cfg.camera_fps)
        self.display = display or make_display(cfg.display, cfg.http_host, cfg.http_port, cfg.fb_device)
        self.landmarker, why = pick_landmarker(cfg.landmarker, cfg.threads, cfg.delegate, cfg.model)
        log.info(why)
        from edge.detect import make_detector

        detector = make_detector(cfg.detector)
        self.tracker = Tracker(
            self.landmarker, detector, cfg.max_faces, cfg.redetect_score, cfg.detect_every, cfg.verify_every
        )
        params = SmoothParams(cfg.smooth_min_cutoff, cfg.smooth_beta, cfg.smooth_pose_min_cutoff, cfg.smooth_pose_beta)
        self.smoothing = Smoothing(params, flow=cfg.smooth_flow) if cfg.smooth else None
        self.effects = load_effects(cfg.effect)
        self.signals = signals_fn()
        self.stop = stop
        self.notifier = notifier
        self.record = record
        self.on_frame = on_frame
        self.feed: FrameByFrame | LatestFrame | None = None
        self.out_file = None
        self.delegate = describe_delegate(self.landmarker, cfg.delegate)
        self.info = f"{self.landmarker.name} / {self.delegate}"
        self.fps = 0.0
        self.orient = Orientation(cfg.mirror, cfg.rotate)  # applied to each frame as captured
        self.overlay = overlay_mode(cfg.overlay)

    def _media_time(self, frame, t_start: float) -> float:
        if self.source.live:
            return frame.t - t_start
        return frame.index / (self.source.fps or 30.0)

    def _new_scene(self) -> None:
        """A frame unrelated to the one before (the next photo of a folder): no track, flow or filter state carries over."""
        self.tracker.reset()
        if self.smoothing is not None:
            self.smoothing.reset()

    def _stopped(self) -> bool:
        return bool(self.stop) if self.stop is not None else False

    def run(self) -> RunResult:
        cfg = self.cfg
        res = RunResult(landmarker=self.landmarker.name, source=self.source.name, display=self.display.name)
        self.feed = make_feed(self.source, loop=cfg.loop, realtime=cfg.realtime)
        if cfg.landmarks_out:  # appended in whole lines (integrators can tail it live), rotated by size
            self.out_file = LandmarksWriter(cfg.landmarks_out, cfg.landmarks_out_max_mb, cfg.landmarks_out_keep)
            self.out_file.open()
        opened_display = False
        t_start = time.monotonic()
        last_status = t_start
        ready = False
        frames_since, t_since = 0, t_start
        last_frame = t_start
        try:
            self.feed.start()
            self.display.open(*self.orient.size(cfg.width, cfg.height), float(self.source.fps or 30.0))
            opened_display = True
            if self.display.where:
                log.info(f"display: {self.display.name} -> {self.display.where}")
            if self.display.name == "http":
                port = self.display.where.rstrip("/").rsplit(":", 1)[-1]
                log.info(f"watch it: open {self.display.where} in a browser (elsewhere: ssh -L {port}:127.0.0.1:{port} this-host)")
            while not self._stopped():
                if cfg.frames and res.frames >= cfg.frames:
                    res.ended_by = f"--frames {cfg.frames}"
                    break
                t0 = time.perf_counter()
                try:
                    frame = self.feed.get(timeout=0.5)
                except TimeoutError:
                    if self.notifier is not None:
                        if not ready and time.monotonic() - t_start > READY_WAIT_S:
                            ready = True  # up and waiting for the camera: better than a start timeout and a restart loop
                            self.notifier.ready(f"waiting for {self.source.name}")
                        self.notifier.watchdog()
                    if time.monotonic() - last_status > cfg.status_every:
                        last_status = time.monotonic()
                        why = self.feed.stats.last_error or "no frame yet"
                        log.info(f"waiting for {self.source.name} ({time.monotonic() - last_frame:.0f} s without a frame: {why}); retrying")
                        if self.notifier is not None:
                            self.notifier.status(f"waiting for {self.source.name}")
                    continue
                if frame is None:
                    res.ended_by = "end of source"
                    break
                if not self.orient.identity:  # mirror / rotate first: every later stage sees the picture as shown
                    frame.image = self.orient.apply(frame.image)
                    if frame.display is not None:
                        frame.display = self.orient.apply(frame.display)
                if frame.cut:
                    self._new_scene()
                last_frame = time.monotonic()
                t1 = time.perf_counter()
                faces = self.tracker.update(frame.image)
                t2 = time.perf_counter()
                ts = self._media_time(frame, t_start)
                if self.smoothing is not None:
                    self.smoothing.apply(frame.image, faces, ts)
                t3 = time.perf_counter()
                if self.signals is not None:
                    for f in faces:
                        f.signals = self.signals(f.points)
                t4 = time.perf_counter()
                image = frame.display if frame.display is not None else frame.image
                scale = image.shape[1] / frame.image.shape[1]
                draws = self.effects or (self.overlay != "none" and self.display.wants_frames())
                if frame.release is not None and self.orient.identity and draws:
                    image = image.copy()  # a camera buffer is not ours to draw on (a turned frame is already a copy)
                shown = _scaled(faces, scale) if scale != 1.0 else faces
                if self.effects:
                    image = to_bgr(image)
                    for eff in self.effects:
                        image = eff.apply(image, shown)
                t5 = time.perf_counter()
                if self.display.wants_frames():
                    image = to_bgr(image)
                    if self.overlay != "none":
                        info = f"{self.fps:5.1f} fps  {self.info}" if self.overlay == "debug" else ""
                        draw_overlay(image, shown, info, mode=self.overlay)
                    self.display.show(image)
                t6 = time.perf_counter()
                if self.out_file is not None:
                    line = {"frame": frame.index, "t": round(ts, 4), "faces": [f.to_json() for f in faces]}
                    self.out_file.write(line)
                if self.on_frame is not None:
                    self.on_frame(frame, faces)
                frame.done()
                t7 = time.perf_counter()
                res.frames += 1
                frames_since += 1
                if self.record:
                    ms = self.tracker.stats.ms
                    st = res.stage_ms
                    st["capture"].append((t1 - t0) * 1e3)
                    st["detect"].append(ms.get("detect", 0.0))
                    st["landmarks"].append(ms.get("landmarks", 0.0))
                    st["smoothing"].append((t3 - t2) * 1e3)
                    st["signals"].append((t4 - t3) * 1e3)
                    st["effect"].append((t5 - t4) * 1e3)
                    st["display"].append((t6 - t5) * 1e3)
                    st["output"].append((t7 - t6) * 1e3)
                    res.faces_per_frame.append(len(faces))
                    res.frame_end.append(t7)
                    if self.source.live:
                        res.lag_ms.append((time.monotonic() - frame.t) * 1e3)
                now = time.monotonic()
                if now - t_since >= 1.0:
                    self.fps = frames_since / (now - t_since)
                    frames_since, t_since = 0, now
                if self.notifier is not None:
                    if not ready:
                        ready = True
                        self.notifier.ready(f"tracking {self.source.name} -> {self.display.name}")
                    self.notifier.watchdog(now)
                self.display.status(fps=self.fps, frame=frame.index, faces=len(faces), info=self.info)
                if now - last_status >= cfg.status_every:
                    last_status = now
                    text = f"{self.fps:.1f} fps, frame {frame.index}, {len(faces)} face(s), {self.source.name} -> {self.display.name}"
                    log.info(text)
                    if self.notifier is not None:
                        self.notifier.status(text)
                if self.display.closed_by_user:
                    res.ended_by = "window closed"
                    break
            else:
                res.ended_by = getattr(self.stop, "signal_name", "") or "stopped"
        finally:
            res.wall_s = time.monotonic() - t_start
            res.fps = res.frames / res.wall_s if res.wall_s > 0 else 0.0
            if self.notifier is not None:
                self.notifier.stopping(f"stopping after {res.frames} frames ({res.ended_by or 'error'})")
            self.feed.stop()
            if opened_display:
                self.display.close()
            if self.out_file is not None:
                self.out_file.close()
        return res


def _scaled(faces: list[TrackedFace], s: float) -> list[TrackedFace]:
    from edge.geometry import Box

    out = []
    for f in faces:
        box = Box(f.box.x * s, f.box.y * s, f.box.w * s, f.box.h * s, f.box.score) if f.box is not None else None
        out.append(TrackedFace(f.id, f.points * s, f.score, box, f.raw_points, f.signals))
    return out
