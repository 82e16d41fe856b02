"""CLM: the fitting algorithm on synthetic responses, the trainer on planted patterns, the landmarker on bad input."""

from __future__ import annotations

import numpy as np
import pytest

from convert.patches.data import WindowSet
from convert.patches.train import logistic_regression, patch_samples, train_patch_experts
from edge.clm.preprocessing import normalise_windows, sample_windows, to_grey
from edge.clm.rlms import rlms_iterations, shape_points
from edge.geometry import Box
from edge.landmarks import make_landmarker
from edge.shape_model import ShapeModel


@pytest.fixture(scope="module")
def clm():
    return make_landmarker("clm")


def _peaked_responses(targets: np.ndarray, centres: np.ndarray, size: int, sigma: float = 1.0) -> np.ndarray:
    half = (size - 1) / 2
    g = np.arange(size) - half
    dx = g[None, None, :] - (targets - centres)[:, 0, None, None]
    dy = g[None, :, None] - (targets - centres)[:, 1, None, None]
    return np.exp(-(dx**2 + dy**2) / (2 * sigma**2)).astype(np.float32)


def test_rlms_converges_to_peaks_of_a_plausible_shape():
    """Responses peaked at a shape the model can express: the fit must land on it (sub-pixel)."""
    sm = ShapeModel.load()
    rng = np.random.default_rng(3)
    true_q = np.concatenate([[17.0, 1.5, 2.0, -1.5], rng.normal(size=sm.n_params) * np.sqrt(sm.eigenvalues) * 0.7])
    target = shape_points(true_q, sm.mean, sm.components)
    q0 = np.concatenate([[18.0, 0.0, 0.0, 0.0], np.zeros(sm.n_params)])
    for rho in (8.0, 4.0, 2.0, 1.0):
        centres = shape_points(q0, sm.mean, sm.components)
        resp = _peaked_responses(target, centres, 11)
        q0, _ = rlms_iterations(resp, centres, q0, sm.mean, sm.components, sm.eigenvalues, rho, 0.01, 20, 1e-3, 3.0)
    err = np.abs(shape_points(q0, sm.mean, sm.components) - target).max()
    assert err < 0.5, err


def test_prior_keeps_the_shape_plausible_against_an_outlier():
    """One landmark's peak far off: the regularised fit moves the rest little and keeps parameters within 3 sigma."""
    sm = ShapeModel.load()
    q = np.concatenate([[18.0, 0.0, 0.0, 0.0], np.zeros(sm.n_params)])
    centres = shape_points(q, sm.mean, sm.components)
    target = centres.copy()
    target[30] += [4.5, 4.5]  # nose tip pulled to the window corner
    resp = _peaked_responses(target, centres, 11)
    q1, _ = rlms_iterations(resp, centres, q, sm.mean, sm.components, sm.eigenvalues, 2.0, 2.0, 20, 1e-3, 3.0)
    moved = np.linalg.norm(shape_points(q1, sm.mean, sm.components) - centres, axis=1)
    assert np.median(moved) < 1.0
    assert np.all(np.abs(q1[4:]) <= 3 * np.sqrt(sm.eigenvalues) + 1e-9)


def test_patch_expert_learns_a_planted_pattern():
    """Windows of noise with a cross planted at the truth: the trained expert's argmax finds it."""
    rng = np.random.default_rng(0)
    n, w, p = 300, 21, 11
    pattern = np.zeros((5, 5))
    pattern[2, :] = pattern[:, 2] = 120
    wins = rng.normal(100, 20, size=(n, 2, w, w))
    offs = rng.integers(-4, 5, size=(n, 2, 2))
    for i in range(n):
        for k in range(2):
            cx, cy = 10 - offs[i, k, 0], 10 - offs[i, k, 1]
            wins[i, k, cy - 2 : cy + 3, cx - 2 : cx + 3] += pattern
    data = WindowSet(np.clip(wins, 0, 255).astype(np.uint8), offs.astype(np.int8))
    filters, bias = train_patch_experts(data, "raw", p, progress=False)
    feats = normalise_windows(data.windows[:50, 0], "raw")
    x, y = patch_samples(feats, data.offsets[:50, 0], p, 8, 2, rng)
    scores = x @ filters[0].ravel() + bias[0]
    assert scores[y > 0].mean() > scores[y == 0].mean() + 2


def test_logistic_regression_separates_separable_data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 5)).astype(np.float32)
    y = (x[:, 0] - 0.5 * x[:, 2] > 0).astype(np.int8)
    w, b = logistic_regression(x, y, np.ones(400), 1e-4)
    assert (((x @ w + b) > 0) == (y > 0)).mean() > 0.97


def test_sample_windows_matches_image_at_integer_positions():
    img = np.arange(40 * 50, dtype=np.float32).reshape(40, 50)
    win = sample_windows(img, 1.0, 0.0, 0.0, 0.0, np.array([[20.0, 15.0]]), 5)
    np.testing.assert_allclose(win[0], img[13:18, 18:23], atol=1e-3)


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((240, 320, 3), np.uint8),
        np.full((240, 320), 128, np.uint8),
        np.random.default_rng(0).integers(0, 256, size=(240, 320, 4), dtype=np.uint8),
    ],
    ids=["black-bgr", "flat-grey", "noise-bgra"],
)
def test_no_face_gives_finite_points_and_low_score(clm, frame):
    r = clm.fit(frame, Box(100, 60, 90, 100))
    assert r.points.shape == (68, 2) and np.all(np.isfinite(r.points))
    assert r.score < 0.5


def test_box_outside_frame_is_handled(clm):
    frame = np.random.default_rng(1).integers(0, 256, size=(120, 160, 3), dtype=np.uint8)
    r = clm.fit(frame, Box(-500, 400, 80, 90))
    assert np.all(np.isfinite(r.points)) and r.score < 0.5


def test_bad_input_is_a_clear_error(clm):
    with pytest.raises(ValueError, match="not an image"):
        clm.fit(np.zeros((4, 4, 4, 4), np.uint8), Box(0, 0, 2, 2))
    with pytest.raises(ValueError, match="box"):
        clm.fit(np.zeros((100, 100, 3), np.uint8), Box(10, 10, 0, 0))
    with pytest.raises(ValueError, match="finite"):
        clm.track(np.zeros((100, 100, 3), np.uint8), np.full((68, 2), np.nan))
    with pytest.raises(ValueError, match="backend"):
        make_landmarker("clm", backend="gpu-magic")


def test_to_grey_accepts_grey_bgr_bgra():
    bgr = np.random.default_rng(2).integers(0, 256, size=(10, 12, 3), dtype=np.uint8)
    bgra = np.dstack([bgr, np.full((10, 12), 255, np.uint8)])
    np.testing.assert_array_equal(to_grey(bgr), to_grey(bgra))
    assert to_grey(bgr[..., 0]).shape == (10, 12)


@pytest.fixture(scope="module")
def synth_faces():
    """Synthetic frames with exact landmarks (no data folder needed)."""
    from edge.synth.render import SyntheticFace

    synth = SyntheticFace(320, 240, seed=1)
    out = []
    for i in range(0, 240, 30):
        frame, truths = synth.render(i)
        out += [(frame, t.points.astype(np.float64)) for t in truths]
    assert out
    return out


def test_tflite_agrees_with_float_on_synthetic_faces(synth_faces):
    """Bare-checkout twin of the data test: int8 TFLite argmax within 1 px of the float path on >= 95% of windows."""
    from convert.patches.data import face_windows
    from edge.clm.model import PatchExperts, tflite_path
    from edge.clm.response import FloatResponses, TFLiteResponses

    experts = PatchExperts.load()
    rng = np.random.default_rng(0)
    r = experts.response_size
    for lv, level in enumerate(experts.levels):
        ref, lite = FloatResponses(level.filters, level.bias), TFLiteResponses(tflite_path(lv, "int8"))
        hits = []
        for frame, pts in synth_faces:
            offs = rng.integers(-4, 5, size=(68, 2))
            wins = face_windows(to_grey(frame), pts, experts.shape, level.ref_scale, experts.window, offs)
            x = normalise_windows(wins, experts.preprocessing)
            a, b = ref(x).reshape(68, -1).argmax(1), lite(x).reshape(68, -1).argmax(1)
            hits.append(np.maximum(np.abs(a // r - b // r), np.abs(a % r - b % r)) <= 1)
        assert np.mean(hits) >= 0.95, f"level {lv}: {100 * np.mean(hits):.1f}%"


def test_fit_on_synthetic_faces_beats_the_mean_shape(synth_faces, clm):
    from edge.evaluate.metrics import nme_interocular

    mean = make_landmarker("mean")
    pred = np.stack([clm.fit(f, Box.around(p)).points for f, p in synth_faces]).astype(np.float64)
    base = np.stack([mean.fit(f, Box.around(p)).points for f, p in synth_faces]).astype(np.float64)
    gt = np.stack([p for _, p in synth_faces])
    assert nme_interocular(pred, gt).mean() < 0.6 * nme_interocular(base, gt).mean()
    assert all(clm.fit(f, Box.around(p)).score > 0.5 for f, p in synth_faces[:3])
