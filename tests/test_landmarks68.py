"""The named point groups of edge.landmarks68 describe the iBUG markup the data uses."""

import numpy as np
import pytest

import edge.landmarks68 as lm


def test_regions_partition_the_68_points():
    allpts = np.concatenate(list(lm.REGIONS.values()))
    assert np.array_equal(np.sort(allpts), np.arange(lm.N_POINTS))
    assert np.array_equal(np.concatenate([lm.RIGHT_BROW, lm.LEFT_BROW]), lm.BROWS)
    assert np.array_equal(np.concatenate([lm.NOSE_BRIDGE, lm.NOSTRILS]), lm.NOSE)
    assert np.array_equal(np.concatenate([lm.RIGHT_EYE, lm.LEFT_EYE]), lm.EYES)
    assert np.array_equal(np.concatenate([lm.MOUTH_OUTER, lm.MOUTH_INNER]), lm.MOUTH)
    assert lm.CHIN in lm.JAW and lm.NOSE_TIP == lm.NOSE_BRIDGE[-1] and lm.NOSE_ROOT == lm.NOSE_BRIDGE[0]
    assert lm.NOSE_BASE == lm.NOSTRILS[2] and lm.UPPER_LIP_TOP in lm.MOUTH_OUTER and lm.LOWER_LIP_BOTTOM in lm.MOUTH_OUTER


def test_left_and_right_groups_mirror_each_other():
    perm = lm.FLIP_PERMUTATION
    assert sorted(perm[lm.RIGHT_EYE]) == sorted(lm.LEFT_EYE)
    assert sorted(perm[lm.RIGHT_BROW]) == sorted(lm.LEFT_BROW)
    assert perm[lm.CHIN] == lm.CHIN and perm[lm.NOSE_TIP] == lm.NOSE_TIP and perm[lm.NOSE_BASE] == lm.NOSE_BASE
    assert [perm[i] for i in lm.MOUTH_RIGHT] == list(lm.MOUTH_LEFT)
    for pair in (lm.CHEEKS, lm.MOUTH_CORNERS, lm.INNER_MOUTH_CORNERS, lm.OUTER_EYE_CORNERS):
        assert perm[pair[0]] == pair[1]
    # lids: mirrored pairs are pairs, upper lid stays upper
    pairs = {tuple(p) for p in lm.LID_PAIRS.tolist()}
    assert {(int(perm[a]), int(perm[b])) for a, b in pairs} == pairs
    assert {tuple(sorted(p)) for p in lm.INNER_LIP_PAIRS.tolist()} == {(61, 67), (62, 66), (63, 65)}


def test_groups_are_read_only():
    with pytest.raises(ValueError):
        lm.RIGHT_EYE[0] = 0
    with pytest.raises(ValueError):
        lm.REGIONS["mouth"][0] = 0


def test_interocular_one_and_many_shapes():
    rng = np.random.default_rng(0)
    many = rng.normal(0, 50, (5, 68, 2))
    many[:, 36] = [10.0, 20.0]
    many[:, 45] = [[13.0, 24.0], [10.0, 30.0], [0.0, 20.0], [10.0, 20.0], [-2.0, 25.0]]
    want = [5.0, 10.0, 10.0, 0.0, 13.0]
    np.testing.assert_array_equal(lm.interocular(many), want)
    for shape, w in zip(many, want):
        d = lm.interocular(shape)
        assert np.ndim(d) == 0 and float(d) == w
    # the same bits as the inline form it replaced, and the points' own dtype
    f32 = many.astype(np.float32)
    assert lm.interocular(f32[0]).dtype == np.float32
    assert lm.interocular(f32[1]) == np.linalg.norm(f32[1][45] - f32[1][36])


def test_eye_centres():
    pts = np.zeros((68, 2))
    pts[36:42] = [[0, 0], [1, -1], [2, -1], [3, 0], [2, 1], [1, 1]]
    pts[42:48] = pts[36:42] + [10, 2]
    right, left = lm.eye_centres(pts)
    np.testing.assert_allclose(right, [1.5, 0.0])
    np.testing.assert_allclose(left, [11.5, 2.0])
    r2, l2 = lm.eye_centres(np.stack([pts, pts + 1]))
    np.testing.assert_allclose(r2, [[1.5, 0.0], [2.5, 1.0]])
    np.testing.assert_allclose(l2, [[11.5, 2.0], [12.5, 3.0]])
