"""AFLW's 21-point markup: reading, mirroring, its shared places with the 68 points, and the per-yaw evaluation."""

from __future__ import annotations

import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.data.aflw21 import (
    COMMON_68,
    COMMON_AFLW,
    FLIP_AFLW,
    AflwImages,
    box_size,
    face_box,
    flip_aflw,
    framing_points,
    load_aflw21,
    yaw_bin,
)
from edge.data.flip import flip_points
from edge.evaluate.aflw import aflw_nme, evaluate_aflw, format_aflw_table, summarise_aflw
from edge.landmarks import make_landmarker
from edge.paths import data_root
from edge.shape_model import ShapeModel

AFLW = data_root() / "aflw21"

def _aflw_from_68(points68: np.ndarray) -> np.ndarray:
    """The 21 AFLW points of a 68-point face at the shared places (the others left unmarked)."""
    out = np.full((21, 2), np.nan, np.float32)
    out[COMMON_AFLW] = points68[COMMON_68]
    return out

def _folder(tmp_path: Path, faces: list[tuple[str, float, np.ndarray, np.ndarray]]) -> Path:
    """A tiny aflw21 folder: landmarks21.csv and an uncompressed images.zip of grey JPEG crops."""
    header = "image,yaw_deg," + ",".join(f"x{i},y{i}" for i in range(21))
    lines = [header]
    with zipfile.ZipFile(tmp_path / "images.zip", "w", zipfile.ZIP_STORED) as z:
        for name, yaw, pts, img in faces:
            z.writestr(name, cv2.imencode(".jpg", img)[1].tobytes())
            cells = ["" if not np.isfinite(v) else f"{v:.2f}" for v in pts.ravel()]
            lines.append(",".join([name, f"{yaw:.2f}"] + cells))
    (tmp_path / "landmarks21.csv").write_text("\n".join(lines) + "\n")
    return tmp_path

def test_flip_is_an_involution_that_swaps_sides():
    assert sorted(FLIP_AFLW.tolist()) == list(range(21)) and np.all(FLIP_AFLW[FLIP_AFLW] == np.arange(21))
    pts = np.random.default_rng(0).uniform(10, 110, (21, 2))
    assert np.allclose(flip_aflw(flip_aflw(pts)), pts)
    # mirroring a 68-point face and reading its shared places = reading them and mirroring in AFLW's order
    face = ShapeModel.load().mean * 30 + 60
    assert np.allclose(_aflw_from_68(flip_points(face, 120)), flip_aflw(_aflw_from_68(face)), equal_nan=True)

def test_reader_keeps_unmarked_points_empty_and_refuses_a_wrong_file(tmp_path):
    face = ShapeModel.load().mean * 30 + 60
    pts = _aflw_from_68(face)
    img = np.full((120, 120), 128, np.uint8)
    folder = _folder(tmp_path, [("image00001.jpg", 12.5, pts, img), ("image00002.jpg", -50.0, pts, img)])
    faces = load_aflw21(folder)
    assert [f.name for f in faces] == ["image00001.jpg", "image00002.jpg"] and faces[1].yaw_deg == -50.0
    assert np.isnan(faces[0].points[7]).all() and np.allclose(faces[0].points[COMMON_AFLW], face[COMMON_68], atol=0.01)
    with AflwImages(folder) as images:
        assert images.read("image00001.jpg").shape == (120, 120)
    assert [yaw_bin(y) for y in (0.0, -29.9, 30.0, -44.0, 45.0, 90.0)] == [0, 0, 1, 1, 2, 2]
    (tmp_path / "landmarks21.csv").write_text("image,x0,y0\n")
    with pytest.raises(ValueError, match="header"):
        load_aflw21(folder)
    with pytest.raises(FileNotFoundError, match="aflw21"):
        load_aflw21(tmp_path / "nowhere")

def test_nme_at_the_shared_places_and_the_box_from_the_markup():
    mean = ShapeModel.load().mean
    face = mean * 30 + 60
    manual = _aflw_from_68(face)
    assert aflw_nme(face, manual) == pytest.approx(0.0, abs=1e-6)  # float32 points
    moved = face.copy()
    moved[COMMON_68] += [3.0, 4.0]  # 5 px at every scored place
    assert aflw_nme(moved, manual) == pytest.approx(5.0 / box_size(manual))
    # the 68-point box comes back from the 21 points alone, wherever the face is and however large
    assert np.allclose(framing_points(manual, mean), face, atol=1e-4)
    box = face_box(manual, mean)
    assert np.allclose([box.x, box.y, box.w, box.h], [face[:, 0].min(), face[:, 1].min(), np.ptp(face[:, 0]), np.ptp(face[:, 1])])

@pytest.mark.data
@pytest.mark.slow
def test_evaluation_per_yaw_bin_ranks_a_landmarker_above_the_mean_shape():
    if not (AFLW / "landmarks21.csv").is_file():
        pytest.skip(f"{AFLW} not present (the shared data folder)")
    from edge.data.aflw21 import load_aflw21_part

    faces = load_aflw21_part(AFLW, "val")[:60]
    runs = [summarise_aflw(evaluate_aflw(AFLW, faces, make_landmarker(n), "gt")) for n in ("mean", "cnn")]
    table = format_aflw_table(runs)
    assert "|yaw| 45+" in table and runs[0]["all"]["n"] == 60
    # models/cards/cnn.md: the shipped cnn 4.45% of the face box on 300 val faces (mean shape 8.90)
    assert runs[1]["all"]["nme_mean_pct"] < 1.2 * 4.45 < runs[0]["all"]["nme_mean_pct"]

def test_eval_command_scores_an_aflw_folder(tmp_path, capsys):
    from edge.cli import main

    mean = ShapeModel.load().mean
    rng = np.random.default_rng(1)
    faces = []
    for i in range(3):
        face = mean * 28 + 60 + rng.normal(0, 1, 2)
        img = cv2.GaussianBlur(rng.integers(0, 255, (120, 120), dtype=np.uint8), (0, 0), 3)
        faces.append((f"image{i:05d}.jpg", 10.0 * i, _aflw_from_68(face), img))
    folder = _folder(tmp_path, faces)
    assert main(["eval", "--data", str(folder), "--landmarker", "mean", "--split", "all"]) == 0
    out = capsys.readouterr().out
    assert "|yaw| 0-30 (n=3)" in out and "| mean" in out
    assert main(["eval", "--data", str(folder), "--landmarker", "mean", "--split", "all", "--plot", str(tmp_path / "x.png")]) == 2
    assert "per-yaw" in capsys.readouterr().err

