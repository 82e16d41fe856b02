"""The Pipeline turns one frame into faces and a picture (orient -> scene cut -> track -> smooth -> signals ->
effects -> overlay) and times each stage on the StageClock it is given; the real tracker, mean landmarker and
Haar detector on the synthetic face."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.detect import make_detector
from edge.effects import make_effects
from edge.service.clock import STAGES, StageClock
from edge.service.pipeline import Pipeline
from edge.signals import compute_signals
from edge.smooth import Smoothing
from edge.sources.base import Frame
from edge.sources.orient import Orientation
from edge.tracking import Tracker, pick_landmarker

N = 10


@pytest.fixture(scope="module")
def rendered() -> list[np.ndarray]:
    from edge.synth import SyntheticFace

    synth = SyntheticFace(640, 480, seed=0, scenario="still")
    return [synth.render(i)[0] for i in range(N)]


def pipeline(**kw) -> Pipeline:
    landmarker, _ = pick_landmarker("mean")
    return Pipeline(Tracker(landmarker, make_detector("haar")), **kw)


def test_each_frame_goes_through_every_stage_in_order(rendered):
    pipe = pipeline(smoothing=Smoothing(flow=True), signals=compute_signals, overlay="points")
    clock = StageClock(record=True)
    for i, image in enumerate(rendered):
        frame = Frame(image.copy(), i)
        clock.start()
        faces, picture = pipe.process(frame, i / 30.0, clock, show=True)
        assert picture is not None and picture.shape == image.shape
    assert len(faces) == 1
    face = faces[0]
    assert not np.allclose(face.points, face.raw_points)  # smoothed, the landmarker's own points kept beside
    assert set(face.signals) >= {"blink", "smile"}  # signals measured on the smoothed points
    assert np.abs(picture.astype(int) - image.astype(int)).max() > 40  # the points and box are drawn
    timed = {s: len(ms) for s, ms in clock.ms.items()}
    assert timed == {s: (N if s not in ("display", "output") else 0) for s in STAGES}  # display / output: the runtime's
    assert all(ms >= 0 for s in STAGES for ms in clock.ms[s])


def test_no_picture_when_nobody_watches_and_the_frame_is_turned_first(rendered):
    pipe = pipeline(orient=Orientation(mirror=True), overlay="debug")
    frame = Frame(rendered[0].copy(), 0)
    idle = StageClock()
    faces, picture = pipe.process(frame, 0.0, idle, show=False)
    assert picture is None
    np.testing.assert_array_equal(frame.image, cv2.flip(rendered[0], 1))  # mirrored, and nothing drawn on it
    assert all(ms == [] for ms in idle.ms.values())  # a clock that does not record is left empty
    clock = StageClock(record=True)  # the same frame on a recording clock: every stage of the pipeline timed once
    pipe.process(Frame(rendered[1].copy(), 1), 1 / 30.0, clock, show=False)
    assert {s: len(ms) for s, ms in clock.ms.items()} == {s: (0 if s in ("display", "output") else 1) for s in STAGES}


def test_a_scene_cut_starts_tracks_and_smoothing_afresh(rendered):
    pipe = pipeline(smoothing=Smoothing(flow=True))
    clock = StageClock()
    for i, image in enumerate(rendered[:-1]):
        (before,), _ = pipe.process(Frame(image.copy(), i), i / 30.0, clock, show=False)
    ended = pipe.tracker.stats.tracks_ended
    (after,), _ = pipe.process(Frame(rendered[-1].copy(), N - 1, cut=True), (N - 1) / 30.0, clock, show=False)
    assert pipe.tracker.stats.tracks_ended == ended + 1 and after.id != before.id
    np.testing.assert_allclose(after.points, after.raw_points, atol=1e-3)  # no filter state from before the cut


def test_effects_and_overlay_never_draw_on_a_camera_buffer(rendered):
    released = []
    pipe = pipeline(effects=make_effects(["landmarks", "caricature:1.5"]), overlay="points")
    clock = StageClock()
    for i, image in enumerate(rendered[:4]):
        buffer = image.copy()
        frame = Frame(buffer, i, release=lambda i=i: released.append(i))
        faces, picture = pipe.process(frame, i / 30.0, clock, show=True)
        np.testing.assert_array_equal(buffer, image)  # the camera's memory is untouched
        assert picture is not buffer
    assert faces and np.abs(picture.astype(int) - image.astype(int)).max() > 40
    assert released == []  # giving the buffer back is the runtime's, after the output stage


def test_stage_clock_records_only_when_asked():
    idle = StageClock(record=False)
    idle.start()
    idle.lap("capture")
    idle.add("detect", 3.0)
    assert all(ms == [] for ms in idle.ms.values())
    clock = StageClock(record=True)
    clock.start()
    clock.lap("capture")
    clock.skip()
    clock.add("detect", 3.0)
    clock.lap("smoothing")
    assert clock.ms["detect"] == [3.0] and len(clock.ms["capture"]) == 1 and len(clock.ms["smoothing"]) == 1
    assert clock.ms["landmarks"] == [] and clock.ms["capture"][0] >= 0
