import numpy as np

from edge.shape_model import ShapeModel
from edge.warp import FaceMesh, extend_points, warp_region


def _face(scale: float = 80.0, shift=(160.0, 120.0)) -> np.ndarray:
    return ShapeModel.load().mean * scale + np.asarray(shift)


def test_triangulation_covers_the_extended_face():
    mesh = FaceMesh(_face())
    assert mesh.triangles.shape[1] == 3 and len(mesh.triangles) > 100
    assert set(np.unique(mesh.triangles)) == set(range(mesh.n_points))


def test_warp_maps_source_landmarks_onto_target_landmarks():
    rng = np.random.default_rng(0)
    src = extend_points(_face())
    # target vertices on whole pixels, so the pixel at a vertex must sample exactly its source point
    dst = np.round(extend_points(_face() + rng.normal(0, 1.5, (68, 2)), ring_from=_face()))
    mesh = FaceMesh(_face())
    # an image whose pixel values encode their own coordinates
    h, w = 240, 320
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    coords = np.dstack([xx, yy])
    res = warp_region(coords, src, dst, mesh.triangles, (w, h))
    for (sx, sy), (dx, dy) in zip(src[:68], dst[:68]):
        ix, iy = int(dx) - res.x0, int(dy) - res.y0
        assert res.mask[iy, ix] == 255
        # remap interpolates in 1/32-pixel fixed point
        np.testing.assert_allclose(res.image[iy, ix], [sx, sy], atol=1 / 32 + 1e-3)


def test_identity_warp_leaves_the_image_unchanged():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    pts = extend_points(_face())
    mesh = FaceMesh(_face())
    res = warp_region(img, pts, pts, mesh.triangles, (320, 240))
    roi = img[res.y0 : res.y0 + res.mask.shape[0], res.x0 : res.x0 + res.mask.shape[1]]
    covered = res.mask == 255
    assert covered.mean() > 0.5
    assert np.array_equal(res.image[covered], roi[covered])
