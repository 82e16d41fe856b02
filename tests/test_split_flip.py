import numpy as np

from edge.data import flip_points, flip_sample, identity_of, make_split
from edge.landmarks68 import FLIP_PERMUTATION, OUTER_EYE_LEFT, OUTER_EYE_RIGHT


def test_identity_rules():
    assert identity_of("Abdel_Aziz_Al-Hakim_07.jpg") == "Abdel_Aziz_Al-Hakim"
    assert identity_of("helen_100040721_2.jpg") == "helen_100040721"
    assert identity_of("lfpw_image_0001.jpg") == "lfpw_image_0001"


def test_split_is_identity_disjoint_and_reproducible():
    names = [f"Person{p}_{k:02d}.jpg" for p in range(100) for k in range(8)]
    a = make_split("x", names, 0.2, seed=3)
    b = make_split("x", list(reversed(names)), 0.2, seed=3)
    assert a == b
    train_ids = {identity_of(n) for n in a.train}
    val_ids = {identity_of(n) for n in a.val}
    assert not train_ids & val_ids
    assert 10 <= len(val_ids) <= 30
    assert len(a.train) + len(a.val) == len(names)


def test_flip_permutation_is_an_involution_and_swaps_eyes():
    assert np.array_equal(FLIP_PERMUTATION[FLIP_PERMUTATION], np.arange(68))
    assert FLIP_PERMUTATION[OUTER_EYE_LEFT] == OUTER_EYE_RIGHT
    assert FLIP_PERMUTATION[8] == 8 and FLIP_PERMUTATION[30] == 30 and FLIP_PERMUTATION[0] == 16


def test_flip_sample_keeps_points_on_their_pixels():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)
    pts = rng.integers(0, 40, (68, 2)).astype(np.float32)
    fimg, fpts = flip_sample(img, pts)
    for i in range(68):
        x, y = pts[FLIP_PERMUTATION[i]].astype(int)
        fx, fy = fpts[i].astype(int)
        assert np.array_equal(fimg[fy, fx], img[y, x])
    np.testing.assert_allclose(flip_points(fpts, 50), pts)


def test_flipped_real_shape_keeps_eye_order(ytf68):
    from edge.data import load_dataset

    samples, _ = load_dataset(ytf68, quiet=True)
    pts = samples[0].points
    f = flip_points(pts, 300)
    # the subject's right eye corner (36) stays on the image left after flipping
    assert f[OUTER_EYE_LEFT, 0] < f[OUTER_EYE_RIGHT, 0]
    assert pts[OUTER_EYE_LEFT, 0] < pts[OUTER_EYE_RIGHT, 0]
