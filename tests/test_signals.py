"""Expression signals: blink fires on the synthetic face's blinks and not between them, the
scores follow the synthetic cues, and the measures ignore size, position and roll."""

from __future__ import annotations

import numpy as np
import pytest

from edge.landmarks68 import FLIP_PERMUTATION
from edge.signals import Calibration, compute_signals, events, raw_measures
from edge.synth import SyntheticFace

N_FRAMES = 600


@pytest.fixture(scope="module")
def timeline() -> tuple[list[dict], list]:
    synth = SyntheticFace(640, 480, seed=0)
    truths = [synth.truth(i)[0] for i in range(N_FRAMES)]
    return [compute_signals(t.points) for t in truths], truths


def test_blink_fires_on_the_synthetic_blinks_and_not_between(timeline):
    signals, truths = timeline
    fired = np.array([s["blink"] for s in signals]) > 0.5
    closed = np.array([t.blink for t in truths])
    assert (closed >= 0.5).sum() >= 6  # the script holds several blinks
    assert fired[closed >= 0.5].all()  # every half-closed-or-more frame fires
    assert not fired[closed < 0.1].any()  # no false blink between them
    # one detection per blink: count rising edges against the synthetic blink cues
    n_events = int((np.diff(fired.astype(int)) == 1).sum())
    n_cues = int((np.diff((closed >= 0.5).astype(int)) == 1).sum())
    assert n_events == n_cues


def test_smile_and_mouth_scores_follow_the_synthetic_cues():
    synth = SyntheticFace(640, 480, seed=0)
    for cue in ("smile", "mouth_open"):
        peaks = synth.cue_frames(cue, 0, synth.period)
        assert peaks, f"no {cue} cue in the script"
        at_peak = compute_signals(synth.truth(peaks[0])[0].points)[cue]
        # frames before the first cue of either kind are at rest
        rest_end = min(synth.cue_frames("smile", 0, synth.period) + synth.cue_frames("mouth_open", 0, synth.period)) - 20
        rest = [synth.truth(i)[0] for i in range(0, max(rest_end, 1), 5)]
        assert all(t.smile == 0 and t.mouth_open == 0 for t in rest)
        at_rest = np.mean([compute_signals(t.points)[cue] for t in rest])
        assert at_peak > at_rest + 0.25, (cue, at_peak, at_rest)


def test_measures_ignore_size_position_and_roll_and_report_roll():
    synth = SyntheticFace(640, 480, seed=0)
    pts = synth.truth(0)[0].points.astype(np.float64)
    base = compute_signals(pts)
    angle = np.radians(25.0)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = (pts - pts.mean(0)) @ rot.T * 1.7 + [100.0, -40.0]
    sig = compute_signals(moved)
    for key in ("ear_left", "ear_right", "mouth_open", "smile", "brow_raise", "yaw_deg"):
        assert sig[key] == pytest.approx(base[key], abs=1e-6)
    assert sig["roll_deg"] - base["roll_deg"] == pytest.approx(25.0, abs=1e-6)


def test_yaw_changes_sign_with_a_mirrored_face():
    pts = SyntheticFace(640, 480, seed=0).truth(0)[0].points.astype(np.float64)
    m = raw_measures(pts)
    # shift the nose and mouth sideways: the face turns
    turned = pts.copy()
    turned[27:36, 0] += 6
    turned[48:68, 0] += 3
    mirrored = turned.copy()
    mirrored[:, 0] = -mirrored[:, 0]
    mirrored = mirrored[FLIP_PERMUTATION]
    y1, y2 = raw_measures(turned)["yaw_deg"], raw_measures(mirrored)["yaw_deg"]
    assert y1 > m["yaw_deg"] + 2
    assert y1 == pytest.approx(-y2, abs=1e-6)


def test_events_use_the_calibrated_thresholds(tmp_path):
    cal = Calibration()
    cal.measures["smile"]["threshold"] = 0.9
    path = tmp_path / "expr.json"
    cal.save(path)
    loaded = Calibration.load(path)
    assert loaded.threshold("smile") == 0.9
    assert events({"smile": 0.8}, loaded)["smile"] is False
    assert events({"smile": 0.95}, loaded)["smile"] is True


def test_calibration_on_the_data_separates_closed_from_open_eyes(w300):
    from convert.signal_thresholds import calibrate, collect

    cal, info = calibrate(collect([w300]))
    ear = cal.measures["ear"]
    assert ear["full"] < ear["threshold"] < ear["neutral"]
    assert 0.0 < info["fraction_blink"] < 0.1  # closed eyes are a small minority of photos
    for name in ("mouth_gap", "smile", "brow"):
        assert cal.measures[name]["neutral"] < cal.measures[name]["full"]
