import csv
import json

import cv2
import numpy as np
import pytest

from edge.cli import main
from edge.geometry import Box
from edge.landmarks.mean import place_in_box
from edge.shape_model import ShapeModel


def _dataset(tmp_path, n=6):
    """Faces whose annotation is exactly the mean shape in a box: the mean landmarker is perfect on them."""
    (tmp_path / "images").mkdir(parents=True)
    mean = ShapeModel.load().mean
    rows = []
    for i in range(n):
        cv2.imwrite(str(tmp_path / "images" / f"p{i}_00.png"), np.full((120, 140, 3), 100, np.uint8))
        pts = place_in_box(mean, Box(20 + i, 15, 70 + i, 80))
        rows.append([f"p{i}_00.png"] + [f"{v:.4f}" for v in pts.ravel()])
    header = ["image"] + [f"{a}{i}" for i in range(68) for a in "xy"]
    with open(tmp_path / "landmarks.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([header] + rows)
    return tmp_path


def test_eval_cli_writes_json_predictions_and_plot(tmp_path):
    data = _dataset(tmp_path / "d")
    out = tmp_path / "o"
    out.mkdir()
    rc = main(["eval", "--data", str(data), "--split", "all", "--landmarker", "mean", "--box", "gt",
               "--json", str(out / "r.json"), "--predictions", str(out / "p.csv"), "--plot", str(out / "ced.png")])
    assert rc == 0
    r = json.loads((out / "r.json").read_text())
    for key in ("nme_mean_pct", "nme_median_pct", "fail8_pct", "fail10_pct", "auc8", "missing", "n", "ms_per_face_median"):
        assert key in r
    assert r["n"] == 6 and r["missing"] == 0
    assert r["nme_mean_pct"] == pytest.approx(0.0, abs=0.01)
    assert r["auc8"] == pytest.approx(1.0, abs=0.01)
    rows = list(csv.reader(open(out / "p.csv")))
    assert len(rows) == 7 and rows[1][0] == "p0_00.png" and len(rows[1]) == 137
    assert cv2.imread(str(out / "ced.png")).shape == (480, 640, 3)


def test_detect_mode_reports_missing_faces_with_empty_rows(tmp_path):
    data = _dataset(tmp_path / "d", n=3)  # flat grey images: no face to detect
    rc = main(["eval", "--data", str(data), "--split", "all", "--box", "detect",
               "--json", str(tmp_path / "r.json"), "--predictions", str(tmp_path / "p.csv")])
    assert rc == 0
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["missing"] == 3 and r["fail8_pct"] == 100.0 and r["auc8"] == 0.0
    rows = list(csv.reader(open(tmp_path / "p.csv")))
    assert rows[1][1:] == [""] * 136


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    assert main(["eval", "--data", str(tmp_path / "missing")]) == 2
    assert "no such data folder" in capsys.readouterr().err
    data = _dataset(tmp_path / "d", n=2)
    assert main(["eval", "--data", str(data), "--split", "all", "--landmarker", "bogus"]) == 2
    assert "unknown landmarker 'bogus'" in capsys.readouterr().err


def test_mean_on_real_validation_faces(ytf68, tmp_path):
    rc = main(["eval", "--data", str(ytf68), "--landmarker", "mean", "--limit", "100", "--json", str(tmp_path / "r.json")])
    assert rc == 0
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["n"] == 100 and 10 < r["nme_mean_pct"] < 35


def test_model_reaches_only_the_landmarkers_it_fits(tmp_path, capsys):
    from edge.commands.eval import model_takers

    assert model_takers(["cnn", "cnn+clm", "dlib", "mean"], "m/x.tflite") == {"cnn", "cnn+clm"}
    assert model_takers(["clm", "cnn"], "m/clm_patches.npz") == {"clm"}
    assert model_takers(["mean"], None) == set()
    data = _dataset(tmp_path / "d", n=2)
    assert main(["eval", "--data", str(data), "--split", "all", "--landmarker", "mean,dlib", "--model", "x.tflite"]) == 2
    err = capsys.readouterr().err
    assert "fits none of --landmarker mean,dlib" in err and len(err.strip().splitlines()) == 1


def test_eval_scores_all_faces_of_a_folder_without_a_recorded_split(tmp_path, capsys):
    """A user's own folder has no split in models/splits/: every face is scored, it says so, and nothing is recorded."""
    from edge.data import split_path

    data = _dataset(tmp_path / "my_faces", n=9)
    assert not split_path(data).exists()
    rc = main(["eval", "--data", str(data), "--landmarker", "mean", "--json", str(tmp_path / "r.json")])
    assert rc == 0
    err = capsys.readouterr().err
    assert "all 9 faces (no recorded split for this folder)" in err
    assert json.loads((tmp_path / "r.json").read_text())["n"] == 9
    assert not split_path(data).exists()
    assert main(["eval", "--data", str(data), "--split", "val", "--landmarker", "mean"]) == 2
    assert "--split all" in capsys.readouterr().err
