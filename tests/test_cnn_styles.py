"""Annotation-style heads and the video registration loss of the CNN training."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from media import textured

from edge.cnn.styles import STYLES, head_layout, style_index, style_of_folder


def test_styles_by_folder_and_head_index():
    assert style_of_folder("../shared/data/300w-train") == "300w"
    assert style_of_folder(Path("/data/ytf68")) == "ytf68"
    assert style_of_folder("my_faces") is None
    assert [style_index(s, 2) for s in STYLES] == [0, 1]
    assert style_index("ytf68", 1) == 0  # a one-head model answers every style from its one head
    with pytest.raises(ValueError, match="choose one of"):
        style_index("helen", 2)
    assert head_layout(1) == (1, False) and head_layout(2) == (2, False) and head_layout(4) == (2, True)
    with pytest.raises(ValueError, match="re-export"):
        head_layout(3)


def test_eval_auto_style_follows_the_folder(capsys):
    from edge.commands.eval import pick_style

    assert pick_style("../shared/data/ytf68", "auto", ["cnn"]) == "ytf68"
    assert "auto -> ytf68" in capsys.readouterr().err
    assert pick_style("elsewhere", "auto", ["cnn", "dlib"]) == "300w"
    assert pick_style("../shared/data/ytf68", "300w", ["cnn"]) == "300w"


@pytest.mark.workstation
def test_pair_flow_recovers_a_known_shift_and_trusts_it():
    pytest.importorskip("torch", reason="the registration loss trains with torch: pip install 'edgetrack[convert]'")
    from convert.cnn.registration import FLOW_SCALE, pair_from_frames
    from edge.cnn.crop import CropSpec

    a = textured(0, 160, 2.0)
    b = np.roll(a, (2, 3), axis=(0, 1))  # content moves 3 px right, 2 px down in the frame
    spec = CropSpec(80.0, 80.0, 96.0, 0.0)  # 96 frame px -> 48 crop px: the shift halves
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    crops, flows, trust = pair_from_frames(a, b, spec, 48, dis)
    assert crops.shape == (2, 48, 48) and flows.shape == (2, 48 // FLOW_SCALE, 48 // FLOW_SCALE, 2)
    inner = (slice(5, -5), slice(5, -5))
    fwd = flows[0].astype(np.float32)[inner]
    assert np.allclose(np.median(fwd.reshape(-1, 2), 0), [1.5, 1.0], atol=0.2)
    assert np.allclose(np.median(flows[1].astype(np.float32)[inner].reshape(-1, 2), 0), [-1.5, -1.0], atol=0.2)
    assert trust[0][inner].mean() > 0.9


@pytest.mark.workstation
def test_registration_loss_is_zero_for_points_that_follow_the_flow_and_grows_otherwise():
    torch = pytest.importorskip("torch", reason="the registration loss trains with torch: pip install 'edgetrack[convert]'")
    from convert.cnn.train import _sample_field

    size = 32
    field = torch.zeros(1, 2, 16, 16)
    field[:, 0] = 2.0  # everything moves 2 crop px right
    pts = torch.tensor([[[5.0, 7.0], [20.0, 11.5]]])
    assert torch.allclose(_sample_field(field, pts, size), torch.tensor([[[2.0, 0.0], [2.0, 0.0]]]))
    ramp = torch.arange(16, dtype=torch.float32).repeat(16, 1)  # map column index
    sampled = _sample_field(ramp[None, None], torch.tensor([[[2 * 3 + 0.5, 0.0]]]), size)
    assert torch.allclose(sampled, torch.tensor([[[3.0]]]), atol=1e-5)  # crop px 6.5 is the centre of map cell 3


@pytest.mark.workstation
def test_pair_batch_mirrors_the_flow_with_the_pixels():
    pytest.importorskip("torch", reason="the registration loss trains with torch: pip install 'edgetrack[convert]'")
    from convert.cnn.registration import VideoPairs, pair_batch

    crops = np.stack([np.stack([textured(1, 16, 2.0), textured(2, 16, 2.0)])])
    flows = np.zeros((1, 2, 8, 8, 2), np.float16)
    flows[0, 0, :, :4, 0] = 1.0  # the image-left half moves right
    flows[0, 1, :, :4, 0] = -1.0
    pairs = VideoPairs(crops, flows, np.ones((1, 2, 8, 8), np.uint8))
    seen = set()
    for seed in range(12):
        x, f, _ = pair_batch(pairs, 1, np.random.default_rng(seed), lambda c, r: c.astype(np.float32))
        mirrored = np.array_equal(x[0], crops[0, 0][:, ::-1]) or np.array_equal(x[0], crops[0, 1][:, ::-1])
        forward = np.array_equal(x[0], crops[0, 0]) or np.array_equal(x[0], crops[0, 0][:, ::-1])
        moving = f[0, :, 4:, 0] if mirrored else f[0, :, :4, 0]  # mirrored: the moving half is now on the right
        assert np.all(moving == (1.0 if forward else -1.0) * (-1.0 if mirrored else 1.0))
        seen.add((mirrored, forward))
    assert len(seen) == 4


@pytest.mark.workstation
@pytest.mark.slow
def test_training_reads_each_face_from_its_style_head_and_takes_video_pairs(tmp_path):
    """A two-epoch run on generated faces of two styles with registration on: each style is scored by its own head."""
    torch = pytest.importorskip("torch", reason="training needs the workstation stack: pip install 'edgetrack[convert]'")
    from convert.cnn.data import FaceCache
    from convert.cnn.registration import VideoPairs
    from convert.cnn.train import TrainConfig, head_outputs, load_checkpoint, train

    rng = np.random.default_rng(0)
    size = 32
    c = int(round(1.6 * size))
    base = rng.uniform(0.35 * c, 0.65 * c, (68, 2)).astype(np.float32)
    n = 16
    cache = FaceCache(rng.integers(0, 255, (n, c, c), dtype=np.uint8), np.stack([base] * n), size, None, np.array([0, 1] * (n // 2)))
    pairs = VideoPairs(
        rng.integers(0, 255, (4, 2, size, size), dtype=np.uint8),
        np.zeros((4, 2, size // 2, size // 2, 2), np.float16),
        np.ones((4, 2, size // 2, size // 2), np.uint8),
    )
    cfg = TrainConfig(input_size=size, width=0.25, epochs=2, batch=8, heads=2, registration_weight=1.0, pair_batch=2)
    out = tmp_path / "m.pt"
    result = train(cache, cache, cfg, out, pairs=pairs)
    assert np.isfinite(result["best_val_nme_pct"])
    model, ckpt = load_checkpoint(out)
    assert model.heads == 2 and ckpt["config"]["registration_weight"] == 1.0
    log = (tmp_path / "m.log.json").read_text()
    assert '"300w"' in log and '"ytf68"' in log  # validation per style
    pred = torch.arange(2 * 272, dtype=torch.float32).reshape(2, 272)
    picked = head_outputs(pred, np.array([1, 0]), 2)
    assert torch.equal(picked[0], pred[0, 136:]) and torch.equal(picked[1], pred[1, :136])
    with_mirrors = torch.arange(2 * 544, dtype=torch.float32).reshape(2, 544)  # 300w, ytf68, 300w mirrored, ytf68 mirrored
    picked = head_outputs(with_mirrors, np.array([1, 0]), 2, mirrored=np.array([True, False]))
    assert torch.equal(picked[0], with_mirrors[0, 408:]) and torch.equal(picked[1], with_mirrors[1, :136])
