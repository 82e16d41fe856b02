"""The emotion classifier's parts that do not need a trained model: the ratio features (invariant to where,
how big and how turned a face is, and to a mirror; moving with the expression they name), the calibration
error, temperature fitting, the uncertain label, and loading the model format shipped before issue 22."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convert.emotion_fit import fit_temperature
from edge.emotion import LABELS, UNCERTAIN, EmotionClassifier, Head, face_features
from edge.emotion_features import RATIO_FEATURES, ratio_features
from edge.emotion_metrics import expected_calibration_error, scores
from edge.landmarks68 import FLIP_PERMUTATION
from edge.shape_model import ShapeModel


@pytest.fixture(scope="module")
def model() -> ShapeModel:
    return ShapeModel.load()


def face(model: ShapeModel, scale: float = 150.0, angle: float = 0.0, shift=(320.0, 240.0)) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return model.mean @ (scale * np.array([[c, -s], [s, c]])).T + np.asarray(shift)


def named(f: np.ndarray) -> dict[str, float]:
    return dict(zip(RATIO_FEATURES, f))


def test_ratio_features_ignore_size_position_roll_and_mirror(model):
    rng = np.random.default_rng(0)
    base = face(model) + rng.normal(scale=2.0, size=(68, 2))  # not symmetric
    f = ratio_features(base)
    moved = (base - 320) @ np.array([[np.cos(0.5), -np.sin(0.5)], [np.sin(0.5), np.cos(0.5)]]).T * 0.3 + 50
    np.testing.assert_allclose(ratio_features(moved), f, atol=1e-9)
    mirrored = base[FLIP_PERMUTATION] * [-1, 1]  # the same face seen in a mirror: left and right swap
    np.testing.assert_allclose(ratio_features(mirrored), f, atol=1e-9)
    # one face (plain floats) and a batch (numpy) are the same arithmetic
    faces = face(model) + rng.normal(scale=4.0, size=(20, 68, 2))
    batch = ratio_features(faces)
    assert batch.shape == (20, len(RATIO_FEATURES))
    np.testing.assert_allclose(np.array([ratio_features(one) for one in faces]), batch, atol=1e-12)


def test_ratio_features_move_with_the_expression_they_name(model):
    neutral = face(model)
    f0 = named(ratio_features(neutral))
    up = neutral.copy()
    up[17:27, 1] -= 10  # brows raised
    assert named(ratio_features(up))["brow_mid"] > f0["brow_mid"] + 0.1
    smile = neutral.copy()
    smile[[48, 54], 1] -= 8  # lip corners lifted
    g = named(ratio_features(smile))
    assert g["corner_lift"] > f0["corner_lift"] + 0.04 and g["corner_angle"] > f0["corner_angle"]
    open_mouth = neutral.copy()
    open_mouth[[56, 57, 58, 65, 66, 67], 1] += 15  # jaw dropped: lower lip down
    g = named(ratio_features(open_mouth))
    assert g["lips_open"] > f0["lips_open"] + 0.08 and g["mouth_drop"] > f0["mouth_drop"]
    wide = neutral.copy()
    wide[[37, 38, 43, 44], 1] -= 3  # upper lids raised
    assert named(ratio_features(wide))["eye_open"] > f0["eye_open"] + 0.03


def test_ece_is_zero_when_confidence_matches_accuracy_and_large_when_overconfident():
    n = 1000
    y = np.zeros(n, dtype=int)
    probs = np.tile([0.8, 0.2], (n, 1))
    y[: n // 5] = 1  # right 80% of the time at 80% confidence
    assert expected_calibration_error(probs, y) == pytest.approx(0.0, abs=1e-9)
    over = np.tile([0.99, 0.01], (n, 1))
    y[: n // 2] = 1  # right half the time at 99%
    assert expected_calibration_error(over, y) == pytest.approx(0.49, abs=1e-6)
    s = scores(y, over.argmax(1), ("a", "b"), over)
    assert s["ece"] == pytest.approx(0.49, abs=1e-3) and s["recall"] == {"a": 1.0, "b": 0.0} and s["mean_recall"] == 0.5


def test_fit_temperature_recovers_how_overconfident_logits_are():
    rng = np.random.default_rng(1)
    z = rng.normal(scale=3.0, size=(4000, 5))
    p = np.exp(z / 2.5)
    p /= p.sum(1, keepdims=True)
    y = np.array([rng.choice(5, p=row) for row in p])  # labels drawn from softmax(z / 2.5): z is 2.5x too sharp
    assert fit_temperature(z, y) == pytest.approx(2.5, rel=0.15)


def test_temperature_softens_and_a_low_top_score_is_uncertain(model):
    k, d = len(LABELS), len(RATIO_FEATURES)
    w = np.zeros((k, d))
    w[LABELS.index("happiness"), RATIO_FEATURES.index("corner_lift")] = 3.0
    sharp = Head(np.zeros(d), np.ones(d), w, np.zeros(k))
    soft = Head(np.zeros(d), np.ones(d), w, np.zeros(k), temperature=4.0)
    x = np.zeros(d)
    x[RATIO_FEATURES.index("corner_lift")] = 1.0
    assert soft.probabilities(x).max() < sharp.probabilities(x).max()
    clf = EmotionClassifier(list(LABELS), {"absolute": soft, "relative": sharp}, {}, ("ratios",), model, uncertain_below=0.4)
    a = clf.answer(x)
    assert a.top == "happiness" and a.head == "absolute" and a.scores["happiness"] < 0.4 and a.label == UNCERTAIN
    b = clf.answer(x, baseline=np.zeros(d))
    assert b.head == "relative" and b.label == "happiness" and b.scores["happiness"] >= 0.4


def test_the_model_format_before_issue_22_still_loads(model, tmp_path):
    d = model.n_params + 6
    head = Head(np.zeros(d), np.ones(d), np.zeros((len(LABELS), d)), np.arange(len(LABELS), dtype=float))
    EmotionClassifier(list(LABELS), {"absolute": head, "relative": head}, {}, ("shape", "signals"), model).save(tmp_path / "m.json")
    raw = json.loads((tmp_path / "m.json").read_text())
    raw["features"] = {"shape_params_sigmas": model.n_params, "signals": ["ear_left"]}  # the old layout: no block list
    del raw["uncertain_below"]
    for h in raw["heads"].values():
        del h["temperature"]
    (tmp_path / "m.json").write_text(json.dumps(raw))
    old = EmotionClassifier.load(tmp_path / "m.json", shape_model=model)
    assert old.blocks == ("shape", "signals") and old.uncertain_below == 0.0 and old.heads["absolute"].temperature == 1.0
    pts = face(model)
    assert old.features(pts).shape == (d,) and np.allclose(old.features(pts), face_features(pts, model, ("shape", "signals")))
    assert old.classify(pts)[0] == LABELS[-1]  # the largest bias


def test_unknown_feature_blocks_are_one_line(model):
    with pytest.raises(ValueError, match="unknown; use some of"):
        EmotionClassifier(list(LABELS), {}, {}, ("ratios", "wrinkles"), model)
