"""Systematic error per region (mean offset per point in the face's own frame) and the NME without it."""

import csv
import json

import cv2
import numpy as np
import pytest

from edge.cli import main
from edge.evaluate.metrics import face_frame_errors, mean_offset_by_region, mean_offsets, nme_interocular, nme_unbiased
from edge.evaluate.report import OFFSET_HEADING, format_offset_table
from edge.geometry import Box
from edge.landmarks.mean import place_in_box
from edge.landmarks68 import MOUTH, REGIONS
from edge.shape_model import ShapeModel


def _level_base() -> np.ndarray:
    """The mean shape turned so its outer eye corners (36 -> 45) are level, IOD 1, centred."""
    base = ShapeModel.load().mean.astype(np.float64)
    d = base[45] - base[36]
    a = -np.arctan2(d[1], d[0])
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    base = (base - base.mean(0)) @ rot.T / np.hypot(*d)
    assert abs(base[45, 1] - base[36, 1]) < 1e-12 and np.hypot(*(base[45] - base[36])) == pytest.approx(1.0)
    return base


def _faces(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n faces of the level base, each rolled by its own angle (+-40 deg), scaled (IOD 20..200 px) and moved:
    (gt (n, 68, 2), rotation matrices (n, 2, 2), IODs (n,))."""
    rng = np.random.default_rng(seed)
    theta = rng.uniform(-0.7, 0.7, n)
    iod = rng.uniform(20, 200, n)
    rot = np.stack([np.stack([np.cos(theta), -np.sin(theta)], -1), np.stack([np.sin(theta), np.cos(theta)], -1)], 1)
    gt = np.einsum("nij,kj->nki", rot, _level_base()) * iod[:, None, None] + rng.uniform(50, 400, (n, 1, 2))
    return gt, rot, iod


def _planted_offsets() -> np.ndarray:
    """(68, 2) face-frame offsets in IOD units: a different constant per region, plus a per-point wiggle."""
    m = np.zeros((68, 2))
    for idx, v in zip(REGIONS.values(), [(0.04, 0.01), (0.0, -0.03), (0.01, 0.0), (-0.005, 0.005), (0.0, 0.02)]):
        m[idx] = v
    m += 0.002 * np.sin(np.arange(68))[:, None] * [1.0, -1.0]
    return m


def _apply(gt: np.ndarray, rot: np.ndarray, iod: np.ndarray, m: np.ndarray) -> np.ndarray:
    """gt plus face-frame offsets `m` mapped into each face's roll and size."""
    return gt + np.einsum("nij,kj->nki", rot, m) * iod[:, None, None]


def test_a_constant_offset_in_the_face_frame_is_recovered_per_region_and_nothing_is_left():
    gt, rot, iod = _faces(40)
    m = _planted_offsets()
    pred = _apply(gt, rot, iod, m)
    np.testing.assert_allclose(face_frame_errors(pred, gt), np.broadcast_to(m, (40, 68, 2)), atol=1e-12)
    np.testing.assert_allclose(mean_offsets(pred, gt), m, atol=1e-12)
    got = mean_offset_by_region(pred, gt)
    length = np.linalg.norm(m, axis=-1)
    assert set(got) == set(REGIONS) | {"all"}
    for name, idx in REGIONS.items():
        assert got[name] == pytest.approx(length[idx].mean(), abs=1e-12)
    assert got["all"] == pytest.approx(length.mean(), abs=1e-12)
    assert got["jaw"] > 0.04 and got["eyes"] < 0.01  # the planted ranking, not a uniform number
    assert nme_interocular(pred, gt).mean() > 0.01
    np.testing.assert_allclose(nme_unbiased(pred, gt), 0.0, atol=1e-12)


def test_the_offset_follows_the_face_not_the_image():
    """The same image-space shift on faces rolled differently is not systematic in the face frame."""
    gt, rot, iod = _faces(400, seed=1)
    pred = gt + 0.05 * iod[:, None, None] * np.array([1.0, 0.0])  # 5 % IOD to image right on every face
    assert nme_interocular(pred, gt).mean() == pytest.approx(0.05)
    got = mean_offset_by_region(pred, gt)
    # rolls uniform in +-0.7 rad: the face-frame mean is 0.05 * E[cos] = 0.05 * sin(0.7) / 0.7, shorter than 0.05
    assert got["all"] == pytest.approx(0.05 * np.sin(0.7) / 0.7, rel=0.05)
    assert got["all"] < 0.048


def test_zero_mean_noise_has_a_small_offset_and_the_unbiased_nme_is_the_nme():
    gt, rot, iod = _faces(2000, seed=2)
    rng = np.random.default_rng(3)
    noise = rng.normal(0.0, 0.03, (2000, 68, 2))  # 3 % IOD per coordinate, in the face frame
    pred = _apply(gt, rot, iod, np.zeros((68, 2))) + np.einsum("nij,nkj->nki", rot, noise) * iod[:, None, None]
    got = mean_offset_by_region(pred, gt)
    # the mean of 2000 draws: |mean| ~ 0.03 * sqrt(pi / 2) / sqrt(2000) ~ 0.0008
    assert got["all"] < 0.002
    nme, unb = nme_interocular(pred, gt).mean(), nme_unbiased(pred, gt).mean()
    assert nme == pytest.approx(0.03 * np.sqrt(np.pi / 2), rel=0.02)  # mean length of a 2-D normal error
    assert unb == pytest.approx(nme, rel=0.01)


def test_offset_plus_noise_splits_into_bias_and_scatter():
    gt, rot, iod = _faces(2000, seed=4)
    m = _planted_offsets()
    rng = np.random.default_rng(5)
    noise = rng.normal(0.0, 0.02, (2000, 68, 2))
    pred = _apply(gt, rot, iod, m) + np.einsum("nij,nkj->nki", rot, noise) * iod[:, None, None]
    got = mean_offset_by_region(pred, gt)
    length = np.linalg.norm(m, axis=-1)
    assert got["jaw"] == pytest.approx(length[REGIONS["jaw"]].mean(), abs=0.001)
    assert got["brows"] == pytest.approx(length[REGIONS["brows"]].mean(), abs=0.001)
    assert nme_interocular(pred, gt).mean() > 0.03
    assert nme_unbiased(pred, gt).mean() == pytest.approx(0.02 * np.sqrt(np.pi / 2), rel=0.02)  # the noise alone


def test_bad_inputs_are_one_line_errors():
    gt, rot, iod = _faces(3)
    with pytest.raises(ValueError, match=r"\(N, 68, 2\)"):
        mean_offset_by_region(gt[:, :60], gt[:, :60])
    with pytest.raises(ValueError, match=r"\(N, 68, 2\)"):
        nme_unbiased(gt[0], gt[0])  # one face unstacked
    bad = gt.copy()
    bad[1, 45] = bad[1, 36]
    with pytest.raises(ValueError, match="face 1 has its outer eye corners"):
        mean_offset_by_region(gt, bad)
    with pytest.raises(ValueError, match="no faces"):
        mean_offsets(np.zeros((0, 68, 2)), np.zeros((0, 68, 2)))


def test_offset_table_lists_every_run_and_region():
    s = {"landmarker": "mean", "box": "gt", "offset_mean_pct": 1.234, "nme_unbiased_pct": 5.678,
         "offset_region_pct": {"jaw": 2.0, "brows": 0.5, "nose": 0.25, "eyes": 0.125, "mouth": 3.0}}  # fmt: skip
    missing = {"landmarker": "cnn", "box": "detect", "offset_mean_pct": float("nan"), "nme_unbiased_pct": float("nan"),
               "offset_region_pct": {}}  # fmt: skip
    lines = format_offset_table([s, missing]).splitlines()
    assert lines[0].split("|")[1:-1] == [" landmarker ", " box    ", " offset_mean_pct ", " nme_unbiased_pct ", " offset_jaw ",
                                         " offset_brows ", " offset_nose ", " offset_eyes ", " offset_mouth "]  # fmt: skip
    cells = [c.strip() for c in lines[2].split("|")[1:-1]]
    assert cells == ["mean", "gt", "1.23", "5.68", "2.00", "0.50", "0.25", "0.12", "3.00"]
    assert [c.strip() for c in lines[3].split("|")[1:-1]][:4] == ["cnn", "detect", "nan", "nan"]


def test_eval_prints_and_writes_the_systematic_error(tmp_path, capsys):
    """Annotations with the mouth drawn 2 px lower than the mean shape puts it: the mean landmarker (placed in the
    annotation's box, which the mouth does not touch) is off by exactly that on the mouth and nowhere else."""
    (tmp_path / "d" / "images").mkdir(parents=True)
    mean = ShapeModel.load().mean
    rows, iods = [], []
    for i in range(5):
        cv2.imwrite(str(tmp_path / "d" / "images" / f"p{i}_00.png"), np.full((140, 160, 3), 100, np.uint8))
        pts = place_in_box(mean, Box(20 + i, 15, 70 + 4 * i, 80)).astype(np.float64)
        pts[MOUTH, 1] += 2.0
        iods.append(np.hypot(*(pts[45] - pts[36])))
        rows.append([f"p{i}_00.png"] + [f"{v:.6f}" for v in pts.ravel()])
    with open(tmp_path / "d" / "landmarks.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["image"] + [f"{a}{i}" for i in range(68) for a in "xy"]] + rows)
    rc = main(["eval", "--data", str(tmp_path / "d"), "--split", "all", "--landmarker", "mean", "--box", "gt",
               "--json", str(tmp_path / "r.json")])  # fmt: skip
    assert rc == 0
    out = capsys.readouterr().out
    assert OFFSET_HEADING in out and out.index(OFFSET_HEADING) > out.index("nme_mean_pct")
    assert "offset_mouth" in out
    r = json.loads((tmp_path / "r.json").read_text())
    mouth = 100 * 2.0 * np.mean(1 / np.array(iods))
    assert r["offset_region_pct"]["mouth"] == pytest.approx(mouth, rel=1e-3)
    for name in ("jaw", "brows", "nose", "eyes"):
        assert r["offset_region_pct"][name] == pytest.approx(0.0, abs=1e-3)
    assert r["offset_mean_pct"] == pytest.approx(mouth * 20 / 68, rel=1e-3)
    assert r["nme_mean_pct"] == pytest.approx(r["offset_mean_pct"], rel=0.05)
    assert r["nme_unbiased_pct"] < 0.1 * r["nme_mean_pct"]
