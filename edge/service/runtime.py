"""The runtime loop: pull a frame, run it through the Pipeline, show it, write it out, keep systemd informed.

One loop serves `edgetrack run` (until the source ends, --frames, SIGTERM or the window
closes) and `edgetrack bench` (which reads the per-stage times it records). The parts:
the Pipeline (edge/service/pipeline.py) turns a frame into faces and a picture, the
StageClock (clock.py) times each stage, the Heartbeat (heartbeat.py) sends READY /
WATCHDOG / STATUS and prints the status lines.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.config import RunConfig
from edge.detect import make_detector
from edge.displays import Display, make_display
from edge.displays.http import HttpDisplay
from edge.displays.overlay import overlay_mode
from edge.effects import make_effects
from edge.faces import TrackedFace
from edge.service.clock import STAGES, StageClock
from edge.service.heartbeat import Heartbeat
from edge.service.landmarks_out import LandmarksWriter
from edge.service.notify import Notifier
from edge.service.outputs import check_outputs
from edge.service.pipeline import Pipeline
from edge.signals import compute_signals
from edge.smooth import Smoothing, SmoothParams
from edge.sources import FrameByFrame, LatestFrame, Source, make_feed, make_source
from edge.sources.base import Frame
from edge.sources.orient import Orientation
from edge.tracking import Tracker, pick_landmarker

log = logging.getLogger(__name__)


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


def emotion_stage():
    """The per-track emotion step, or None (said once) when models/emotion.json is absent or does not fit the shape model."""
    from edge.emotion import EmotionStage

    try:
        return EmotionStage()
    except (FileNotFoundError, ValueError) as exc:
        log.info(f"emotion: off ({exc})")
        return None


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
        notifier: Notifier | None = None,
        record: bool = False,
        on_frame: Callable[[Frame, list[TrackedFace]], None] | None = None,
    ) -> None:
        self.cfg = cfg
        check_outputs(cfg, source, display)  # before anything opens: an output never writes over an input
        set_threads(cfg.threads)
        self.source = source or make_source(cfg.source, cfg.width, cfg.height, cfg.camera_fps)
        self.display = display or make_display(cfg.display, cfg.http_host, cfg.http_port, cfg.fb_device)
        self.landmarker, why = pick_landmarker(cfg.landmarker, cfg.threads, cfg.delegate, cfg.model, cfg.landmark_style)
        log.info(why)
        detector = make_detector(cfg.detector, cfg.detector_min_face, cfg.threads)
        self.tracker = Tracker(self.landmarker, detector, cfg.max_faces, cfg.redetect_score, cfg.detect_every, cfg.verify_every)
        params = SmoothParams(cfg.smooth_min_cutoff, cfg.smooth_beta, cfg.smooth_pose_min_cutoff, cfg.smooth_pose_beta)
        self.delegate = describe_delegate(self.landmarker, cfg.delegate)
        self.pipeline = Pipeline(
            self.tracker,
            smoothing=Smoothing(params, flow=cfg.smooth_flow) if cfg.smooth else None,
            signals=compute_signals,
            effects=make_effects(cfg.effect),
            orient=Orientation(cfg.mirror, cfg.rotate),  # applied to each frame as captured
            overlay=overlay_mode(cfg.overlay),
            info=f"{self.landmarker.name} / {self.delegate}",
            emotion=emotion_stage(),
        )
        self.stop = stop
        self.notifier = notifier
        self.record = record
        self.on_frame = on_frame
        self.feed: FrameByFrame | LatestFrame | None = None
        self.out_file: LandmarksWriter | None = None
        self._display_open = False

    def run(self) -> RunResult:
        cfg = self.cfg
        res = RunResult(landmarker=self.landmarker.name, source=self.source.name, display=self.display.name)
        clock = StageClock(record=self.record)
        res.stage_ms = clock.ms
        self.feed = make_feed(self.source, loop=cfg.loop, realtime=cfg.realtime)
        self._open_landmarks_out()
        beat = Heartbeat(self.notifier, cfg.status_every, self.source.name, self.display.name)
        try:
            self._start()
            while not self._stopped():
                if cfg.frames and res.frames >= cfg.frames:
                    res.ended_by = f"--frames {cfg.frames}"
                    break
                clock.start()
                try:
                    frame = self.feed.get(timeout=0.5)
                except TimeoutError:
                    beat.waiting(self.feed.stats.last_error)
                    continue
                if frame is None:
                    res.ended_by = "end of source"
                    break
                t = self._media_time(frame, beat.started)
                faces, picture = self.pipeline.process(frame, t, clock, show=self.display.wants_frames(), fps=beat.fps)
                if picture is not None:
                    self.display.show(picture)
                clock.lap("display")
                self._output(frame, t, faces)
                clock.lap("output")
                res.frames += 1
                if self.record:
                    self._record(res, frame, faces, clock.mark)
                beat.frame(frame.index, len(faces))
                self.display.status(fps=beat.fps, frame=frame.index, faces=len(faces), info=self.pipeline.info)
                if self.display.closed_by_user:
                    res.ended_by = "window closed"
                    break
            else:
                res.ended_by = getattr(self.stop, "signal_name", "") or "stopped"
        finally:
            self._finish(res, beat)
        return res

    def _open_landmarks_out(self) -> None:
        cfg = self.cfg
        if cfg.landmarks_out:  # appended in whole lines (integrators can tail it live), rotated by size
            self.out_file = LandmarksWriter(cfg.landmarks_out, cfg.landmarks_out_max_mb, cfg.landmarks_out_keep)
            self.out_file.open()

    def _start(self) -> None:
        """Start capturing, open the display in the size of the picture shown, and say where to look."""
        self.feed.start()
        self.display.open(*self.pipeline.orient.size(self.cfg.width, self.cfg.height), float(self.source.fps or 30.0))
        self._display_open = True
        if self.display.where:
            log.info(f"display: {self.display.name} -> {self.display.where}")
        if isinstance(self.display, HttpDisplay):
            port = self.display.port
            log.info(f"watch it: open {self.display.where} in a browser (elsewhere: ssh -L {port}:127.0.0.1:{port} this-host)")

    def _stopped(self) -> bool:
        return bool(self.stop) if self.stop is not None else False

    def _media_time(self, frame: Frame, t_start: float) -> float:
        if self.source.live:
            return frame.t - t_start
        return frame.index / (self.source.fps or 30.0)

    def _output(self, frame: Frame, t: float, faces: list[TrackedFace]) -> None:
        """--landmarks-out, the caller's on_frame, then the camera buffer goes back."""
        if self.out_file is not None:
            self.out_file.write({"frame": frame.index, "t": round(t, 4), "faces": [f.to_json() for f in faces]})
        if self.on_frame is not None:
            self.on_frame(frame, faces)
        frame.done()

    def _record(self, res: RunResult, frame: Frame, faces: list[TrackedFace], end: float) -> None:
        res.faces_per_frame.append(len(faces))
        res.frame_end.append(end)
        if self.source.live:
            res.lag_ms.append((time.monotonic() - frame.t) * 1e3)

    def _finish(self, res: RunResult, beat: Heartbeat) -> None:
        res.wall_s = time.monotonic() - beat.started
        res.fps = res.frames / res.wall_s if res.wall_s > 0 else 0.0
        beat.stopping(f"stopping after {res.frames} frames ({res.ended_by or 'error'})")
        self.feed.stop()
        if self._display_open:
            self.display.close()
        if self.out_file is not None:
            self.out_file.close()
