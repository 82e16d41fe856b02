"""Training on faces without a manual 68-point markup: the aflw21 head, per-point target weights, teacher gates."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="CNN training needs the workstation stack: pip install 'edgetrack[convert]'")
pytestmark = pytest.mark.workstation

from convert.cnn.data import Augment, FaceCache, augmented_batch_with_flips  # noqa: E402
from convert.cnn.extra_faces import concat  # noqa: E402
from convert.cnn.loss import masked_wing_loss, wing_loss  # noqa: E402
from convert.cnn.model import LandmarkNet  # noqa: E402
from convert.cnn.teacher import manual_disagreement  # noqa: E402
from edge.data.aflw21 import COMMON_68, COMMON_AFLW  # noqa: E402
from edge.shape_model import ShapeModel  # noqa: E402


def _cache(n: int = 6, size: int = 32) -> FaceCache:
    """Faces whose AFLW points sit exactly on their 68 points' shared places, so the two must move together."""
    rng = np.random.default_rng(0)
    c = int(round(1.6 * size))
    mean = ShapeModel.load().mean
    points = np.stack([mean * c * 0.28 + c / 2 + rng.normal(0, 1, 2) for _ in range(n)]).astype(np.float32)
    aux = np.full((n, 21, 2), np.nan, np.float32)
    aux[:, COMMON_AFLW] = points[:, COMMON_68]
    weights = np.ones((n, 68), np.float32)
    weights[:, :8] = 0  # e.g. a jaw cut by the photo's edge
    images = rng.integers(0, 255, (n, c, c), dtype=np.uint8)
    return FaceCache(images, points, size, None, np.zeros(n, np.int64), weights, aux, np.zeros(n, bool))


def test_masked_wing_loss_is_wing_loss_on_the_targets_alone():
    rng = np.random.default_rng(1)
    pred, target = (torch.from_numpy(rng.normal(0, 5, (4, 10)).astype(np.float32)) for _ in range(2))
    assert torch.isclose(masked_wing_loss(pred, target, torch.ones(4, 10)), wing_loss(pred, target))
    w = torch.ones(4, 10)
    w[:, 5:] = 0
    wild = target.clone()
    wild[:, 5:] += 1000  # what a coordinate that is not a target says must not matter
    assert torch.isclose(masked_wing_loss(pred, wild, w), wing_loss(pred[:, :5], target[:, :5]))


def test_aflw_points_follow_the_crop_and_the_mirror_like_the_68():
    cache = _cache()
    rng = np.random.default_rng(2)
    aug = Augment(p_flip=0.5, p_occlusion=0.0)
    b = augmented_batch_with_flips(cache, np.arange(6), rng, aug)
    assert b.flipped.any() and not b.flipped.all()
    y = b.y.reshape(6, 68, 2)
    aux = b.aux.reshape(6, 21, 2)
    assert np.allclose(aux[:, COMMON_AFLW], y[:, COMMON_68], atol=1e-5)  # mirrored ones too: the permutations agree
    assert np.isnan(aux[:, 7]).all()  # unmarked stays unmarked
    # the weights travel with the points: a mirrored face's zero-weight jaw is the other side's
    from edge.landmarks68 import FLIP_PERMUTATION

    for k in range(6):
        expect = cache.weights[k][FLIP_PERMUTATION] if b.flipped[k] else cache.weights[k]
        assert np.array_equal(b.weights[k], expect)


def test_the_aflw_head_trains_the_backbone_but_is_not_exported():
    model = LandmarkNet(32, 0.5, heads=2, aux_points=21)
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    out, aux = model.forward_with_aux(x)
    assert out.shape == (3, 272) and aux.shape == (3, 42)
    assert torch.equal(model(x), out)  # forward (what ONNX traces) is the 68-point heads alone
    aux.sum().backward()
    assert model.features[0][0].weight.grad.abs().sum() > 0  # its loss reaches the shared features
    with pytest.raises(ValueError, match="dense"):
        LandmarkNet(32, 0.5, head="pip", aux_points=21)


def test_concat_marks_manual_faces_and_fills_what_a_part_lacks():
    manual = FaceCache(np.zeros((2, 51, 51), np.uint8), np.zeros((2, 68, 2), np.float32), 32, None, np.array([0, 1]))
    both = concat([manual, _cache(3)])
    assert len(both) == 5 and both.manual.tolist() == [True, True, False, False, False]
    assert both.weights[:2].min() == 1 and np.isnan(both.aux[:2]).all() and both.styles.tolist()[:2] == [0, 1]


def test_manual_gate_forgives_a_constant_markup_offset_but_not_a_lost_point():
    mean = ShapeModel.load().mean * 40 + 60
    rng = np.random.default_rng(3)
    teacher = np.stack([mean + rng.normal(0, 2, 2) for _ in range(20)])
    manual = np.full((20, 21, 2), np.nan)
    manual[:, COMMON_AFLW] = teacher[:, COMMON_68] + [0.0, 1.5]  # AFLW's annotators mark every place 1.5 px lower
    assert manual_disagreement(teacher, manual).max() < 1e-9
    lost = teacher.copy()
    lost[0, COMMON_68[:6]] += 15.0  # the teacher put both brows 15 px off on one face
    d = manual_disagreement(lost, manual)
    assert d[0] > 0.1 and np.median(d[1:]) < 1e-9
    manual[1, COMMON_AFLW[:7]] = np.nan  # 6 places visible: too few to judge
    assert np.isinf(manual_disagreement(teacher, manual)[1])


@pytest.mark.slow
def test_a_run_with_the_extra_faces_learns_and_its_checkpoint_loads(tmp_path):
    from convert.cnn.train import TrainConfig, load_checkpoint, train

    cache = concat([FaceCache(_cache(4).images, _cache(4).points, 32, None, np.zeros(4, np.int64)), _cache(6)])
    cfg = TrainConfig(input_size=32, width=0.5, epochs=3, stop_after=2, batch=4, heads=2, aux_points=21, manual_repeat=2)
    result = train(cache, _cache(4), cfg, tmp_path / "m.pt", aug=Augment(p_occlusion=0.0))
    assert np.isfinite(result["best_val_nme_pct"])
    model, ckpt = load_checkpoint(tmp_path / "m.pt")
    assert model.aux_head is not None and ckpt["config"]["manual_repeat"] == 2
    log = json.loads((tmp_path / "m.log.json").read_text())
    assert [e["epoch"] for e in log["epochs"]] == [1, 2]  # two epochs of a three-epoch schedule
    # a last stage on the manually marked faces alone starts from it, leaving the aflw21 head behind
    manual_only = TrainConfig(input_size=32, width=0.5, epochs=1, batch=4, heads=2)
    train(_cache(4), _cache(4), manual_only, tmp_path / "f.pt", aug=Augment(p_occlusion=0.0), init=tmp_path / "m.pt")
    assert load_checkpoint(tmp_path / "f.pt")[0].aux_head is None
