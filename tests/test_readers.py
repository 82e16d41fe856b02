from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.data import load_dataset
from edge.data.readers import read_pts_file


def _write_csv(folder: Path, rows: list[list[str]]) -> None:
    header = ["image"] + [f"{a}{i}" for i in range(68) for a in "xy"]
    (folder / "landmarks.csv").write_text("\n".join(",".join(r) for r in [header] + rows) + "\n")


def _pts_row(name: str, pts: np.ndarray) -> list[str]:
    return [name] + [f"{v:.2f}" for v in pts.ravel()]


def test_csv_reader_skips_and_reports_every_kind_of_bad_row(tmp_path, capsys):
    (tmp_path / "images").mkdir()
    img = np.zeros((50, 60, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "images" / "a_00.jpg"), img)
    cv2.imwrite(str(tmp_path / "images" / "b_00.jpg"), img)
    (tmp_path / "images" / "broken_00.jpg").write_bytes(b"not a jpeg")
    pts = np.arange(136, dtype=np.float32).reshape(68, 2)
    nan_row = _pts_row("b_00.jpg", pts)
    nan_row[5] = "nan"
    short_row = _pts_row("b_00.jpg", pts)[:-3]
    word_row = _pts_row("b_00.jpg", pts)
    word_row[7] = "seven"
    _write_csv(tmp_path, [_pts_row("a_00.jpg", pts), nan_row, short_row, word_row, _pts_row("gone_00.jpg", pts),
                          _pts_row("broken_00.jpg", pts)])
    samples, report = load_dataset(tmp_path)
    assert [s.name for s in samples] == ["a_00.jpg"]
    np.testing.assert_allclose(samples[0].points, pts)
    assert len(report.problems) == 5
    err = capsys.readouterr().err
    assert "skipped 5 bad entries" in err and "gone_00.jpg" in err and ":3" in err and "broken_00.jpg: not a readable" in err


def test_csv_reader_rejects_wrong_header_with_a_fix(tmp_path):
    (tmp_path / "landmarks.csv").write_text("name,a,b\n")
    with pytest.raises(ValueError, match="header must be"):
        load_dataset(tmp_path)


def test_missing_folder_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="--data"):
        load_dataset(tmp_path / "nope")


def test_pts_reader_is_zero_based_and_finds_images(tmp_path):
    pts = np.random.default_rng(0).uniform(1, 100, (68, 2))
    body = "\n".join(f"{x:.3f} {y:.3f}" for x, y in pts)
    (tmp_path / "face1.pts").write_text(f"version: 1\nn_points: 68\n{{\n{body}\n}}\n")
    cv2.imwrite(str(tmp_path / "face1.png"), np.zeros((10, 10, 3), np.uint8))
    (tmp_path / "face2.pts").write_text("version: 1\nn_points: 3\n{\n1 2\n3 4\n5 6\n}\n")
    (tmp_path / "face3.pts").write_text(f"version: 1\nn_points: 68\n{{\n{body}\n}}\n")  # no image
    np.testing.assert_allclose(read_pts_file(tmp_path / "face1.pts"), pts - 1, atol=1e-3)
    samples, report = load_dataset(tmp_path, quiet=True)
    assert [s.name for s in samples] == ["face1.png"]
    assert len(report.problems) == 2


def test_real_data_reads_cleanly(ytf68, w300):
    for folder, n in ((ytf68, 3452), (w300, 1675)):
        samples, report = load_dataset(folder, quiet=True)
        assert len(samples) + len(report.problems) == n
        assert len(samples) >= n - 5


def test_a_one_based_pts_lands_on_the_same_pixels_through_the_reader_and_the_swap_donor(tmp_path):
    from edge.effects.swap import load_donor

    rng = np.random.default_rng(1)
    pixels = np.stack([rng.integers(0, 160, 68), rng.integers(0, 120, 68)], 1)
    img = np.zeros((120, 160, 3), np.uint8)
    img[pixels[:, 1], pixels[:, 0]] = 255  # one lit pixel per point (0-based pixel coordinates)
    cv2.imwrite(str(tmp_path / "donor.png"), img)
    body = "\n".join(f"{x + 1} {y + 1}" for x, y in pixels)  # iBUG / 300-W .pts are 1-based
    (tmp_path / "donor.pts").write_text(f"version: 1\nn_points: 68\n{{\n{body}\n}}\n")
    image, donor = load_donor(tmp_path / "donor.png")
    read = read_pts_file(tmp_path / "donor.pts")
    (sample,), _ = load_dataset(tmp_path, quiet=True)
    for pts in (donor, read, sample.points):
        np.testing.assert_array_equal(pts, pixels)
        xy = np.round(pts).astype(int)
        assert (image[xy[:, 1], xy[:, 0]] == 255).all()
    # a broken sidecar is one clear error, not a donor shifted or garbled
    (tmp_path / "donor.pts").write_text("version: 1\nn_points: 3\n{\n1 2\n3 4\n5 6\n}\n")
    with pytest.raises(ValueError, match="donor.pts is not a 68-point iBUG .pts file"):
        load_donor(tmp_path / "donor.png")
