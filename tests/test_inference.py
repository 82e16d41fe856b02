"""The one TFLite wrapper: bad files, missing delegates, and quantisation from the model's own parameters."""

from __future__ import annotations

import numpy as np
import pytest

from edge.inference import TFLiteModel, load_delegate_by_name
from edge.paths import models_dir


def _any_model():
    found = sorted(models_dir().glob("*.tflite"))
    if not found:
        pytest.skip("no .tflite model committed yet")
    return found[0]


def test_missing_file_is_one_line_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.tflite") as e:
        TFLiteModel(tmp_path / "missing.tflite")
    assert "\n" not in str(e.value)


def test_corrupt_file_is_one_line_naming_it(tmp_path):
    bad = tmp_path / "corrupt.tflite"
    bad.write_bytes(b"TFL3" + bytes(range(256)) * 4)
    with pytest.raises(ValueError, match="corrupt.tflite") as e:
        TFLiteModel(bad)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("spec", ["edgetpu", "armnn", "/nonexistent/libmy_delegate.so"])
def test_a_named_delegate_that_cannot_load_is_one_line_not_a_cpu_fallback(spec, capsys):
    with pytest.raises(ValueError, match=f"delegate '{spec}' cannot be loaded") as e:
        load_delegate_by_name(spec)
    assert "\n" not in str(e.value) and "drop --delegate" in str(e.value)
    assert capsys.readouterr().err == ""  # no destructor traceback on top


def test_model_with_a_missing_delegate_stops_instead_of_running_on_the_cpu():
    with pytest.raises(ValueError, match="delegate 'edgetpu'"):
        TFLiteModel(_any_model(), num_threads=2, delegate="edgetpu")


def test_cpu_delegate_names_run_the_model():
    for spec in ("", "cpu", "xnnpack"):
        m = TFLiteModel(_any_model(), delegate=spec)
        assert "XNNPACK" in m.describe()
        out = m.run(np.zeros(m.input_shape, np.float32))
        assert all(np.all(np.isfinite(o)) for o in out)


def test_quantise_round_trip_uses_scale_and_zero_point():
    detail = {"dtype": np.int8, "quantization": (2.0 / 255.0, -1)}
    x = np.linspace(-1.0, 1.0, 11, dtype=np.float32)
    q = TFLiteModel._quantise(x, detail)
    assert q.dtype == np.int8 and q.min() >= -128 and q.max() <= 127
    assert np.abs(TFLiteModel._dequantise(q, detail) - x).max() <= 0.5 * 2.0 / 255.0 + 1e-6
    # out of range saturates instead of wrapping
    assert TFLiteModel._quantise(np.array([5.0, -5.0], np.float32), detail).tolist() == [127, -128]


def test_wrong_number_of_inputs_is_an_error():
    m = TFLiteModel(_any_model())
    with pytest.raises(ValueError, match="takes 1 input"):
        m.run(np.zeros(m.input_shape, np.float32), np.zeros(m.input_shape, np.float32))
