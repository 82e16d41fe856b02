"""The runtime loop: pull a frame, run it through the Pipeline, show it, write it out, keep systemd informed.

One loop serves `edgetrack run` (until the source ends, --frames, SIGTERM or the window
closes), `bench`, the soak, `stability` and the tracking evaluation. It builds nothing: each
caller makes the pipeline with `edge.service.build.build_pipeline(cfg)` and hands it in with
its own source, display and outputs. The parts: the Pipeline (pipeline.py) turns a frame into
faces and a picture, the StageClock (clock.py) times each stage, the Heartbeat (heartbeat.py)
sends READY / WATCHDOG / STATUS and prints the status lines, and each record output (the
--landmarks-out file, the /faces feed) gets every frame's record, the same dict for all.

A source that starts again (--loop at the end of a file, a frame number that goes back) is a
scene cut: tracks, filters and the emotion baseline start afresh, and a file's media time
carries on from where the pass before ended instead of going back to 0.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from edge.config import RunConfig
from edge.displays import Display
from edge.displays.http import HttpDisplay
from edge.faces import TrackedFace
from edge.service.clock import STAGES, StageClock
from edge.service.heartbeat import Heartbeat
from edge.service.landmarks_out import frame_record
from edge.service.notify import Notifier
from edge.service.outputs import check_outputs
from edge.service.pipeline import Pipeline
from edge.sources import FrameByFrame, LatestFrame, Source, make_feed
from edge.sources.base import Frame

log = logging.getLogger(__name__)


class RecordOutput(Protocol):
    """Where each frame's record goes (`frame_record`: the --landmarks-out line as a dict): opened before the
    first frame, closed after the last; `active` False skips building the record (a feed nobody reads)."""

    active: bool

    def open(self) -> object: ...

    def write(self, record: dict) -> None: ...

    def close(self) -> None: ...


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
    """The loop around a built pipeline: `source` in, `display` and `outputs` out; `on_frame(frame, faces)` is
    called for every frame (the evaluations collect what they score through it)."""

    def __init__(
        self,
        cfg: RunConfig,
        pipeline: Pipeline,
        source: Source,
        display: Display,
        outputs: Sequence[RecordOutput] = (),
        stop=None,
        notifier: Notifier | None = None,
        record: bool = False,
        on_frame: Callable[[Frame, list[TrackedFace]], None] | None = None,
    ) -> None:
        self.cfg = cfg
        check_outputs(cfg, source, display)  # before anything opens: an output never writes over an input
        self.pipeline, self.source, self.display = pipeline, source, display
        self.outputs = list(outputs)
        self.stop = stop
        self.notifier = notifier
        self.record = record
        self.on_frame = on_frame
        self.feed: FrameByFrame | LatestFrame | None = None
        self._display_open = False
        self._opened: list[RecordOutput] = []
        self._last_index: int | None = None  # the previous frame's number: one that goes back is a new pass
        self._pass_start = 0.0  # media time at which the current pass of a file began
        self._last_t = 0.0
        self.restarts = 0  # times the source started again (each a scene cut)

    @property
    def tracker(self):
        return self.pipeline.tracker

    @property
    def landmarker(self):
        return self.pipeline.landmarker

    @property
    def delegate(self) -> str:
        return self.pipeline.delegate

    def run(self) -> RunResult:
        cfg = self.cfg
        res = RunResult(landmarker=self.landmarker.name, source=self.source.name, display=self.display.name)
        clock = StageClock(record=self.record)
        res.stage_ms = clock.ms
        self.feed = make_feed(self.source, loop=cfg.loop, realtime=cfg.realtime)
        beat = Heartbeat(self.notifier, cfg.status_every, self.source.name, self.display.name)
        try:
            for out in self.outputs:
                out.open()
                self._opened.append(out)
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
                self._new_pass(frame)
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

    def _new_pass(self, frame: Frame) -> None:
        """A frame number that goes back means the source started again (--loop, a reopened source): a scene cut,
        and a file's media time carries on past the end of the pass before."""
        if self._last_index is not None and frame.index <= self._last_index:
            frame.cut = True
            self.restarts += 1
            self._pass_start = self._last_t + 1.0 / (self.source.fps or 30.0)
        self._last_index = frame.index

    def _media_time(self, frame: Frame, t_start: float) -> float:
        """Seconds since the start: capture time for live sources, frame number / fps (plus earlier passes) for files."""
        if self.source.live:
            t = frame.t - t_start
        else:
            t = self._pass_start + frame.index / (self.source.fps or 30.0)
        self._last_t = t
        return t

    def _output(self, frame: Frame, t: float, faces: list[TrackedFace]) -> None:
        """The frame's record to each active output, the caller's on_frame, then the camera buffer goes back."""
        active = [out for out in self._opened if out.active]
        if active:
            record = frame_record(frame.index, t, faces)
            for out in active:
                out.write(record)
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
        for out in self._opened:
            out.close()
        self._opened = []
