"""CLM: the fitting algorithm on synthetic responses, the trainer on planted patterns, the landmarker on bad input,
the expert types (LBP codes, MOSSE, blend) and their int8 export."""

from __future__ import annotations

import numpy as np
import pytest
from media import textured

from convert.patches.data import WindowSet
from convert.patches.train import logistic_regression, patch_samples, train_blend, train_mosse_experts, train_patch_experts
from edge.clm.mosse import Mosse
from edge.clm.preprocessing import LBP_NEIGHBOURS, lbp_codes, normalise_windows, sample_windows, to_grey
from edge.clm.response import FloatResponses
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


@pytest.mark.slow
def test_fit_on_synthetic_faces_beats_the_mean_shape(synth_faces, clm):
    from edge.evaluate.metrics import nme_interocular

    mean = make_landmarker("mean")
    pred = np.stack([clm.fit(f, Box.around(p)).points for f, p in synth_faces]).astype(np.float64)
    base = np.stack([mean.fit(f, Box.around(p)).points for f, p in synth_faces]).astype(np.float64)
    gt = np.stack([p for _, p in synth_faces])
    assert nme_interocular(pred, gt).mean() < 0.6 * nme_interocular(base, gt).mean()
    assert all(clm.fit(f, Box.around(p)).score > 0.5 for f, p in synth_faces[:3])


# --- expert types: LBP, MOSSE, blend, and their int8 export ---


def test_lbp_codes_of_a_hand_computed_patch():
    """Bit k is set when neighbour LBP_NEIGHBOURS[k] (clockwise from the top-left) is at least the centre."""
    assert LBP_NEIGHBOURS[0] == (-1, -1) and LBP_NEIGHBOURS[3] == (0, 1) and LBP_NEIGHBOURS[7] == (0, -1)
    patch = np.array([[10, 20, 30, 0], [40, 25, 10, 0], [25, 50, 5, 0], [0, 0, 0, 0]], np.float32)
    codes = lbp_codes(patch[None])[0]
    # centre 25 at (1, 1): 10 no, 20 no, 30 bit 2, 10 no, 5 no, 50 bit 5, 25 (equal) bit 6, 40 bit 7
    assert codes[1, 1] == 4 + 32 + 64 + 128
    # centre 5 at (2, 2): 25 bit 0, 10 bit 1, 0 no, 0 no, 0 no, 0 no, 0 no, 50 bit 7
    assert codes[2, 2] == 1 + 2 + 128
    # the border repeats its edge pixels: the top-left 10 sees itself up and left (bits 0, 1, 7), then 20, 25, 40
    assert codes[0, 0] == 255
    # whole grey levels: a float window 0.4 above or below its neighbours gives the uint8 window's codes
    jitter = np.random.default_rng(0).uniform(-0.4, 0.4, patch.shape).astype(np.float32)
    np.testing.assert_array_equal(lbp_codes((patch + jitter)[None]), lbp_codes(patch[None]))
    flat = lbp_codes(np.full((1, 5, 5), 77.0, np.float32))
    assert np.all(flat == 255)
    feats = normalise_windows(patch, "lbp")
    assert abs(float(feats.mean())) < 1e-5 and feats.shape == patch.shape


def test_compound_preprocessing_stacks_channels():
    wins = np.random.default_rng(1).uniform(0, 255, (68, 21, 21)).astype(np.float32)
    both = normalise_windows(wins, "raw+sobel+lbp")
    assert both.shape == (68, 3, 21, 21)
    for c, kind in enumerate(("raw", "sobel", "lbp")):
        np.testing.assert_allclose(both[:, c], normalise_windows(wins, kind), atol=1e-6)
    with pytest.raises(ValueError, match="unknown patch preprocessing"):
        normalise_windows(wins, "raw+hog")


def _texture(seed: int = 0, size: int = 80) -> np.ndarray:
    """A float picture with detail everywhere (the shared texture, 0..1)."""
    return textured(seed, size, 1.5).astype(np.float32) / 255.0


@pytest.mark.parametrize("shift", [(3, -2), (-5, 4), (0, 0)])
def test_mosse_recovers_a_known_shift(shift):
    """Trained on a patch centred on a point, MOSSE finds the point in a patch cut `shift` px away: the peak of one
    correlation within 1 px, and re-centring (a second look from there) within 0.2 px."""
    img = _texture()
    p, c = 21, 40
    m = Mosse.train(img[c - p // 2 : c + p // 2 + 1, c - p // 2 : c + p // 2 + 1], sigma=1.0, lam=0.1)
    x0, y0 = c - shift[0], c - shift[1]  # the point lies `shift` px from this patch's centre
    dx, dy, psr = m.locate(img[y0 - p // 2 : y0 + p // 2 + 1, x0 - p // 2 : x0 + p // 2 + 1])
    assert abs(dx - shift[0]) <= 1.0 and abs(dy - shift[1]) <= 1.0, (dx, dy)
    x, y, psr = m.recentre(img, x0, y0)
    assert abs(x - c) < 0.2 and abs(y - c) < 0.2, (x, y)
    assert psr > 6
    # a patch from elsewhere in the texture has no clear peak
    assert m.locate(img[5 : 5 + p, 50 : 50 + p])[2] < psr


def test_mosse_trained_on_offset_windows_and_its_kernel_peaks_at_the_point():
    """Whole windows with the point off-centre train the filter; its P x P sliding kernel peaks on the point."""
    from numpy.lib.stride_tricks import sliding_window_view

    img = _texture(2, 120)
    rng = np.random.default_rng(3)
    c, w, p = 60, 21, 11
    offs = rng.integers(-4, 5, size=(30, 2))
    wins = np.stack([img[c + oy - w // 2 : c + oy + w // 2 + 1, c + ox - w // 2 : c + ox + w // 2 + 1] for ox, oy in offs])
    m = Mosse.train(wins + rng.normal(0, 0.05, wins.shape), -offs, sigma=0.7, lam=0.01)  # the point is centre - offset
    k = m.spatial_filter(p)
    assert k.shape == (p, p) and abs(float(k.sum())) < 1e-4
    test = img[c - 3 - w // 2 : c - 3 + w // 2 + 1, c + 2 - w // 2 : c + 2 + w // 2 + 1]  # window centre (+2, -3) from the point
    r = (sliding_window_view(test, (p, p)) * k).sum((-2, -1))
    iy, ix = np.unravel_index(int(np.argmax(r)), r.shape)
    h = (r.shape[0] - 1) // 2
    assert (ix - h, iy - h) == (-2, 3)
    with pytest.raises(ValueError, match="odd size"):
        m.spatial_filter(10)


def _planted(n: int = 240, n_pts: int = 2, seed: int = 0) -> WindowSet:
    """Noise windows with a different cross-like pattern planted at each landmark's truth."""
    rng = np.random.default_rng(seed)
    w = 21
    wins = rng.normal(100, 20, size=(n, n_pts, w, w))
    offs = rng.integers(-4, 5, size=(n, n_pts, 2))
    patterns = []
    for k in range(n_pts):
        pat = np.zeros((5, 5))
        pat[2, :] = 120 if k % 2 == 0 else -80
        pat[:, 2 - k % 2] = 120
        patterns.append(pat)
    for i in range(n):
        for k in range(n_pts):
            cx, cy = 10 - offs[i, k, 0], 10 - offs[i, k, 1]
            wins[i, k, cy - 2 : cy + 3, cx - 2 : cx + 3] += patterns[k]
    return WindowSet(np.clip(wins, 0, 255).astype(np.uint8), offs.astype(np.int8))


def _argmax_hits(data: WindowSet, kind: str, respond) -> float:
    r = data.windows.shape[-1] - 10
    h = (r - 1) // 2
    hits = []
    for wins, offs in zip(data.windows, data.offsets.astype(int)):
        arg = respond(normalise_windows(wins, kind)).reshape(len(wins), -1).argmax(1)
        hits.append(np.maximum(np.abs(arg // r - (h - offs[:, 1])), np.abs(arg % r - (h - offs[:, 0]))) <= 1)
    return float(np.mean(hits))


@pytest.fixture(scope="module")
def planted_types():
    """Every expert type trained on planted windows (2 landmarks): kind -> (preprocessing, filters, bias)."""
    data = _planted()
    linear = {k: train_patch_experts(data, k, 11, progress=False) for k in ("raw", "sobel", "lbp")}
    w, b0, f, b = train_blend(data, linear)
    out = {k: (k, *fb) for k, fb in linear.items()}
    out["blend"] = ("raw+sobel+lbp", f, b)
    out["mosse"] = ("raw", *train_mosse_experts(data, "raw", 11))
    return data, linear, (w, b0), out


def test_blend_weights_shape_and_folding(planted_types):
    """A blend is per landmark 3 weights + bias over the raw, Sobel and LBP logits, folded into one 3-channel expert."""
    data, linear, (w, b0), types = planted_types
    _, f, b = types["blend"]
    assert w.shape == (2, 3) and b0.shape == (2,) and f.shape == (2, 3, 11, 11) and b.shape == (2,)
    assert np.all(np.isfinite(w)) and np.any(np.abs(w) > 0.05)
    x = normalise_windows(data.windows[0], "raw+sobel+lbp")  # (2, 3, 21, 21)
    logit = lambda p: np.log(p) - np.log1p(-p)  # noqa: E731
    folded = logit(FloatResponses(f, b)(x).astype(np.float64))
    parts = [logit(FloatResponses(*linear[k])(x[:, c]).astype(np.float64)) for c, k in enumerate(("raw", "sobel", "lbp"))]
    by_hand = sum(w[:, c, None, None] * parts[c] for c in range(3)) + b0[:, None, None]
    np.testing.assert_allclose(folded, by_hand, rtol=1e-3, atol=1e-3)  # logits of float32 probabilities


def test_every_expert_type_finds_planted_patterns(planted_types):
    data = _planted(60, seed=9)  # held out
    _, _, _, types = planted_types
    for kind, (pre, f, b) in types.items():
        assert _argmax_hits(data, pre, FloatResponses(f, b)) >= 0.9, kind


@pytest.mark.workstation
def test_every_expert_type_exports_to_int8_that_agrees_with_float(planted_types, tmp_path):
    """Each type through the one TFLite chain (depthwise conv over stacked windows, channel sums, logistic):
    the int8 argmax within 1 px of the float reference on >= 95% of held-out windows, float TFLite the same."""
    pytest.importorskip("tensorflow", reason="TFLite export needs the workstation extra: pip install '.[convert]'")
    from convert.patches.export import export_level, int8_agreement
    from edge.clm.model import ExpertLevel
    from edge.clm.response import TFLiteResponses

    data = _planted(60, seed=9)
    train, _, _, types = planted_types
    for kind, (pre, f, b) in types.items():
        level = ExpertLevel(f, b, 18.0)
        calib = normalise_windows(train.windows[:40], pre)
        i8, fl = tmp_path / f"{kind}_int8.tflite", tmp_path / f"{kind}_float.tflite"
        export_level(level, 21, calib, i8, fl)
        assert int8_agreement(level, pre, i8, data) >= 95.0, kind
        x = normalise_windows(data.windows[0], pre)
        np.testing.assert_allclose(TFLiteResponses(fl)(x), FloatResponses(f, b)(x), atol=1e-4)


def test_landmark_weights_let_the_reliable_points_decide():
    """One landmark's peak far off: weighted down to ~0 it no longer moves the others at all."""
    sm = ShapeModel.load()
    q = np.concatenate([[18.0, 0.0, 0.0, 0.0], np.zeros(sm.n_params)])
    centres = shape_points(q, sm.mean, sm.components)
    target = centres.copy()
    target[8] += [0.0, 4.5]  # the chin pulled down
    resp = _peaked_responses(target, centres, 11)
    args = (resp, centres, q, sm.mean, sm.components, sm.eigenvalues, 2.0, 2.0, 20, 1e-3, 3.0)
    plain, _ = rlms_iterations(*args)
    w = np.ones(68)
    w[8] = 1e-6
    weighted, _ = rlms_iterations(*args, weights=w)
    moved = lambda qq: np.linalg.norm(shape_points(qq, sm.mean, sm.components) - centres, axis=1)  # noqa: E731
    assert moved(plain)[8] > 0.5  # unweighted, the chin drags the shape
    assert moved(weighted).max() < 0.05
    same, _ = rlms_iterations(*args, weights=np.ones(68))
    np.testing.assert_allclose(same, plain)


@pytest.mark.slow
def test_eval_scores_each_clm_expert_type_in_one_run(tmp_path, monkeypatch):
    """`eval --landmarker clm,mean --clm-experts A,B`: one row per type, named clm:A and clm:B; a missing type is one line.

    Type B is the shipped experts under a shape prior 10^6 times stiffer (nearly the rigid mean shape), so each row
    must come from its own file: a mix-up of expert files gives two equal rows and fails."""
    import csv
    import dataclasses
    import json

    import cv2

    import edge.clm.model as clm_model
    from edge.cli import main
    from edge.clm.model import PatchExperts, tflite_path
    from edge.synth import SyntheticFace

    shipped = PatchExperts.load()
    other = "sobel" if shipped.type != "sobel" else "raw"
    types = tmp_path / "types"
    types.mkdir()
    stiff = dataclasses.replace(shipped.shape, eigenvalues=shipped.shape.eigenvalues * 1e-6)
    dataclasses.replace(shipped, expert_type=other, shape=stiff).save(types / f"clm_patches_{other}.npz")
    for lv in range(len(shipped.levels)):
        tflite_path(lv, "int8", types, f"clm_patches_{other}").write_bytes(tflite_path(lv, "int8").read_bytes())
    monkeypatch.setattr(clm_model, "TYPES_DIR", types)
    data = tmp_path / "d"
    (data / "images").mkdir(parents=True)
    rows = []
    synth = SyntheticFace(320, 240, seed=1)
    for i in range(4):  # the synthetic face talking and turning: expressions a rigid mean shape cannot follow
        frame, (truth,) = synth.render(150 + 20 * i)
        cv2.imwrite(str(data / "images" / f"p{i}_00.png"), frame)
        rows.append([f"p{i}_00.png"] + [f"{v:.4f}" for v in truth.points.ravel()])
    with open(data / "landmarks.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["image"] + [f"{a}{i}" for i in range(68) for a in "xy"]] + rows)
    out = tmp_path / "r.json"
    argv = ["eval", "--data", str(data), "--split", "all", "--landmarker", "clm,mean", "--box", "gt", "--json", str(out)]
    assert main([*argv, "--clm-experts", f"{shipped.type},{other}"]) == 0
    runs = json.loads(out.read_text())["runs"]
    names = [r["landmarker"] for r in runs]
    assert names == [f"clm:{shipped.type}", f"clm:{other}", "mean"]
    nme = {r["landmarker"]: r["nme_mean_pct"] for r in runs}
    assert nme[f"clm:{shipped.type}"] < 0.8 * nme[f"clm:{other}"], nme  # the shipped prior follows the expressions
    missing = "lbp" if "lbp" not in (shipped.type, other) else "mosse"
    assert main([*argv, "--clm-experts", missing]) == 2
    assert main(["eval", "--data", str(data), "--split", "all", "--landmarker", "mean", "--clm-experts", "raw"]) == 2
