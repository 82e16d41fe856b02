"""CNN training (workstation): Wing loss, model shape and budget, augmentation, fake-quant, QAT checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="CNN training needs the workstation stack: pip install 'edgetrack[convert]'")
pytestmark = pytest.mark.workstation

from media import face_points  # noqa: E402

from convert.cnn.data import Augment, FaceCache, augmented_batch, plain_batch  # noqa: E402
from convert.cnn.loss import wing_loss  # noqa: E402
from convert.cnn.model import LandmarkNet, count_params  # noqa: E402
from edge.cnn.crop import FILL  # noqa: E402
from edge.landmarks68 import FLIP_PERMUTATION  # noqa: E402


def test_wing_loss_shape():
    z = torch.zeros(3)
    assert float(wing_loss(z, z)) == 0.0
    small, big = torch.tensor([1.0]), torch.tensor([30.0])
    assert float(wing_loss(small, torch.zeros(1))) == pytest.approx(10 * np.log1p(0.5), rel=1e-6)
    # linear beyond w, continuous at w
    c = 10 - 10 * np.log1p(5)
    assert float(wing_loss(big, torch.zeros(1))) == pytest.approx(30 - c, rel=1e-6)
    assert float(wing_loss(torch.tensor([10.0 - 1e-4]), torch.zeros(1))) == pytest.approx(
        float(wing_loss(torch.tensor([10.0]), torch.zeros(1))), abs=1e-3
    )


def test_model_output_and_budget():
    model = LandmarkNet(64, 1.0).eval()
    assert count_params(model) <= 1_500_000
    with torch.no_grad():
        out = model(torch.zeros(2, 1, 64, 64))
    assert out.shape == (2, 136)
    with pytest.raises(ValueError, match="multiple of 16"):
        LandmarkNet(60)


def _dot_cache(size: int = 32) -> FaceCache:
    """Two cached 'faces': black squares with a white dot at the nose tip (point 30)."""
    c = int(round(1.6 * size))
    pts = face_points(scale=size * FILL, centre=((c - 1) / 2, (c - 1) / 2))
    images = np.zeros((2, c, c), np.uint8)
    x, y = np.round(pts[30]).astype(int)
    images[:, y - 1 : y + 2, x - 1 : x + 2] = 255
    return FaceCache(images, np.stack([pts, pts]), size)


def test_augmented_targets_follow_the_pixels():
    cache = _dot_cache()
    quiet = Augment(p_lowres=0, p_blur=0, p_noise=0, p_occlusion=0)
    rng = np.random.default_rng(1)
    for _ in range(10):
        x, y = augmented_batch(cache, np.array([0, 1]), rng, quiet)
        for k in range(2):
            tx, ty = np.round(y[k].reshape(68, 2)[30] * 31).astype(int)
            assert x[k, max(ty - 1, 0) : ty + 2, max(tx - 1, 0) : tx + 2].max() > x[k].mean() + 20


def test_flip_keeps_point_meaning():
    cache = _dot_cache()
    rng = np.random.default_rng(0)
    flipped = Augment(p_flip=1.0, p_tracking=1.0, track_shift=0, track_point_noise=0, p_lowres=0, p_blur=0, p_noise=0, p_occlusion=0)
    _, y = augmented_batch(cache, np.array([0]), rng, flipped)
    pts = y[0].reshape(68, 2)
    # after a flip the subject's right eye (36..41) is still image-left of the left eye (42..47)
    assert pts[36:42, 0].mean() < pts[42:48, 0].mean()
    assert np.all(FLIP_PERMUTATION[FLIP_PERMUTATION] == np.arange(68))
    x, t, iod = plain_batch(cache, np.array([0]))
    assert x.shape == (1, 32, 32) and t.shape == (1, 136) and iod[0] > 0.2


# ---- the committed models, through the real runtime wrapper ----


def test_fake_quant_is_identity_until_enabled_then_256_levels():
    from convert.cnn.model import ActQuant

    q = ActQuant()
    x = torch.linspace(-1.0, 3.0, 1000)
    assert torch.equal(q(x), x)
    q.enabled = True
    q.train()
    y = q(x)
    assert len(torch.unique(y)) <= 256 and (y - x).abs().max() <= (4.0 / 255) / 2 + 1e-6
    # straight-through: the rounding does not block gradients
    xg = x.clone().requires_grad_(True)
    q(xg).sum().backward()
    assert torch.allclose(xg.grad, torch.ones_like(xg))


def test_qat_checkpoints_load_with_their_learned_clips(tmp_path):
    """A quantisation-aware checkpoint exports clipped at the ranges it trained with; a plain one is untouched."""
    from convert.cnn.model import ActQuant, set_fake_quant
    from convert.cnn.train import TrainConfig, load_checkpoint, save_checkpoint

    model = LandmarkNet(32, 0.5)
    set_fake_quant(model, True)
    model.train()
    with torch.no_grad():
        model(torch.rand(4, 1, 32, 32) * 2 - 1)  # the quantisers learn their ranges
    x = torch.rand(2, 1, 32, 32) * 6 - 3  # far outside [-1, 1]: the input clip must act
    for qat in (True, False):
        path = tmp_path / f"m{qat}.pt"
        save_checkpoint(path, model, TrainConfig(input_size=32, width=0.5, qat=qat, heads=1), {})
        loaded, _ = load_checkpoint(path)
        quants = [m for m in loaded.modules() if isinstance(m, ActQuant)]
        assert all(q.clamp is qat and not q.enabled for q in quants)
        clipped = loaded.in_quant(x)
        if qat:
            assert float(clipped.min()) >= float(loaded.in_quant.lo) and float(clipped.max()) <= float(loaded.in_quant.hi)
            assert float(loaded.in_quant.hi) < 3.0
        else:
            assert torch.equal(clipped, x)
