"""The synthetic face (edge.synth) as a source: frames with exact ground truth, no camera needed."""

from __future__ import annotations

import time

from edge.sources.base import Frame, Source

SCENARIOS = ("default", "still", "soak")


def make_synth(width: int, height: int, seed: int, scenario: str):
    try:
        from edge.synth import SyntheticFace
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("edge.synth"):
            raise RuntimeError("the synthetic face (edge.synth) is not in this build; use another --source") from None
        raise
    return SyntheticFace(width=width, height=height, seed=seed, scenario=scenario)


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

    def open(self) -> None:
        if self.synth is None:
            self.synth = make_synth(self.width, self.height, self.seed, self.scenario)
            self.fps = float(getattr(self.synth, "fps", 30.0))

    def read(self) -> Frame | None:
        if self.synth is None:
            self.open()
        image, truths = self.synth.render(self.index)
        frame = Frame(image, self.index, time.monotonic(), truth=list(truths))
        self.index += 1
        return frame

    def close(self) -> None:
        pass  # keeps its place: a reopened synthetic camera continues where it was
