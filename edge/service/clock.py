"""Per-stage times of each frame, in milliseconds: what RunResult.stage_ms holds and `edgetrack bench` reports.

`start()` at the top of a frame, `lap(stage)` at the end of each stage (the time since the
last mark goes to that stage), `add(stage, ms)` for a stage timed by someone else (the
tracker times detect and landmarks itself), `skip()` to move the mark past time that is
already counted. A clock that does not record does nothing at all.
"""

from __future__ import annotations

import time

STAGES = ("capture", "detect", "landmarks", "smoothing", "signals", "emotion", "effect", "display", "output")


class StageClock:
    def __init__(self, record: bool = False) -> None:
        self.record = record
        self.ms: dict[str, list[float]] = {s: [] for s in STAGES}
        self.mark = 0.0  # time.perf_counter() of the last start / lap / skip

    def start(self) -> None:
        if self.record:
            self.mark = time.perf_counter()

    def lap(self, stage: str) -> None:
        if self.record:
            now = time.perf_counter()
            self.ms[stage].append((now - self.mark) * 1e3)
            self.mark = now

    def skip(self) -> None:
        if self.record:
            self.mark = time.perf_counter()

    def add(self, stage: str, ms: float) -> None:
        if self.record:
            self.ms[stage].append(ms)
