import numpy as np
import pytest

from convert.shape.train import procrustes_align, train_shape_model
from edge.geometry import Similarity, fit_similarity
from edge.shape_model import ShapeModel


def _synthetic_shapes(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Shapes from a known 3-mode model under random similarities."""
    rng = np.random.default_rng(seed)
    base = np.stack([np.cos(np.linspace(0, 6, 68)) * 40, np.sin(np.linspace(0, 4, 68)) * 30], 1)
    modes = rng.normal(size=(3, 68, 2))
    shapes, sims = [], []
    for _ in range(n):
        s = base + np.tensordot(rng.normal(size=3) * [3, 2, 1], modes, 1)
        sim = Similarity(*rng.uniform([0.5, -0.4, -50, -50], [2.0, 0.4, 50, 50]))
        shapes.append(sim.apply(s))
        sims.append(sim)
    return np.stack(shapes), base


def test_similarity_round_trip():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(68, 2)) * 20
    sim = Similarity(1.3, 0.4, 12.0, -7.0)
    est = fit_similarity(pts, sim.apply(pts))
    np.testing.assert_allclose([est.a, est.b, est.tx, est.ty], [1.3, 0.4, 12.0, -7.0], atol=1e-9)
    np.testing.assert_allclose(sim.inverse().apply(sim.apply(pts)), pts, atol=1e-9)
    np.testing.assert_allclose(sim.compose(sim.inverse()).apply(pts), pts, atol=1e-9)


def test_procrustes_removes_similarity():
    shapes, _ = _synthetic_shapes()
    aligned, mean = procrustes_align(shapes)
    assert abs(mean.mean(0)).max() < 1e-9
    assert np.sqrt((mean**2).sum(1).mean()) == pytest.approx(1.0)
    # after alignment the spread is only the non-rigid part: far below the raw spread
    assert aligned.std(0).mean() < 0.2 * (shapes / np.abs(shapes).max()).std(0).mean() + 0.1


def test_pca_finds_the_true_modes_and_round_trips():
    shapes, _ = _synthetic_shapes()
    model = train_shape_model(shapes, variance_kept=0.999, max_params=10)
    assert model.n_params == 3  # three true modes, nothing else
    assert np.allclose(model.components @ model.components.T, np.eye(3), atol=1e-9)
    for s in shapes[:20]:
        sim, p = model.fit(s)
        np.testing.assert_allclose(model.to_image(sim, p), s, atol=2e-3 * np.abs(s).max())


def test_save_load(tmp_path):
    shapes, _ = _synthetic_shapes(50)
    m = train_shape_model(shapes)
    m.save(tmp_path / "s.npz")
    m2 = ShapeModel.load(tmp_path / "s.npz")
    np.testing.assert_array_equal(m.components, m2.components)


def test_missing_model_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"s\.npz.*make models"):
        ShapeModel.load(tmp_path / "s.npz")


def test_shipped_model_reconstructs_real_faces(ytf68):
    from edge.data import load_dataset, load_or_make_split
    from edge.evaluate.metrics import nme_interocular

    samples, _ = load_dataset(ytf68, quiet=True)
    val = load_or_make_split(ytf68, samples).select(samples, "val")[:200]
    model = ShapeModel.load()
    errs = []
    for s in val:
        sim, p = model.fit(s.points, n_sigma=3.0)
        errs.append(nme_interocular(model.to_image(sim, p), s.points))
    # held-out faces are explained by the model to within a couple of percent of the IOD
    assert np.median(errs) < 0.03
