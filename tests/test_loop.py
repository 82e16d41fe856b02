"""`--loop` and time: a file that starts again is a scene cut, and no filter freezes on a timestamp that goes back.

The kiosk's attract mode (`edgetrack run --source file:clip --loop`) once froze: when the clip started
again its media time went back to 0, the 1-euro filter returned its last value for every earlier
timestamp, and every frame after the first pass held the same 68 points. Here a 2-second clip of the
synthetic face runs 3 passes; each pass must move and be the same as a single pass of the clip.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.cli import main
from edge.smooth import OneEuro

FPS = 25
SECONDS = 2
PASSES = 3


@pytest.fixture(autouse=True)
def no_system_config(monkeypatch):
    monkeypatch.setenv("EDGETRACK_NO_SYSTEM_CONFIG", "1")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A 2-second MJPG clip of the synthetic face moving (the default scenario's first 2 s)."""
    from edge.synth import SyntheticFace

    path = tmp_path_factory.mktemp("loop") / "clip.avi"
    synth = SyntheticFace(640, 480, seed=0, scenario="default")
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (640, 480))
    for i in range(FPS * SECONDS):
        w.write(synth.render(i)[0])
    w.release()
    return path


def run_points(clip: Path, out: Path, frames: int, loop: bool) -> np.ndarray:
    """(frames, 68, 2) points of the first face per --landmarks-out line (NaN where no face)."""
    argv = ["run", "--source", f"file:{clip}", "--display", "none", "--landmarker", "cnn", "--frames", str(frames),
            "--landmarks-out", str(out)]  # fmt: skip
    assert main([*argv, "--loop"] if loop else argv) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == frames
    pts = np.full((frames, 68, 2), np.nan)
    for i, r in enumerate(rows):
        if r["faces"]:
            pts[i] = r["faces"][0]["points"]
    return pts


def test_a_looped_clip_keeps_moving_and_every_pass_matches_a_single_pass(clip, tmp_path):
    n = FPS * SECONDS
    single = run_points(clip, tmp_path / "single.jsonl", n, loop=False)
    looped = run_points(clip, tmp_path / "looped.jsonl", PASSES * n, loop=True)
    assert np.isfinite(single).all(), "the synthetic face is tracked in every frame of one pass"
    for k in range(PASSES):
        one = looped[k * n : (k + 1) * n]
        step = np.abs(np.diff(one, axis=0)).max(axis=(1, 2))
        moving = float(np.mean(step > 0.01))
        assert moving > 0.9, f"pass {k + 1}: the points moved in only {moving:.0%} of the frames (frozen)"
        err = float(np.nanmax(np.abs(one - single)))
        assert err < 0.02, f"pass {k + 1}: points differ from a single pass by up to {err:.2f} px"


def test_one_euro_starts_afresh_when_time_goes_back():
    f = OneEuro(min_cutoff=1.0, beta=0.0)
    for i in range(10):
        f(np.array([float(i)]), i / 30)
    later = f(np.array([100.0]), 0.0)  # the clip started again: time 0 once more, the face elsewhere
    assert later[0] == pytest.approx(100.0), "a timestamp that goes back starts the filter from the new value"
    moved = f(np.array([110.0]), 1 / 30)
    assert 100.0 < moved[0] < 110.0, "and it filters again from there"


def test_one_euro_holds_for_a_repeated_timestamp():
    f = OneEuro(min_cutoff=1.0, beta=0.0)
    a = f(np.array([0.0]), 0.0)
    b = f(np.array([1.0]), 1 / 30)
    again = f(np.array([5.0]), 1 / 30)  # the same instant again: no time has passed, nothing to filter over
    assert again[0] == pytest.approx(b[0]) and a[0] == 0.0
