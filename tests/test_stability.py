"""`edgetrack stability`: the acceleration metric on generated tracks, the video split reader, and the command end to end."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from media import synthetic_video

from edge.cli import main
from edge.data import video_clips
from edge.data.videos import clip_person, make_video_split, write_video_split
from edge.evaluate.stability import TrackRecorder, acceleration, rms
from edge.paths import data_root, models_dir
from edge.shape_model import ShapeModel

VIDEOS = data_root() / "videos"
needs_videos = pytest.mark.skipif(not VIDEOS.is_dir(), reason=f"video clips {VIDEOS} are absent (set EDGETRACK_DATA or add ../shared/data)")


def _path(n: int, iod: float = 50.0) -> tuple[np.ndarray, np.ndarray]:
    """n frames of the mean face (IOD `iod` px) moving on a straight line at constant speed: (points, iods)."""
    base = ShapeModel.load().mean.astype(np.float64)
    base = (base - base.mean(0)) * iod / np.hypot(*(base[45] - base[36])) + [200.0, 150.0]
    t = np.arange(n, dtype=np.float64)[:, None, None]
    return base + t * np.array([1.7, -0.6]), np.full(n, iod)


# ---- the metric


def test_a_constant_velocity_path_has_no_acceleration():
    pts, iod = _path(50)
    acc = acceleration(np.arange(50), pts, iod)
    assert acc.shape == (48, 68)
    np.testing.assert_allclose(acc, 0.0, atol=1e-12)
    # growing at a constant rate too (a face walking towards the camera at constant speed)
    grow = pts + np.arange(50)[:, None, None] * 0.01 * (pts[0] - pts[0].mean(0))
    np.testing.assert_allclose(acceleration(np.arange(50), grow, iod), 0.0, atol=1e-9)


def test_white_noise_gives_sqrt6_times_its_size():
    """Noise of RMS length s per point and frame (per-coordinate sd s / sqrt 2): RMS acceleration sqrt(6) s / IOD."""
    n, iod, s = 3000, 50.0, 0.5
    pts, iods = _path(n, iod)
    rng = np.random.default_rng(0)
    noisy = pts + rng.normal(0.0, s / np.sqrt(2), pts.shape)
    got = rms(acceleration(np.arange(n), noisy, iods))
    assert got == pytest.approx(np.sqrt(6) * s / iod, rel=0.02)
    assert got != pytest.approx(np.sqrt(12) * s / iod, rel=0.1)  # not per-coordinate sd: the length counts


def test_a_gap_between_frames_splits_the_run():
    pts, iod = _path(7)
    pts[4:] += 40.0  # a jump across the gap: it must not count as acceleration
    frames = np.array([0, 1, 2, 3, 10, 11, 12])
    acc = acceleration(frames, pts, iod)
    assert acc.shape == (3, 68)  # frames 1, 2 of the first run, 11 of the second
    np.testing.assert_allclose(acc, 0.0, atol=1e-12)
    assert acceleration(np.array([0, 1, 3, 4]), pts[:4], iod[:4]).shape == (0, 68)  # no run of 3
    assert acceleration(np.array([0, 1]), pts[:2], iod[:2]).shape == (0, 68)
    assert np.isnan(rms(np.zeros((0, 68))))


def test_acceleration_is_divided_by_the_iod_of_its_frame():
    pts, _ = _path(3)
    pts[1, 0, 0] += 2.0  # one point 2 px right in the middle frame: second difference 4 px
    acc = acceleration(np.arange(3), pts, np.array([10.0, 40.0, 1000.0]))
    assert acc[0, 0] == pytest.approx(4.0 / 40.0) and acc[0, 1:].max() < 1e-12


def test_bad_tracks_are_one_line_errors():
    pts, iod = _path(5)
    with pytest.raises(ValueError, match=r"points \(T, 68, 2\)"):
        acceleration(np.arange(5), pts[:, :10], iod)
    with pytest.raises(ValueError, match="must increase"):
        acceleration(np.array([0, 2, 1, 3, 4]), pts, iod)


def test_recorder_keeps_tracks_apart_and_a_new_id_starts_a_new_run():
    pts, _ = _path(12)
    rec = TrackRecorder()
    for i in range(12):
        face_a = SimpleNamespace(id=1 if i < 6 else 2, points=pts[i], raw_points=pts[i] + (i % 2))  # raw zig-zags 1 px
        face_b = SimpleNamespace(id=7, points=pts[i] + 100.0, raw_points=None)
        rec(SimpleNamespace(index=i), [face_a, face_b] if i != 9 else [])
    assert rec.frames == 12 and rec.with_face == 11
    raw, smooth = rec.accelerations()
    # id 1: frames 0-5 -> 4; id 2: frames 6-8, 10-11 -> 1; id 7: frames 0-8, 10-11 -> 7
    assert raw.shape == smooth.shape == (12, 68)
    np.testing.assert_allclose(smooth, 0.0, atol=1e-9)
    zigzag = np.hypot(2.0, 2.0) / 50.0  # +-1 px in x and y alternating: second difference 2 px each way
    assert np.sort(raw[:, 0])[-5:] == pytest.approx([zigzag] * 5)


# ---- the video split


def test_clip_person_folds_the_session_letter():
    assert clip_person("nrc_05s-2.avi") == "nrc_05" == clip_person("nrc_05-1.avi")
    assert clip_person("nrc_10-2.avi") == "nrc_10"
    assert clip_person("clm_changeLighting.avi") == "clm_changeLighting"
    assert clip_person("clm_multi_face.avi") == "clm_multi_face"


def _clips(d, names):
    d.mkdir(parents=True, exist_ok=True)
    for n in names:
        (d / n).write_bytes(b"not decoded here")
    return d


def test_split_round_trip_and_errors(tmp_path, edge_log):
    names = ["a_01-1.avi", "a_01-2.avi", "a_01s-1.avi", "b_02-1.avi", "b_02-2.avi", "solo.mp4"]
    d = _clips(tmp_path / "clips", names)
    split = make_video_split(names, ["b_02", "solo"])
    assert split["val"] == ["b_02-1.avi", "b_02-2.avi", "solo.mp4"] and split["train"] == ["a_01-1.avi", "a_01-2.avi", "a_01s-1.avi"]
    path = write_video_split(split, tmp_path / "splits" / "clips.json")
    assert video_clips(d, "val", split=path) == [d / "b_02-1.avi", d / "b_02-2.avi", d / "solo.mp4"]
    assert video_clips(d, "train", split=path) == [d / "a_01-1.avi", d / "a_01-2.avi", d / "a_01s-1.avi"]
    assert video_clips(d, "all", split=path) == [d / n for n in sorted(names)]
    with pytest.raises(ValueError, match="val people x_09 have no clip"):
        make_video_split(names, ["x_09"])
    with pytest.raises(ValueError, match="no video folder at"):
        video_clips(tmp_path / "nowhere", "train", split=path)
    with pytest.raises(ValueError, match="one of train, val, all, not 'test'"):
        video_clips(d, "test", split=path)
    # a folder with no recorded split: train / val refuse, all is every video file in it
    with pytest.raises(ValueError, match="has no recorded split at"):
        video_clips(d, "train")
    (d / "notes.txt").write_text("not a clip")
    assert video_clips(d, "all") == [d / n for n in sorted(names)]
    # a clip of the part missing is an error naming it; a clip the split does not know is said
    (d / "b_02-2.avi").unlink()
    assert len(video_clips(d, "train", split=path)) == 3
    with pytest.raises(ValueError, match="1 of the 3 val clips .* missing .*: b_02-2.avi"):
        video_clips(d, "val", split=path)
    (d / "c_03-1.avi").write_bytes(b"")
    video_clips(d, "train", split=path)
    assert any("c_03-1.avi" in line and "neither part" in line for line in edge_log)


def test_the_recorded_video_split_is_by_person():
    path = models_dir() / "splits" / "videos.json"
    rec = json.loads(path.read_text())
    assert rec["val_people"] == ["clm_changeLighting", "nrc_08", "nrc_09", "nrc_10"]
    assert make_video_split(rec["train"] + rec["val"], rec["val_people"], note=rec.get("note", "")) == rec
    assert len(rec["train"]) == 19 and len(rec["val"]) == 7 and "clm_multi_face.avi" in rec["train"]
    assert not {clip_person(n) for n in rec["train"]} & {clip_person(n) for n in rec["val"]}
    assert {"nrc_05-1.avi", "nrc_05s-1.avi"} <= set(rec["train"])


@pytest.mark.data
@needs_videos
def test_the_recorded_split_covers_the_real_clips():
    val, train, everything = video_clips(VIDEOS, "val"), video_clips(VIDEOS, "train"), video_clips(VIDEOS, "all")
    assert len(val) == 7 and len(train) == 19 and len(everything) == 26
    assert sorted(val + train) == everything == sorted(p for p in VIDEOS.iterdir() if p.suffix == ".avi")


# ---- the command


def _synthetic_video(path, n=45):
    return synthetic_video(path, n, 320, 240, start=90)[0]  # a moving stretch of the script


def test_stability_command_on_a_synthetic_clip(tmp_path, capsys):
    d = tmp_path / "my_clips"
    d.mkdir()
    _synthetic_video(d / "face.avi")
    out = tmp_path / "s.json"
    assert main(["stability", "--videos", str(d), "--split", "all", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep["split"] == "all" and rep["frames"] == 45 and len(rep["clips"]) == 1
    clip = rep["clips"][0]
    assert clip["clip"] == "face.avi" and clip["tracked_share"] > 0.9
    assert clip["accel_samples"] >= 35
    assert 0 < rep["accel_smoothed_pct_iod"] < rep["accel_raw_pct_iod"] < 10  # the smoothing takes shake out
    assert rep["accel_raw_pct_iod"] == clip["accel_raw_pct_iod"] and rep["ms_per_frame"] > 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("| total ") and lines[-2].startswith("| face.avi ")
    assert "accel raw % IOD" in lines[-4]
    # no smoothing: what is handed on is the raw points
    assert main(["stability", "--videos", str(d), "--split", "all", "--frames", "20", "--no-smooth", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep["frames"] == 20 and rep["smooth"] is False
    assert rep["accel_smoothed_pct_iod"] == pytest.approx(rep["accel_raw_pct_iod"])


def test_stability_bad_arguments_are_one_line_errors(tmp_path, capsys):
    assert main(["stability", "--videos", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "no video folder at" in err and len(err.strip().splitlines()) == 1
    assert main(["stability", "--videos", str(tmp_path), "--split", "val"]) == 2
    assert "has no recorded split" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.data
@needs_videos
def test_stability_on_the_real_val_clips(tmp_path):
    """The model card's measurement (models/cards/cnn.md, 'Stability on held-back real video'): the 7 val clips
    whole (2,282 frames), tracked share 0.899, acceleration raw 5.15 / smoothed 3.18 % IOD; pinned so that a
    tracker or model 20 % worse fails (share below 0.899 / 1.2, shake above 1.2x)."""
    out = tmp_path / "s.json"
    assert main(["stability", "--frames", "0", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert [c["clip"] for c in rep["clips"]] == [p.name for p in video_clips(VIDEOS, "val")]
    assert rep["frames"] == 2282
    assert rep["tracked_share"] > 0.899 / 1.2
    assert rep["accel_raw_pct_iod"] < 1.2 * 5.15 and rep["accel_smoothed_pct_iod"] < 1.2 * 3.18
