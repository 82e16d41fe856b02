"""Our learned face detector (`--detector cnn`): the search scales, the runtime module on a tiny exported
network end to end (PyTorch -> ONNX -> onnx2tf -> TFLite, then `CnnDetector` against the PyTorch model's own
decoded maps at several input sizes and scales), the shipped model on tilted, small and absent faces, and a
missing or corrupt model file as one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.cli import main as cli_main
from edge.detect import available_detectors, make_detector
from edge.detect.cnn import BASE, NATIVE_MAX, NATIVE_MIN, SCALE_STEP, CnnDetector, non_max_suppression, search_scales
from edge.landmarks68 import interocular, key_points, roll
from edge.paths import model_path

WHY = "exporting a detector needs the workstation stack: pip install 'edgetrack[convert]'"


def test_the_cnn_detector_is_chosen_by_name():
    assert {"haar", "cnn"} <= set(available_detectors())


@pytest.mark.parametrize("size,min_face", [((640, 480), 24), ((1280, 960), 16), ((1920, 1080), 10), ((4000, 3000), 40)])
def test_a_big_frame_is_searched_at_enough_scales_for_its_smallest_face(size, min_face):
    w, h = size
    scales = search_scales(w, h, min_face)
    assert scales[0] <= min(BASE[0] / w, BASE[1] / h)  # the whole frame in the base input...
    assert min(w, h) * scales[0] <= NATIVE_MAX  # ...where a face as big as the frame is in the native range
    assert min_face * scales[-1] >= NATIVE_MIN - 1e-6  # the smallest face is as big as the network learned
    assert all(b / a <= SCALE_STEP + 1e-6 for a, b in zip(scales, scales[1:]))  # no gap between the native ranges
    assert scales == sorted(scales) and scales[-1] <= 1.0


def test_a_small_frame_is_one_pass():
    assert len(search_scales(160, 120, 24)) == 1
    assert len(search_scales(100, 100, 24)) == 1  # upscaled to fit: a small photo's face is big enough


def test_missing_or_corrupt_detector_model_is_one_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="face detector model not found") as missing:
        make_detector("cnn", model_path=tmp_path / "nope.tflite")
    assert "\n" not in str(missing.value) and "make models" in str(missing.value)
    bad = tmp_path / "detector_int8.tflite"
    bad.write_bytes(b"TFL3" + bytes(range(256)) * 8)
    with pytest.raises(ValueError, match="not a valid TFLite model") as corrupt:
        make_detector("cnn", model_path=bad)
    assert "\n" not in str(corrupt.value)


def test_run_without_the_detector_model_stops_with_one_line(tmp_path, capsys, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    for name in ("shape_model.npz", "mean_face.png", "mean_face.json", "box_mapping.json"):
        shutil.copy(model_path(name), models / name)
    monkeypatch.setenv("EDGETRACK_MODELS", str(models))
    rc = cli_main(["run", "--source", "synthetic", "--display", "none", "--frames", "2", "--landmarker", "mean", "--detector", "cnn"])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "detector" in ln]
    assert rc == 2 and len(lines) == 1 and "face detector model not found" in lines[0] and "Traceback" not in err


# ---- the runtime module on a tiny exported network -------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch = pytest.importorskip("torch", reason=WHY)
    pytest.importorskip("onnx2tf", reason=WHY)
    pytest.importorskip("onnxruntime", reason=WHY)
    from convert.detector.export import convert
    from convert.detector.model import DetectorNet

    torch.manual_seed(0)
    model = DetectorNet(width=0.25, stages_8=((1, 8, 1, 1), (2, 8, 1, 2), (2, 8, 1, 2)), stages_16=((2, 16, 1, 2),), head_channels=8)
    with torch.no_grad():  # random maps with many cells above the threshold, so there is plenty to decode
        for head in (model.head8, model.head16):
            head.outs[0].bias.fill_(1.0)
            head.outs[0].weight.mul_(8.0)
    model.eval()
    rng = np.random.default_rng(0)
    calib = rng.uniform(-1, 1, (24, 128, 160, 1)).astype(np.float32)
    work = tmp_path_factory.mktemp("work")
    int8, float32, _ = convert(model, tmp_path_factory.mktemp("models") / "detector_int8.tflite", calib, work=work)
    return model, int8, float32


def _torch_detections(model, grey: np.ndarray, threshold: float):
    import torch

    from convert.detector.train import decode_outputs, to_tensor

    with torch.no_grad():
        outs = [o.numpy() for o in model(to_tensor(grey[None]))]
    return decode_outputs(outs, threshold)[0]


@pytest.mark.workstation
@pytest.mark.slow
@pytest.mark.parametrize("shape", [(128, 160), (208, 272), (96, 336)])
def test_tiny_exported_detector_decodes_as_pytorch_does_at_any_input_size(tiny, shape):
    model, _, float32 = tiny
    grey = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    det = CnnDetector(float32, mapped=False, score_threshold=0.6)
    ours = sorted(non_max_suppression(det._scan(grey, 1.0), det.nms_iou), key=lambda d: (d.box.cx, d.box.cy))  # one pass, 1:1
    ref = sorted(_torch_detections(model, grey, 0.6), key=lambda d: (d.box.cx, d.box.cy))
    assert len(ours) >= 3 and len(ours) == len(ref)
    for a, b in zip(ours, ref):
        got, want = (a.box.cx, a.box.cy, a.box.w, a.box.h, a.box.angle), (b.box.cx, b.box.cy, b.box.w, b.box.h, b.box.angle)
        assert got == pytest.approx(want, abs=1e-3)
        np.testing.assert_allclose(a.key_points, b.key_points, atol=1e-3)
    assert {shape} <= set(det._models)  # its own interpreter for that input size


@pytest.mark.workstation
@pytest.mark.slow
def test_tiny_detector_maps_a_scaled_pass_back_into_the_frame(tiny):
    """A 640x480 frame: each pass sees the frame resized; its boxes come back in frame pixels."""
    model, _, float32 = tiny
    import cv2

    frame = np.random.default_rng(2).integers(0, 256, (480, 640), dtype=np.uint8)
    frame = cv2.GaussianBlur(frame, (0, 0), 2.0)
    det = CnnDetector(float32, mapped=False, score_threshold=0.6)
    for scale in search_scales(640, 480, 24):
        rw, rh = round(640 * scale), round(480 * scale)
        small = cv2.resize(frame, (rw, rh), interpolation=cv2.INTER_AREA)
        pw, ph = -(-rw // 16) * 16, -(-rh // 16) * 16
        padded = cv2.copyMakeBorder(small, 0, ph - rh, 0, pw - rw, cv2.BORDER_REPLICATE)
        ref = _torch_detections(model, padded, 0.6)
        got = det._scan(frame, scale)
        assert len(got) == len(ref) and len(got) >= 1
        sx, sy = 640 / rw, 480 / rh
        for g in got:  # a frame box is the pass's box scaled back (pixel centres)
            match = min(ref, key=lambda r: abs((r.box.cx + 0.5) * sx - 0.5 - g.box.cx) + abs((r.box.cy + 0.5) * sy - 0.5 - g.box.cy))
            assert g.box.cx == pytest.approx((match.box.cx + 0.5) * sx - 0.5, abs=1e-2)
            assert g.box.w == pytest.approx(match.box.w * sx, rel=1e-3)


@pytest.mark.workstation
@pytest.mark.slow
def test_tiny_int8_detector_agrees_with_float(tiny):
    """The int8 file's maps are the float file's within a few quantisation steps, at a size it was not exported at."""
    _, int8, float32 = tiny
    x = np.random.default_rng(3).uniform(-1, 1, (1, 208, 272, 1)).astype(np.float32)
    qi, fl = CnnDetector(int8, mapped=False)._model(208, 272), CnnDetector(float32, mapped=False)._model(208, 272)
    assert qi.input_dtype == np.int8
    by_shape = {o.shape: o for o in fl.run(x)}
    for detail, out in zip(qi.outputs, qi.run(x)):
        ref = by_shape[out.shape]
        step = detail["quantization"][0]
        assert np.abs(out - ref).max() < 8 * step + 0.05 * np.abs(ref).max(), out.shape


# ---- the shipped model ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped():
    if not model_path("detector_int8.tflite").is_file():
        pytest.skip("models/detector_int8.tflite is not built; `make models` (edgetrack train detector) makes it")
    return make_detector("cnn")


def test_shipped_detector_finds_a_tilted_face_and_its_roll(shipped, rolling):
    for i in (0, 190, 470):  # level, ~44 degrees one way, ~25 the other
        frame, (truth,) = rolling.render(i)
        (found,) = [d for d in shipped.detect_with_key_points(frame, 3) if d.box.score >= shipped.score_threshold][:1]
        iod = float(interocular(truth.points))
        assert np.linalg.norm([found.box.cx - truth.points[:, 0].mean(), found.box.cy - truth.points[:, 1].mean()]) < 0.5 * iod
        assert np.rad2deg(abs(found.box.angle - roll(truth.points))) < 10
        assert np.abs(found.key_points - key_points(truth.points)).max() < 0.35 * iod


def test_shipped_detector_finds_a_small_face_in_a_large_frame_only_with_the_scales_for_it(shipped):
    import cv2

    from edge.synth import SyntheticFace

    frame, (truth,) = SyntheticFace(320, 240, seed=3, scenario="still").render(0)
    side = float(np.ptp(truth.points, axis=0).max())
    k = 22.0 / side  # a face 22 px high in a 1280x960 frame
    small = cv2.resize(frame, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    big = np.full((960, 1280, 3), 110, np.uint8)
    big[600 : 600 + small.shape[0], 900 : 900 + small.shape[1]] = small
    centre = truth.points.mean(0) * k + [900, 600]
    fine = make_detector("cnn", min_face=16).detect(big, 5)
    assert any(np.hypot(b.cx - centre[0], b.cy - centre[1]) < 8 for b in fine)
    coarse = make_detector("cnn", min_face=120).detect(big, 5)  # one pass: 22 px faces are 3 px there
    assert not any(np.hypot(b.cx - centre[0], b.cy - centre[1]) < 8 for b in coarse)


def test_shipped_detector_sees_no_face_in_flat_or_noise_frames(shipped):
    rng = np.random.default_rng(0)
    assert shipped.detect(np.full((480, 640, 3), 128, np.uint8), 5) == []
    assert len(shipped.detect(rng.integers(0, 255, (480, 640), dtype=np.uint8), 5)) == 0


def test_model_file_is_small():
    path = Path(model_path("detector_int8.tflite"))
    if not path.is_file():
        pytest.skip("models/detector_int8.tflite is not built")
    assert path.stat().st_size < 600_000


# ---- per-detector box mapping -------------------------------------------------------------


def test_box_mapping_is_kept_per_detector_and_reads_the_older_flat_file(tmp_path):
    from edge.detect.mapping import BoxMapping

    path = tmp_path / "box_mapping.json"
    path.write_text('{"dx": 0.01, "dy": 0.15, "sw": 0.86, "sh": 0.83}\n')  # the file before detectors had their own
    assert BoxMapping.load(path) == BoxMapping(0.01, 0.15, 0.86, 0.83) == BoxMapping.load(path, detector="haar")
    assert BoxMapping.load(path, detector="cnn") == BoxMapping() and not BoxMapping.fitted("cnn", path)
    BoxMapping(0.0, 0.02, 1.05, 1.1).save(path, detector="cnn")
    assert BoxMapping.load(path, detector="cnn") == BoxMapping(0.0, 0.02, 1.05, 1.1) and BoxMapping.fitted("cnn", path)
    assert BoxMapping.load(path, detector="haar") == BoxMapping(0.01, 0.15, 0.86, 0.83)  # Haar's is kept
    path.write_text("{not json")
    with pytest.raises(ValueError, match="unreadable"):
        BoxMapping.load(path)


def test_box_mapping_of_turned_boxes_works_along_the_faces_own_axes():
    from edge.detect.mapping import BoxMapping
    from edge.geometry import Box

    known = BoxMapping(dx=0.03, dy=0.12, sw=0.9, sh=1.1)
    rng = np.random.default_rng(0)
    dets = [Box(*rng.uniform(50, 400, 2), w, w, 1.0, float(a)) for w, a in zip(rng.uniform(30, 150, 40), rng.uniform(-0.8, 0.8, 40))]
    targets = [known.apply(d) for d in dets]
    for d, t in zip(dets, targets):  # the offset turns with the face: "down the face" is down its own axis
        along = np.array([np.cos(d.angle), np.sin(d.angle)]) * 0.03 + np.array([-np.sin(d.angle), np.cos(d.angle)]) * 0.12
        np.testing.assert_allclose([t.cx - d.cx, t.cy - d.cy], along * d.w, atol=1e-9)
        assert t.angle == d.angle
    fit = BoxMapping.fit(dets, targets)
    np.testing.assert_allclose([fit.dx, fit.dy, fit.sw, fit.sh], [0.03, 0.12, 0.9, 1.1], atol=1e-9)


def test_second_look_scores_a_levelled_crop_and_a_bad_file_is_one_line(tmp_path):
    from edge.detect.second_look import GRID, TEMPLATE, SecondLook, features

    rng = np.random.default_rng(0)
    grey = rng.integers(0, 255, (240, 320), dtype=np.uint8)
    kps = TEMPLATE * 4 + [100, 60]  # a face 4x the template, upright
    f = features(grey, kps, 0.8)
    assert f.shape == (2 * GRID * GRID + 1,) and np.isfinite(f).all()
    assert f[-1] == pytest.approx(np.log(0.8 / 0.2), abs=1e-5)
    angle = np.deg2rad(30)  # the same crop from the frame turned: the features follow the key points
    c, s = np.cos(angle), np.sin(angle)
    import cv2

    m = np.array([[c, -s, 0], [s, c, 0]], np.float64)
    m[:, 2] = [160, 120] - m[:, :2] @ [160, 120]
    turned = cv2.warpAffine(cv2.GaussianBlur(grey, (0, 0), 3), m, (320, 240))
    g = features(cv2.GaussianBlur(grey, (0, 0), 3), kps, 0.8)
    t = features(turned, kps @ m[:, :2].T + m[:, 2], 0.8)
    assert np.corrcoef(g[: GRID * GRID], t[: GRID * GRID])[0, 1] > 0.95
    model = SecondLook(((np.zeros((f.size, 1)), np.array([2.0])),), np.zeros(f.size), np.ones(f.size), 0.5, 0.25)
    assert model(grey, kps, 0.8) == pytest.approx(1 / (1 + np.exp(-2.0)))
    w0 = np.zeros((f.size, 2))  # a hidden layer: ReLU(score logit) and ReLU(-score logit)
    w0[-1] = [1.0, -1.0]
    mlp = SecondLook(((w0, np.zeros(2)), (np.array([[1.0], [-1.0]]), np.array([0.0]))), np.zeros(f.size), np.ones(f.size), 0.5, 0.25)
    assert mlp(grey, kps, 0.8) == pytest.approx(0.8, abs=1e-6)  # |logit| signed back: the network's own score
    assert mlp(grey, kps, 0.1) == pytest.approx(0.1, abs=1e-6)
    mlp.save(tmp_path / "mlp.npz", fit_faces=3.0)
    again = SecondLook.load(tmp_path / "mlp.npz")
    assert len(again.layers) == 2 and again(grey, kps, 0.8) == pytest.approx(0.8, abs=1e-3)
    bad = tmp_path / "detector_verify.npz"
    bad.write_bytes(b"not an npz")
    with pytest.raises(ValueError, match="not a detector second-look model") as err:
        SecondLook.load(bad)
    assert "\n" not in str(err.value)


def test_second_look_convolution_is_pytorchs_cross_correlation_relu_and_pool():
    from edge.detect.second_look import conv3x3_relu_pool

    x = np.arange(2 * 6 * 5, dtype=np.float32).reshape(1, 2, 6, 5)
    w = np.zeros((2, 2, 3, 3), np.float32)
    w[0, 0, 0, 0] = 1.0  # out 0: channel 0 one row up and one column left (zero outside)
    w[1, 1, 1, 1] = -1.0  # out 1: 45 minus channel 1 (30..59), negative half cut by the ReLU
    y = conv3x3_relu_pool(x.transpose(0, 2, 3, 1), w, np.array([0.0, 45.0], np.float32)).transpose(0, 3, 1, 2)
    shifted = np.zeros((6, 5), np.float32)
    shifted[1:, 1:] = x[0, 0, :-1, :-1]
    want = shifted[:6, :4].reshape(3, 2, 2, 2).max(axis=(1, 3))  # 2x2 max pooling, the odd column dropped
    assert y.shape == (1, 2, 3, 2)
    np.testing.assert_array_equal(y[0, 0], want)
    np.testing.assert_array_equal(y[0, 1], np.maximum(45.0 - x[0, 1, :6, :4], 0).reshape(3, 2, 2, 2).max(axis=(1, 3)))
    assert y[0, 1, 0, 0] == 15.0 and y[0, 1, 2, 1] == 0.0


def test_convolutional_second_look_matches_its_torch_network_and_round_trips(tmp_path):
    torch = pytest.importorskip("torch")  # the fitting side is workstation-only
    from convert.detector.second_look import _crop_cnn, to_second_look
    from edge.detect.second_look import GRID, TEMPLATE, SecondLook

    torch.manual_seed(0)
    net = _crop_cnn(4, 8).eval()
    x = np.random.default_rng(1).normal(size=(5, 2 * GRID * GRID + 1)).astype(np.float32)
    model = to_second_look(net, np.zeros(x.shape[1]), np.ones(x.shape[1]))
    with torch.no_grad():
        want = torch.sigmoid(net(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(model.probability(x), want, atol=1e-5)
    model.save(tmp_path / "cnn.npz")
    again = SecondLook.load(tmp_path / "cnn.npz")
    assert len(again.convs) == 3
    np.testing.assert_allclose(again.probability(x), want, atol=2e-3)  # float16 weights
    grey = np.random.default_rng(2).integers(0, 255, (240, 320), dtype=np.uint8)
    cands = [(TEMPLATE * 4 + [100, 60], 0.8), (TEMPLATE * 2 + [30, 150], 0.3)]
    batched = again.look(grey, cands)
    assert batched == pytest.approx([again(grey, k, s) for k, s in cands], abs=1e-6)


def test_convolutional_second_look_learns_a_face_like_pattern():
    pytest.importorskip("torch")
    from convert.detector.second_look import fit_classifier
    from edge.detect.second_look import GRID

    rng = np.random.default_rng(0)
    n = 600
    crops = rng.normal(size=(n, 2, GRID, GRID)).astype(np.float32)
    y = (np.arange(n) % 2).astype(np.float64)
    crops[y == 1, 0, 7:10, 5:19] += 2.0  # "faces": a dark-light bar where the eyes sit, anywhere else noise
    x = np.concatenate([crops.reshape(n, -1), np.zeros((n, 1), np.float32)], axis=1)
    model = fit_classifier(x[:400], y[:400], channels=4, hidden=8)
    p = model.probability(x[400:])
    assert ((p >= 0.5) == (y[400:] == 1)).mean() > 0.9


def test_second_look_fits_on_the_candidates_at_or_above_its_floor():
    from convert.detector.second_look import above_floor

    def cand(score: float) -> np.ndarray:
        return np.array([0.0, np.log(score / (1 - score))], np.float32)  # the features end with the score's logit

    parts = {"fit": {"X": [cand(0.15), cand(0.2), cand(0.9)], "y": [0, 1, 1]},
             "calib": {"faces": [[cand(0.12)], [cand(0.5), cand(0.19)]], "scene_faces": [[cand(0.21), cand(0.11)], [cand(0.1)]],
                       "neg": {"as_is": [[cand(0.3), cand(0.1)], []]}}}  # fmt: skip
    kept = above_floor(parts, 0.2)
    assert kept["fit"]["y"] == [1, 1] and len(kept["fit"]["X"]) == 2  # 0.2 itself stays, despite float32 rounding
    assert [len(f) for f in kept["calib"]["faces"]] == [0, 1]
    assert [len(f) for f in kept["calib"]["scene_faces"]] == [1, 0]
    assert [len(f) for f in kept["calib"]["neg"]["as_is"]] == [1, 0]


def test_second_look_threshold_keeps_a_margin_for_few_calibration_photos():
    from convert.detector.second_look import FALSE_BUDGET, calibrate
    from edge.detect.second_look import SecondLook

    def cands(*scores: float) -> list[np.ndarray]:
        return [np.array([np.log(s / (1 - s))]) for s in scores]

    model = SecondLook(((np.ones((1, 1)), np.zeros(1)),), np.zeros(1), np.ones(1), 0.5, 0.2)  # final score = network score
    n = 100  # photos: the scene budget allows 3.3 false detections; with the one-sigma margin only 1 (1 + 1 <= 3.3 < 2 + 1.41)
    assert FALSE_BUDGET["scene"] * n == pytest.approx(3.3)
    scene = [cands(0.9), cands(0.8), cands(0.7)] + [[] for _ in range(n - 3)]
    calib = {"faces": [cands(0.75), cands(0.95)], "neg": {"as_is": [[] for _ in range(n)], "scaled": scene, "scene": scene}}
    t, info = calibrate(model, calib)
    assert t == pytest.approx(0.81)  # the plain count (3 <= 3.3) would have allowed 0.02
    assert info["calib_miss"] == 0.5 and info["calib_false_per_negative_scene"] == pytest.approx(0.01)
    assert "calib_scene_faces" not in info
    # held-out scene faces are reported at that threshold and do not move it
    t2, info = calibrate(model, {**calib, "scene_faces": [cands(0.85, 0.3), cands(0.5), []]})
    assert t2 == t and info["calib_scene_faces"] == 3 and info["calib_scene_miss"] == pytest.approx(2 / 3)


def test_second_look_held_out_scenes_list_each_face_s_candidates(ytf68, w300, shipped):
    """`collect_held_scenes` on a few faces: 640x480 scenes of held-out identities only, each face (centre in the
    scene) with the features of the candidates that match it, most of them found by the network."""
    from convert.detector.second_look import _held, collect_held_scenes
    from convert.training_data import training_samples
    from edge.data import identity_of
    from edge.detect.second_look import GRID

    limit = 120
    assert any(_held(identity_of(s.name)) for s in training_samples(None, "train")[:limit])
    det = CnnDetector(model_path("detector_int8.tflite"), mapped=False, score_threshold=0.1, second_look=False)
    faces = collect_held_scenes(det, n_scenes=4, limit=limit)["scene_faces"]
    assert len(faces) >= 4 and sum(map(bool, faces)) > len(faces) / 2
    assert all(f.dtype == np.float32 and f.shape == (2 * GRID * GRID + 1,) for cands in faces for f in cands)
