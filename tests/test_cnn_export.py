"""The whole conversion path on a tiny random network, so a broken PyTorch/ONNX/onnx2tf/TFLite chain fails CI.

PyTorch -> ONNX (opset 17) -> onnx2tf -> float32 / float16 / int8 TFLite, each run
through `edge.inference.TFLiteModel`; a few seconds of conversion on a 16x16 input.
"""

from __future__ import annotations

import numpy as np
import pytest

WHY = "the conversion chain needs the workstation stack: pip install 'edgetrack[convert]'"
torch = pytest.importorskip("torch", reason=WHY)
pytest.importorskip("onnx2tf", reason=WHY)
pytest.importorskip("onnxruntime", reason=WHY)
pytestmark = [pytest.mark.workstation, pytest.mark.slow]  # every test here exports a model first (~20 s)

from convert.cnn.model import LandmarkNet  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from convert.cnn.export import export
    from convert.cnn.model import set_export_clamps, set_fake_quant

    torch.manual_seed(0)
    # as shipped: one head per annotation style, and one per style for mirrored crops (a learned offset apart)
    model = LandmarkNet(16, width=0.25, stages=((1, 8, 1, 1), (2, 8, 1, 2), (2, 8, 1, 2), (2, 8, 1, 2)), heads=2, mirror=True)
    with torch.no_grad():
        model.mirror_offset.copy_(torch.linspace(-0.02, 0.02, 272))
    rng = np.random.default_rng(0)
    calib = rng.uniform(-1, 1, (16, 16, 16, 1)).astype(np.float32)
    # as an int8-aware fine-tune leaves it: learned activation ranges, exported as clips
    set_fake_quant(model, True)
    model.train()
    with torch.no_grad():
        model(torch.from_numpy(calib.transpose(0, 3, 1, 2)))
    set_fake_quant(model, False)
    set_export_clamps(model, True)
    model.eval()
    work = tmp_path_factory.mktemp("work")
    report = export(model, tmp_path_factory.mktemp("models"), "tiny", calib, keep_work=work)
    return model, report, calib, work


@pytest.mark.slow
def test_export_writes_three_models_that_match_pytorch(exported):
    from edge.inference import TFLiteModel

    model, report, calib, _ = exported
    assert set(report.files) == {"float32", "float16", "int8"}
    assert report.onnx_vs_float32_max_err_pct_of_crop < 0.1
    x = calib[:4]
    with torch.no_grad():
        ref = model(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy()
    for variant, path in report.files.items():
        m = TFLiteModel(path)
        assert m.input_shape == (1, 16, 16, 1)
        out = np.concatenate([m.run(x[i : i + 1])[0] for i in range(4)])
        assert out.shape == (4, 544)
        # int8: within a few quantisation steps of the output range
        tol = 1e-4 if variant == "float32" else 5e-3 if variant == "float16" else 8 * m.outputs[0]["quantization"][0] + 0.02
        assert np.abs(out - ref).max() < tol, variant
    assert TFLiteModel(report.files["int8"]).input_dtype == np.int8


def test_int8_with_float_io_agrees_with_int8_io(exported):
    """The wrapper's (de)quantisation from the model's own scale/zero point matches the converter's float-I/O variant."""
    from edge.inference import TFLiteModel

    _, report, calib, work = exported
    float_io = TFLiteModel(work / "tf" / "tiny_integer_quant.tflite")
    int_io = TFLiteModel(report.files["int8"])
    assert float_io.input_dtype == np.float32 and int_io.input_dtype == np.int8
    step = int_io.outputs[0]["quantization"][0]
    for i in range(4):
        a, b = float_io.run(calib[i : i + 1])[0], int_io.run(calib[i : i + 1])[0]
        assert np.abs(a - b).max() <= 1.01 * step


def test_int8_drops_only_clips_that_saturation_already_does(exported):
    """The learned clips calibrate the int8 ranges, then go: same outputs, fewer ops."""
    from ai_edge_litert.interpreter import Interpreter

    _, report, _, work = exported

    def clips(path):
        return sum(d["op_name"] in ("MINIMUM", "MAXIMUM", "RELU", "RELU_N1_TO_1") for d in Interpreter(str(path))._get_ops_details())

    assert report.int8_clips_removed >= 1 and report.int8_stripped_max_diff == 0.0
    assert clips(report.files["int8"]) == clips(work / "converted_int8.tflite") - report.int8_clips_removed
    assert not report.problems()


def test_the_landmarker_reads_the_head_of_its_style(exported, tmp_path):
    """A two-head model: `style` picks which 136 numbers become the points, and only those."""
    from edge.cnn.crop import CropSpec, decode_points, normalise, warp_crop
    from edge.inference import TFLiteModel
    from edge.landmarks.cnn import CnnLandmarker
    from edge.landmarks68 import FLIP_PERMUTATION

    _, report, _, _ = exported
    path = report.files["float32"]
    frame = np.random.default_rng(1).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    spec = CropSpec(40.0, 30.0, 32.0, 0.0)
    raw = TFLiteModel(path).run(normalise(warp_crop(frame, spec, 16))[None])[0].reshape(-1)
    crop = warp_crop(frame, spec, 16)
    raw_mirrored = TFLiteModel(path).run(normalise(np.ascontiguousarray(crop[:, ::-1]))[None])[0].reshape(-1)
    for head, style in enumerate(("300w", "ytf68")):
        lm = CnnLandmarker(path, style=style, flip=False, shape_model=None)
        assert lm.heads == 2
        straight = raw[head * 136 : (head + 1) * 136].reshape(68, 2)
        assert np.allclose(lm.predict(frame, spec).points, decode_points(straight.ravel(), spec, 16), atol=1e-4)
        # with the flip, the mirrored crop is read from the style's mirror head (outputs 272 + ...)
        mirror = raw_mirrored[272 + head * 136 : 272 + (head + 1) * 136].reshape(68, 2).copy()
        mirror[:, 0] = 1.0 - mirror[:, 0]
        want = decode_points((0.5 * (straight + mirror[FLIP_PERMUTATION])).ravel(), spec, 16)
        lm_flip = CnnLandmarker(path, style=style, flip=True, shape_model=None)
        assert np.allclose(lm_flip.predict(frame, spec).points, want, atol=1e-4)
    with pytest.raises(ValueError, match="unknown landmark style"):
        CnnLandmarker(path, style="helen")


def test_a_one_head_model_refuses_a_style_it_does_not_have(tmp_path):
    """A model with one output for every style answers the default style; naming another is one line, not a quiet no-op."""
    from convert.cnn.export import export
    from edge.landmarks.cnn import CnnLandmarker

    torch.manual_seed(0)
    model = LandmarkNet(16, width=0.25, stages=((1, 8, 1, 1), (2, 8, 1, 2), (2, 8, 1, 2), (2, 8, 1, 2))).eval()
    calib = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 1)).astype(np.float32)
    report = export(model, tmp_path, "one", calib, int8=False)
    path = report.files["float32"]
    assert CnnLandmarker(path, shape_model=None).heads == 1
    with pytest.raises(ValueError, match="one output for every annotation style") as e:
        CnnLandmarker(path, style="ytf68", shape_model=None)
    assert "\n" not in str(e.value)
