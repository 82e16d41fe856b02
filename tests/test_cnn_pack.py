"""Training away from the data: crop packs and the training device."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="CNN training needs the workstation stack: pip install 'edgetrack[convert]'")
pytestmark = pytest.mark.workstation

from media import face_points  # noqa: E402

from convert.cnn.data import FaceCache, plain_batch  # noqa: E402
from convert.cnn.pack import load_pack, save_pack  # noqa: E402
from convert.cnn.train import TrainConfig, resolve_device, train  # noqa: E402
from edge.cnn.crop import FILL  # noqa: E402


def _faces(n: int, size: int = 32, seed: int = 0) -> FaceCache:
    """Smooth grey 'faces' (a shaded disc with dark eyes) with their 68 points, as build_cache lays them out."""
    rng = np.random.default_rng(seed)
    c = int(round(1.6 * size))
    yy, xx = np.mgrid[:c, :c]
    images, points = [], []
    for _ in range(n):
        pts = face_points(
            scale=size * FILL * rng.uniform(0.9, 1.1), centre=((c - 1) / 2 + rng.normal(0, 1), (c - 1) / 2 + rng.normal(0, 1))
        )
        centre = pts.mean(0)
        img = 60 + 150 * np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * (0.3 * c) ** 2))
        for eye in (pts[36:42].mean(0), pts[42:48].mean(0)):
            img -= 80 * np.exp(-((xx - eye[0]) ** 2 + (yy - eye[1]) ** 2) / 4.0)
        images.append(np.clip(img, 0, 255).astype(np.uint8))
        points.append(pts)
    errors = rng.normal(0, 0.05, (n, 4))
    errors[0] = np.nan  # a face the detector missed
    return FaceCache(np.stack(images), np.stack(points).astype(np.float32), size, errors, np.arange(n) % 2)


def test_a_pack_keeps_points_styles_and_box_errors_and_the_crops_within_jpeg_rounding(tmp_path):
    train_cache, val_cache = _faces(6), _faces(3, seed=1)
    path = tmp_path / "crops.npz"
    size = save_pack(path, train_cache, val_cache)
    assert size == path.stat().st_size < train_cache.images.nbytes + val_cache.images.nbytes
    got_train, got_val = load_pack(path)
    for got, want in ((got_train, train_cache), (got_val, val_cache)):
        assert got.input_size == 32 and len(got) == len(want)
        assert np.array_equal(got.points, want.points) and np.array_equal(got.styles, want.styles)
        assert np.array_equal(got.box_errors, want.box_errors, equal_nan=True)
        diff = np.abs(got.images.astype(int) - want.images.astype(int))
        assert diff.mean() < 1.5 and diff.max() <= 12
    # what training sees from the pack: the same crops and targets, up to JPEG's rounding
    x0, y0, _ = plain_batch(train_cache, np.arange(6))
    x1, y1, _ = plain_batch(got_train, np.arange(6))
    assert np.array_equal(y0, y1) and np.abs(x0 - x1).mean() < 1.5


def test_a_pack_never_replaces_a_file_and_a_wrong_file_says_what_to_do(tmp_path):
    path = tmp_path / "crops.npz"
    path.write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="already exists"):
        save_pack(path, _faces(2), _faces(2))
    assert path.read_bytes() == b"mine"
    with pytest.raises(FileNotFoundError, match="--pack-crops"):
        load_pack(tmp_path / "none.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not a crop pack"):
        load_pack(tmp_path / "other.npz")


def test_auto_device_says_what_it_picked_and_a_missing_gpu_is_an_error(capsys):
    picked = resolve_device("auto")
    said = capsys.readouterr().err
    assert f"training device: auto -> {picked}" in said
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="choose auto, cpu or cuda"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        assert picked == "cpu" and "no CUDA GPU" in said
        with pytest.raises(ValueError, match="sees no CUDA GPU"):
            resolve_device("cuda")


@pytest.mark.slow
def test_training_from_a_pack_learns_on_the_resolved_device(tmp_path):
    """A few epochs from packed crops lower the validation error; the checkpoint loads on the CPU."""
    from convert.cnn.train import load_checkpoint

    path = tmp_path / "crops.npz"
    save_pack(path, _faces(64), _faces(16, seed=1))
    train_cache, val_cache = load_pack(path)
    cfg = TrainConfig(input_size=32, width=0.5, epochs=6, batch=16, lr=3e-3, heads=2, device=resolve_device("auto"))
    out = tmp_path / "m.pt"
    result = train(train_cache, val_cache, cfg, out)
    log = __import__("json").loads(out.with_suffix(".log.json").read_text())["epochs"]
    assert result["best_val_nme_pct"] < log[0]["val_nme_pct"]
    model, ckpt = load_checkpoint(out)
    assert next(model.parameters()).device.type == "cpu" and ckpt["config"]["device"] == cfg.device


def test_options_a_pack_cannot_honour_stop_the_run_in_one_line(tmp_path, capsys):
    """--limit and --data pick faces from the data folders; with --crops they would do nothing, so they are refused."""
    from edge.cli import main

    path = tmp_path / "crops.npz"
    save_pack(path, _faces(4), _faces(2, seed=1))
    cases = {
        "--limit picks faces": ["--limit", "2"],
        "--crops replaces --data": ["--data", str(tmp_path)],
        "pass --input-size 32": ["--input-size", "64"],
    }
    for said, extra in cases.items():
        rc = main(["train", "cnn", "--crops", str(path), "--input-size", "32", "--no-detector-boxes", *extra])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and err[-1].startswith("edgetrack train:") and said in err[-1] and "Traceback" not in "\n".join(err)
