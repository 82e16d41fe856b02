"""`--detector auto` (ours where its model is present, saying so; Haar otherwise, saying why), the dlib peer, and
the detector training's new faces and negatives: aflw21 shapes and synthetic textures."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from edge.paths import model_path
from edge.tracking import pick_detector


def test_auto_picks_our_detector_when_its_model_is_there_and_says_so():
    if not model_path("detector_int8.tflite").is_file():
        pytest.skip("models/detector_int8.tflite is not built; `make models` makes it")
    det, why = pick_detector("auto", 24, 1)
    assert det.name == "cnn" and why == "detector: auto -> cnn"


def test_auto_falls_back_to_haar_naming_what_is_missing_but_a_named_detector_never_falls_back(tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(model_path("box_mapping.json"), models / "box_mapping.json")
    monkeypatch.setenv("EDGETRACK_MODELS", str(models))
    det, why = pick_detector("auto", 24, 1)
    assert det.name == "haar"
    assert why.startswith("detector: auto -> haar (cnn: ") and "face detector model not found" in why and "\n" not in why
    with pytest.raises(FileNotFoundError, match="face detector model not found"):
        pick_detector("cnn", 24, 1)


def test_the_run_says_which_detector_auto_picked(caplog):
    import logging

    from edge.config import RunConfig
    from edge.service.build import build_pipeline

    with caplog.at_level(logging.INFO):
        build_pipeline(RunConfig(detector="auto", landmarker="mean"))
    assert any(r.getMessage().startswith("detector: auto -> ") for r in caplog.records)


@pytest.mark.workstation
def test_dlib_peer_finds_the_synthetic_face_through_its_own_mapping():
    pytest.importorskip("dlib", reason="the dlib peer needs edgetrack[peers]")
    from edge.detect import make_detector
    from edge.synth import SyntheticFace

    frame, (truth,) = SyntheticFace(640, 480, seed=0, scenario="still").render(0)
    (box,) = make_detector("dlib").detect(frame, 2)
    from edge.geometry import Box

    assert box.iou(Box.around(truth.points)) > 0.5 and 0.0 < box.score < 1.0


def test_an_aflw21_face_gets_the_mean_shape_with_its_own_eyes_nose_and_mouth_corners():
    from convert.detector.data import aflw_detector_shape
    from edge.data.aflw21 import COMMON_68, COMMON_AFLW
    from edge.landmarks68 import key_points, roll
    from edge.shape_model import ShapeModel

    mean = ShapeModel.load().mean
    a = np.deg2rad(20)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    face68 = mean @ rot.T * (70.0 / np.ptp(mean, axis=0).max()) + [60, 55]  # the mean face 70 px, turned by 20 degrees, moved
    manual = np.full((21, 2), np.nan)
    manual[COMMON_AFLW] = face68[COMMON_68]
    kp = key_points(face68)
    manual[[7, 10, 14, 17, 19]] = kp + [[1.5, -1.0], [0.5, 0.5], [3.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]  # the face's own
    shape = aflw_detector_shape(manual, mean)
    np.testing.assert_allclose(key_points(shape), manual[[7, 10, 14, 17, 19]], atol=1e-9)
    d = manual[10] - manual[7]
    assert roll(shape) == pytest.approx(np.arctan2(d[1], d[0]), abs=1e-9)  # the roll of its own eyes
    manual[10] = np.nan  # a far eye not marked (a turned head): it comes from the fitted mean shape
    np.testing.assert_allclose(key_points(aflw_detector_shape(manual, mean))[1], kp[1], atol=0.2)


def test_synthetic_textures_are_backgrounds_only_and_off_by_default_in_validation():
    from convert.detector.data import FaceBank, _texture, compose

    rng = np.random.default_rng(0)
    negs = [rng.integers(0, 255, (200, 300), dtype=np.uint8)]
    for seed in range(6):
        tex = _texture(np.random.default_rng(seed), negs, 160, 128)
        assert tex.shape == (128, 160) and np.isfinite(tex).all() and tex.std() > 3
    plain = [compose(np.random.default_rng(s), FaceBank(), negs, empty=1.0, texture=0.0)[0] for s in range(20)]
    textured = [compose(np.random.default_rng(s), FaceBank(), negs, empty=1.0, texture=1.0) for s in range(20)]
    assert all(faces == [] for _, faces in textured)
    assert sum(not np.array_equal(p, t) for p, (t, _) in zip(plain, textured)) >= 18


def test_detector_evaluation_groups_faces_by_size_roll_and_yaw():
    from convert.detector.data import SceneFace
    from convert.detector.evaluate import GROUPS, face_groups
    from edge.geometry import Box

    upright_small = SceneFace(Box(0, 0, 30, 30, 1.0, 0.0), np.zeros((5, 2)))
    turned = SceneFace(Box(0, 0, 80, 80, 1.0, np.deg2rad(35)), np.zeros((5, 2)), yaw=-50.0)
    assert face_groups(upright_small) == ["all", "68-point val faces", "small (<40 px)", "upright (<15 deg)"]
    assert face_groups(turned) == ["all", "aflw21 (every pose)", "tilted (>=15 deg)", "tilted (>=30 deg)", "turned (yaw >= 30 deg)",
                                   "turned (yaw >= 45 deg)"]  # fmt: skip
    assert set(face_groups(turned)) <= set(GROUPS)


@pytest.mark.data
def test_aflw21_faces_enter_the_detector_bank_with_their_yaw_and_key_points_on_the_face():
    from convert.detector.data import build_aflw_bank
    from edge.data.aflw21 import CROP_SIDE, load_aflw21_part
    from edge.landmarks68 import key_points
    from edge.paths import data_root

    folder = data_root() / "aflw21"
    if not (folder / "landmarks21.csv").is_file():
        pytest.skip(f"aflw21 faces {folder} are absent (set EDGETRACK_DATA or add ../shared/data)")
    bank = build_aflw_bank(folder, "val", limit=12)
    first = load_aflw21_part(folder, "val")[:12]  # the faces the bank took, in its order
    assert len(bank) == 12 and np.allclose(bank.yaws, [f.yaw_deg for f in first])
    # a few AFLW markups lie off their own crop (8 faces of 11,764, e.g. image04633.jpg); the others:
    pts_ok = [np.nanmin(f.points) >= 0 and np.nanmax(f.points) < CROP_SIDE for f in first]
    on_crop = [i for i, ok in enumerate(pts_ok) if ok]
    assert len(on_crop) >= 10
    for patch, alpha, pts in [(bank.patches[i], bank.alphas[i], bank.points[i]) for i in on_crop]:
        kp = key_points(pts)
        side = patch.shape[0]
        assert ((kp > 0) & (kp < side)).all()  # eyes, nose and mouth on the patch...
        assert alpha[int(kp[2, 1]), int(kp[2, 0])] > 200  # ...and the nose tip inside the face's alpha


def test_our_detector_takes_an_earlier_models_box_mapping_as_an_argument():
    from edge.detect.cnn import CnnDetector
    from edge.detect.mapping import BoxMapping

    if not model_path("detector_int8.tflite").is_file():
        pytest.skip("models/detector_int8.tflite is not built; `make models` makes it")
    other = BoxMapping(0.1, -0.05, 0.9, 1.1)
    assert CnnDetector(box_mapping=other).mapping == other
    assert CnnDetector().mapping == BoxMapping.load(detector="cnn") != other
    assert CnnDetector(box_mapping=other, mapped=False).mapping == BoxMapping()
