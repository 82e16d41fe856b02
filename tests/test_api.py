"""The Python API (`from edge import FaceTracker`): the same points as `edgetrack run --landmarks-out` on the
same real video, typed faces, options checked as the config file's are, and render() drawing on a copy."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge import Face, FaceTracker
from edge.cli import main
from edge.paths import data_root

FRAMES = 60


@pytest.fixture(autouse=True)
def no_system_config(monkeypatch):
    monkeypatch.setenv("EDGETRACK_NO_SYSTEM_CONFIG", "1")


@pytest.fixture(scope="module")
def clip() -> Path:
    path = data_root() / "videos" / "nrc_08-1.avi"  # a held-back clip of a real person (models/splits/videos.json: val)
    if not path.is_file():
        pytest.skip(f"{path} is absent (set EDGETRACK_DATA or place ../shared/data beside the checkout)")
    return path


@pytest.mark.data
def test_api_points_equal_run_landmarks_out_on_the_same_video(clip, tmp_path):
    out = tmp_path / "run.jsonl"
    argv = ["run", "--source", f"file:{clip}", "--display", "none", "--frames", str(FRAMES), "--landmarker", "cnn",
            "--max-faces", "2", "--landmarks-out", str(out)]  # fmt: skip
    assert main(argv) == 0
    lines = [json.loads(s) for s in out.read_text().splitlines()]
    assert len(lines) == FRAMES

    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS)
    with FaceTracker(landmarker="cnn", max_faces=2) as tracker:
        for i, line in enumerate(lines):
            ok, image = cap.read()
            assert ok
            faces = tracker.process(image, timestamp=i / fps)
            assert [f.id for f in faces] == [f["id"] for f in line["faces"]], f"frame {i}"
            for face, written in zip(faces, line["faces"]):
                assert isinstance(face, Face) and face.points.shape == (68, 2) and face.points.dtype == np.float32
                assert np.abs(face.points - np.array(written["points"])).max() <= 0.005 + 1e-6, f"frame {i}, face {face.id}"
                assert face.to_json() == written, f"frame {i}: the face as --landmarks-out writes it"
    assert sum(bool(line["faces"]) for line in lines) > FRAMES * 0.9, "the person is tracked through the clip"


@pytest.mark.data
def test_faces_are_typed_and_render_draws_on_a_copy(clip):
    cap = cv2.VideoCapture(str(clip))
    with FaceTracker(landmarker="cnn", effects=["caricature:1.5"], overlay="points") as tracker:
        assert tracker.landmarker == "cnn" and tracker.config.effect == ("caricature:1.5",)
        for _ in range(5):
            ok, image = cap.read()
            before = image.copy()
            faces = tracker.process(image)  # timestamp: the monotonic clock
        assert np.array_equal(image, before), "process() leaves the caller's image alone"
        (face,) = faces
        assert face.box is not None and face.box.w > 10 and 0.0 <= face.score <= 1.0
        assert set(face.signals) >= {"blink", "smile"}
        assert face.emotion is not None and isinstance(face.emotion.label, str) and face.emotion.label
        assert face.emotion.scores and all(0.0 <= p <= 1.0 for p in face.emotion.scores.values())
        picture = tracker.render(image, faces)
        assert np.array_equal(image, before), "render() draws on a copy"
        assert picture.shape == image.shape and not np.array_equal(picture, image)
    with pytest.raises(ValueError, match="closed"):
        tracker.process(image)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"max_faces": "two"}, ["max_faces", "integer"]),
        ({"maxfaces": 2}, ["unknown option 'maxfaces'", "max_faces"]),
        ({"source": "file:x.mp4"}, ["'source'", "process() the images"]),
        ({"landmarks_out": "x.jsonl"}, ["'landmarks_out'", "to_json"]),
        ({"landmarker": "mean", "delegate": "xnnpack"}, ["--delegate", "cnn"]),
    ],
)
def test_bad_options_are_one_line_errors(options, words):
    with pytest.raises(ValueError) as err:
        FaceTracker(**options)
    msg = str(err.value)
    assert "\n" not in msg and all(w in msg for w in words), msg


@pytest.mark.parametrize("image", [np.zeros((100, 100, 3), np.float32), np.zeros((100, 100, 4), np.uint8), [[0]]])
def test_bad_images_are_one_line_errors(image):
    with FaceTracker(landmarker="mean", smooth=False) as tracker, pytest.raises(ValueError, match="uint8"):
        tracker.process(image)
