import numpy as np
import pytest

from edge.evaluate.metrics import auc, failure_rate, nme_by_region, nme_interocular


def _gt() -> np.ndarray:
    gt = np.zeros((68, 2))
    gt[:, 0] = np.arange(68)
    gt[36] = [0.0, 0.0]
    gt[45] = [100.0, 0.0]  # inter-ocular distance 100
    return gt


def test_nme_by_hand():
    gt = _gt()
    pred = gt.copy()
    pred[:, 1] += 2.0  # every point 2 px off
    assert nme_interocular(pred, gt) == pytest.approx(0.02)
    pred = gt.copy()
    pred[0, 0] += 68.0  # one point 68 px off -> mean 1 px
    assert nme_interocular(pred, gt) == pytest.approx(0.01)
    regions = nme_by_region(pred, gt)
    assert regions["jaw"] == pytest.approx(68.0 / 17 / 100)
    assert regions["mouth"] == pytest.approx(0.0)


def test_nme_batched():
    gt = np.stack([_gt(), _gt() * 2])
    pred = gt + [3.0, 4.0]  # 5 px off
    np.testing.assert_allclose(nme_interocular(pred, gt), [0.05, 0.025])


def test_failure_rate_counts_missing_faces_as_failures():
    nme = np.array([0.01, 0.05, 0.09, 0.2])
    assert failure_rate(nme, 0.08) == pytest.approx(0.5)
    assert failure_rate(nme, 0.08, n_missing=4) == pytest.approx(6 / 8)
    assert failure_rate(nme, 0.10) == pytest.approx(0.25)


def test_auc_by_hand():
    # all faces perfect: the CED is 1 everywhere -> AUC 1
    assert auc(np.zeros(10), 0.08) == pytest.approx(1.0, abs=1e-3)
    # all faces at 4%: CED is 0 up to 4% then 1 -> AUC 0.5
    assert auc(np.full(10, 0.04), 0.08) == pytest.approx(0.5, abs=2e-3)
    # half missing halves it
    assert auc(np.zeros(5), 0.08, n_missing=5) == pytest.approx(0.5, abs=1e-3)
    # everything beyond the limit -> 0
    assert auc(np.full(3, 0.5), 0.08) == 0.0
