"""A model, landmarker or delegate the user named is used as named or stops the run with one line.

Only `auto` may fall back, and then it says why in full (no message cut mid-word)."""

from __future__ import annotations

import shutil

import pytest

from edge.cli import main
from edge.paths import models_dir
from edge.tracking import pick_landmarker


def _run(args, capsys):
    rc = main(["run", "--source", "synthetic:still", "--frames", "3", "--display", "none", *args])
    return rc, capsys.readouterr().err


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("edgetrack run:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("landmarker", ["auto", "cnn", "cnn+clm"])
def test_missing_named_model_stops_the_run(tmp_path, capsys, landmarker):
    missing = tmp_path / "my_model.tflite"
    rc, err = _run(["--landmarker", landmarker, "--model", str(missing)], capsys)
    assert rc == 2
    assert str(missing) in _one_error_line(err)
    assert "auto -> mean" not in err


def test_corrupt_named_model_stops_the_run(tmp_path, capsys):
    bad = tmp_path / "cnn.tflite"
    bad.write_bytes(b"TFL3" + bytes(range(256)) * 8)
    rc, err = _run(["--model", str(bad)], capsys)
    assert rc == 2
    line = _one_error_line(err)
    assert str(bad) in line and "not a valid TFLite model" in line


def test_model_of_no_landmarker_type_is_refused(tmp_path, capsys):
    odd = tmp_path / "weights.bin"
    odd.write_bytes(b"\0" * 16)
    rc, err = _run(["--model", str(odd)], capsys)
    assert rc == 2 and "not a landmark model" in _one_error_line(err)


def test_named_model_from_the_config_file_stops_the_run(tmp_path, capsys):
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'model = "{tmp_path / "gone.tflite"}"\n')
    rc, err = _run(["--config", str(cfg)], capsys)
    assert rc == 2 and "gone.tflite" in _one_error_line(err)


def test_named_delegate_that_cannot_load_stops_the_run(capsys):
    rc, err = _run(["--delegate", "edgetpu"], capsys)
    assert rc == 2 and "delegate 'edgetpu' cannot be loaded" in _one_error_line(err)


def test_auto_says_in_full_why_it_fell_back(tmp_path, monkeypatch):
    """Without the CNN's file, auto takes the CLM and quotes the whole reason."""
    folder = tmp_path / "models"
    shutil.copytree(models_dir(), folder)
    (folder / "cnn_landmarks_int8.tflite").write_bytes(b"TFL3" + bytes(range(256)) * 8)  # corrupt
    monkeypatch.setenv("EDGETRACK_MODELS", str(folder))
    lm, why = pick_landmarker("auto")
    assert lm.name == "clm"
    assert why.startswith("landmarker: auto -> clm (cnn: model file ")
    assert why.endswith("re-export it or fix --model)")
    (folder / "cnn_landmarks_int8.tflite").unlink()
    lm, why = pick_landmarker("auto")
    assert lm.name == "clm" and "cnn_landmarks_int8.tflite" in why and "make models" in why


def test_a_landmark_style_the_landmarker_cannot_give_stops_the_run(capsys):
    """--landmark-style picks a CNN output: with clm or mean it would do nothing, so it is refused in one line."""
    rc, err = _run(["--landmarker", "clm", "--landmark-style", "ytf68"], capsys)
    assert rc == 2 and "--landmark-style ytf68" in _one_error_line(err) and "not of clm" in err
    rc, err = _run(["--landmarker", "cnn", "--landmark-style", "ytf68"], capsys)
    assert rc == 0


def test_auto_says_when_the_style_does_not_apply(tmp_path, monkeypatch):
    monkeypatch.setattr("edge.tracking.pick.AUTO_ORDER", ("mean",))
    lm, why = pick_landmarker("auto", style="ytf68")
    assert lm.name == "mean" and "--landmark-style ytf68 does not apply to mean" in why
