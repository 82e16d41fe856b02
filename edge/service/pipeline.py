"""One frame in, its faces and the picture to show out:
orient (mirror / rotate) -> scene cut -> detect / track -> smooth -> signals -> emotion -> effects -> overlay.

Made by `edge.service.build.build_pipeline` from the run options. The runtime feeds it frames and
shows what it hands back (`process`); the Python API (`edge.FaceTracker`) tracks (`track`) and
draws only when asked (`draw`); `edgetrack bench` reads the per-stage times it records on the
StageClock it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from edge.displays.overlay import draw_overlay, to_bgr
from edge.effects import Effect, apply_all
from edge.faces import TrackedFace
from edge.geometry import Box
from edge.service.clock import StageClock
from edge.smooth import Smoothing
from edge.sources.base import Frame
from edge.sources.orient import Orientation
from edge.tracking import Tracker

if TYPE_CHECKING:
    from edge.emotion import EmotionStage


class Pipeline:
    def __init__(
        self,
        tracker: Tracker,
        smoothing: Smoothing | None = None,
        signals: Callable[[np.ndarray], dict[str, float]] | None = None,
        effects: Sequence[Effect] = (),
        orient: Orientation | None = None,
        overlay: str = "points",
        info: str = "",
        emotion: EmotionStage | None = None,
        delegate: str = "",
    ) -> None:
        self.tracker, self.smoothing, self.signals = tracker, smoothing, signals
        self.emotion = emotion  # per-track emotion (its own running neutral baseline per face id)
        self.effects = list(effects)  # applied in order, each on the previous one's picture
        self.orient = orient or Orientation()
        self.overlay = overlay  # none | points | debug
        self.info = info  # the debug overlay's model / delegate text
        self.delegate = delegate  # what runs the landmark model (bench reports it)

    @property
    def landmarker(self):
        """The landmarker the tracker fits with (its `name` says which `auto` picked)."""
        return self.tracker.landmarker

    def process(
        self, frame: Frame, t: float, clock: StageClock, show: bool = True, fps: float = 0.0
    ) -> tuple[list[TrackedFace], np.ndarray | None]:
        """(faces, the picture to show, or None when `show` is off); `t`: the frame's time in seconds, for the smoothing."""
        faces = self.track(frame, t, clock)
        return faces, self.draw(frame, faces, show, fps, clock)

    def track(self, frame: Frame, t: float, clock: StageClock) -> list[TrackedFace]:
        """The frame's faces: turned as shown, tracked, smoothed at time `t` (seconds), with signals and emotion."""
        self._orient(frame)  # first: every later stage sees the picture as shown
        if frame.cut:
            self.new_scene()
        clock.lap("capture")
        faces = self.tracker.update(frame.image)
        clock.skip()  # the tracker times its own parts
        clock.add("detect", self.tracker.stats.ms.get("detect", 0.0))
        clock.add("landmarks", self.tracker.stats.ms.get("landmarks", 0.0))
        if self.smoothing is not None:
            self.smoothing.apply(frame.image, faces, t)
        clock.lap("smoothing")
        if self.signals is not None:
            for f in faces:
                f.signals = self.signals(f.points)
        clock.lap("signals")
        if self.emotion is not None:
            self.emotion.apply(faces)
        clock.lap("emotion")
        return faces

    def draw(
        self, frame: Frame, faces: list[TrackedFace], show: bool = True, fps: float = 0.0, clock: StageClock | None = None
    ) -> np.ndarray | None:
        """The effects and the overlay drawn on the frame (its display stream when it has one); None when `show` is
        off (the effects still run: a recorder or a caller may read them)."""
        clock = clock or StageClock()
        picture, shown = self._effects(frame, faces, show)
        clock.lap("effect")
        if not show:
            return None
        picture = to_bgr(picture)
        if self.overlay != "none":
            info = f"{fps:5.1f} fps  {self.info}" if self.overlay == "debug" else ""
            draw_overlay(picture, shown, info, mode=self.overlay)
        return picture

    def new_scene(self) -> None:
        """A frame unrelated to the one before (the next photo of a folder): no track, flow or filter state carries over."""
        self.tracker.reset()
        if self.smoothing is not None:
            self.smoothing.reset()
        if self.emotion is not None:
            self.emotion.reset()

    def _orient(self, frame: Frame) -> None:
        if not self.orient.identity:
            frame.image = self.orient.apply(frame.image)
            if frame.display is not None:
                frame.display = self.orient.apply(frame.display)

    def _effects(self, frame: Frame, faces: list[TrackedFace], show: bool) -> tuple[np.ndarray, list[TrackedFace]]:
        """The picture with the effects drawn, and the faces in its coordinates (a bigger display stream scales them)."""
        picture = frame.display if frame.display is not None else frame.image
        scale = picture.shape[1] / frame.image.shape[1]
        draws = self.effects or (self.overlay != "none" and show)
        if frame.release is not None and self.orient.identity and draws:
            picture = picture.copy()  # a camera buffer is not ours to draw on (a turned frame is already a copy)
        shown = _scaled(faces, scale) if scale != 1.0 else faces
        if self.effects:
            picture = apply_all(self.effects, to_bgr(picture), shown)
        return picture, shown


def _scaled(faces: list[TrackedFace], s: float) -> list[TrackedFace]:
    out = []
    for f in faces:
        box = Box(f.box.x * s, f.box.y * s, f.box.w * s, f.box.h * s, f.box.score) if f.box is not None else None
        out.append(TrackedFace(f.id, f.points * s, f.score, box, f.raw_points, f.signals, f.emotion))
    return out
