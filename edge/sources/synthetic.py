"""The synthetic face (edge.synth) as a source: frames, and the exact ground truth of each (`truth_of`), no camera needed."""

from __future__ import annotations

import threading
import time
from typing import Any

from edge.sources.base import Frame, Source

SCENARIOS = ("default", "still", "soak", "roll")
KEEP_TRUTH = 64  # rendered frames whose truth is kept (a capture thread runs at most a frame or two ahead)


class SyntheticSource(Source):
    """Deterministic per index, so a run is repeatable; `live` when it stands in for a camera."""

    def __init__(self, width: int = 640, height: int = 480, scenario: str = "default", seed: int = 0, live: bool = False) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"synthetic scenario {scenario!r} unknown; choose one of {', '.join(SCENARIOS)}")
        self.width, self.height, self.scenario, self.seed = width, height, scenario, seed
        self.live = live
        self.name = "synthetic" if scenario == "default" else f"synthetic:{scenario}"
        self.synth = None
        self.index = 0
        self._truths: dict[int, list[Any]] = {}  # frame index -> its SynthTruths, the last KEEP_TRUTH rendered
        self._lock = threading.Lock()  # read() may run in the capture thread, truth_of() in the pipeline's

    def open(self) -> None:
        if self.synth is None:
            from edge.synth import SyntheticFace  # numba: loaded only when the synthetic face is used

            self.synth = SyntheticFace(width=self.width, height=self.height, seed=self.seed, scenario=self.scenario)
            self.fps = float(getattr(self.synth, "fps", 30.0))

    def read(self) -> Frame | None:
        if self.synth is None:
            self.open()
        image, truths = self.synth.render(self.index)
        with self._lock:
            self._truths[self.index] = list(truths)
            if len(self._truths) > KEEP_TRUTH:
                del self._truths[next(iter(self._truths))]
        frame = Frame(image, self.index, time.monotonic())
        self.index += 1
        return frame

    def truth_of(self, index: int) -> list[Any]:
        """The exact ground truth (SynthTruth per face in view) of frame `index`: kept from rendering it,
        or worked out again for an older frame (the synthetic face is deterministic per index)."""
        with self._lock:
            kept = self._truths.get(index)
        if kept is not None:
            return kept
        if self.synth is None:
            self.open()
        return list(self.synth.truth(index))

    def close(self) -> None:
        pass  # keeps its place: a reopened synthetic camera continues where it was
