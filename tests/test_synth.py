import csv
import json

import cv2
import numpy as np
import pytest

from edge.cli import main as cli_main
from edge.data import load_dataset
from edge.detect import make_detector
from edge.geometry import Box
from edge.synth import SyntheticFace, SynthTruth, parse_size
from edge.synth.animate import eye_aspect_ratio


@pytest.fixture(scope="module")
def default() -> SyntheticFace:
    return SyntheticFace(640, 480, seed=0, scenario="default")


def test_frames_are_bgr_uint8_of_the_asked_size(default):
    frame, truths = default.render(5)
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    assert len(truths) == 1 and isinstance(truths[0], SynthTruth)
    assert truths[0].points.shape == (68, 2) and truths[0].points.dtype == np.float32
    small, _ = SyntheticFace(320, 240, seed=0).render(5)
    assert small.shape == (240, 320, 3)
    assert default.fps == 30


def test_render_is_a_pure_function_of_seed_scenario_and_index(default):
    other = SyntheticFace(640, 480, seed=0, scenario="default")
    a, ta = default.render(377)
    default.render(12)  # order must not matter
    b, tb = other.render(377)
    assert np.array_equal(a, b)
    np.testing.assert_array_equal(ta[0].points, tb[0].points)
    c, _ = default.render(377 + default.period)  # the script loops exactly
    assert np.array_equal(a, c)
    d, _ = SyntheticFace(640, 480, seed=1, scenario="default").render(377)
    assert not np.array_equal(a, d)


def test_still_segments_freeze_the_head_and_moving_segments_move_it(default):
    still = [t for i in range(10, 60) for t in default.truth(i)]
    assert not any(t.moving for t in still[1:])
    rigid = [k for k in range(68) if k not in (37, 38, 43, 44)]  # eyelids may blink
    for t in still[1:]:
        np.testing.assert_array_equal(t.points[rigid], still[0].points[rigid])
    moving = [default.truth(i)[0] for i in range(95, 140)]
    assert all(t.moving for t in moving)
    steps = [np.abs(b.points - a.points).max() for a, b in zip(moving, moving[1:])]
    assert min(steps) > 0.01


def test_the_face_is_drawn_where_its_landmarks_say(default):
    """Eyes and mouth are darker than the cheeks at the truth points, in still and moving frames."""
    for i in (20, 100, 130, 200, 260, 400):
        frame, (t,) = default.render(i)
        grey = cv2.GaussianBlur(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (0, 0), 1.5).astype(np.float64)
        p = t.points

        def at(xy, grey=grey):
            return grey[int(round(xy[1])), int(round(xy[0]))]

        eyes = np.mean([at(p[[36, 39]].mean(0)), at(p[[42, 45]].mean(0))])
        cheeks = np.mean([at((p[2] + p[31]) / 2), at((p[14] + p[35]) / 2)])
        assert eyes < cheeks - 8, f"frame {i}: eyes {eyes:.0f} not darker than cheeks {cheeks:.0f}"


def test_blink_cues_close_the_eyes(default):
    cues = default.cue_frames("blink", 0, 400)
    assert len(cues) >= 2
    open_ear = eye_aspect_ratio(default.truth(cues[0] - 8)[0].points)
    for c in cues:
        (t,) = default.truth(c)
        assert t.blink > 0.8
        assert eye_aspect_ratio(t.points) < 0.3 * open_ear
        assert default.events(c)["blink"] and default.events(c)["blink_peak"]
    assert open_ear > 0.15


def test_smile_cues_widen_the_mouth():
    synth = SyntheticFace(640, 480, seed=0, scenario="still")
    cue = synth.cue_frames("smile", 0, synth.period)[0]
    (t,) = synth.truth(cue)
    assert t.smile == 1.0
    rest = [tr for i in range(cue - 60, cue) for tr in synth.truth(i) if tr.smile == 0 and tr.mouth_open == 0 and not tr.moving]
    width = np.linalg.norm(t.points[54] - t.points[48])
    assert width > 1.1 * np.linalg.norm(rest[-1].points[54] - rest[-1].points[48])


def test_haar_finds_the_synthetic_face_in_most_frames(default):
    det = make_detector("haar")
    frames = range(0, default.period, default.period // 30)
    hits = 0
    for i in frames:
        frame, (t,) = default.render(i)
        hits += any(b.iou(Box.around(t.points)) > 0.3 for b in det.detect(frame, max_faces=3))
    assert hits >= 0.8 * len(frames)


def test_soak_has_empty_frames_and_several_faces():
    synth = SyntheticFace(640, 480, seed=0, scenario="soak")
    counts = np.array([len(synth.truth(i)) for i in range(0, synth.period, 7)])
    assert (counts == 0).any() and (counts >= 2).any() and counts.max() <= 3
    ids = {t.id for i in range(0, synth.period, 7) for t in synth.truth(i)}
    assert len(ids) >= 3
    frame, truths = synth.render(int(np.argmax(counts >= 2)) * 7)
    assert len(truths) >= 2 and frame.shape == (480, 640, 3)


def test_synth_command_writes_a_playable_video_and_its_truth(tmp_path):
    out = tmp_path / "s"
    assert cli_main(["synth", "--frames", "30", "--out", str(out), "--images"]) == 0
    cap = cv2.VideoCapture(str(out / "synth.mp4"))
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (480, 640, 3)
        n += 1
    assert n == 30
    samples, report = load_dataset(out, quiet=True)
    assert len(samples) == 30 and not report.problems
    lines = (out / "truth.jsonl").read_text().splitlines()
    assert len(lines) == 30
    rec = json.loads(lines[7])
    face = rec["faces"][0]
    assert set(face) >= {"id", "points", "blink", "smile", "mouth_open", "moving"}
    with open(out / "landmarks.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:3] == ["image", "x0", "y0"] and len(rows[0]) == 137
    np.testing.assert_allclose(np.asarray(face["points"]).ravel(), np.asarray(rows[8][1:], float), atol=2e-3)


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
        parse_size("640by480")
    with pytest.raises(ValueError, match="scenario"):
        SyntheticFace(scenario="party")
    assert cli_main(["synth", "--frames", "0", "--out", str(tmp_path / "x")]) == 2
    assert "--frames" in capsys.readouterr().err
    assert cli_main(["synth", "--frames", "3", "--out", str(tmp_path / "y"), "--size", "10x10"]) == 2


def test_texture_trainer_writes_an_aligned_texture(tmp_path, w300):
    from argparse import Namespace

    from convert.texture import main as train_texture

    args = Namespace(data=[w300], out=tmp_path, size=128, iod=45.0, limit=6, sharpen=1.0)
    assert train_texture(args) == 0
    tex = cv2.imread(str(tmp_path / "mean_face.png"))
    assert tex.shape == (128, 128, 3)
    meta = json.loads((tmp_path / "mean_face.json").read_text())
    pts = np.asarray(meta["points"])
    assert pts.shape == (68, 2) and abs(np.linalg.norm(pts[45] - pts[36]) - 45.0) < 1e-2
    assert (pts > 0).all() and (pts < 128).all()


def test_still_scenario_is_mostly_still_and_loops_without_a_jump():
    synth = SyntheticFace(640, 480, seed=0, scenario="still")
    moving = [synth.truth(i)[0].moving for i in range(synth.period)]
    assert 0 < np.mean(moving) < 0.1
    last, first = synth.truth(synth.period - 1)[0], synth.truth(synth.period)[0]
    assert not first.moving and np.array_equal(last.points, first.points)


def test_synth_never_overwrites_an_earlier_output(tmp_path, capsys):
    out = tmp_path / "s"
    assert cli_main(["synth", "--frames", "3", "--out", str(out), "--size", "160x120"]) == 0
    before = (out / "landmarks.csv").read_bytes()
    capsys.readouterr()
    assert cli_main(["synth", "--frames", "5", "--out", str(out), "--size", "160x120", "--seed", "3"]) == 2
    err = capsys.readouterr().err
    assert "already holds synth.mp4, landmarks.csv, truth.jsonl" in err and len(err.strip().splitlines()) == 1
    assert (out / "landmarks.csv").read_bytes() == before
