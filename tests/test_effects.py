"""Face effects on the synthetic face and on generated images: geometry is exact, identity is
identity, bad input is one clear error."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.effects import apply_all, make_effect, make_effects, parse_args
from edge.effects.caricature import CaricatureEffect, mirror
from edge.effects.reshape import _signed_areas, fold_free, reshape_face, shared_mesh, shared_model
from edge.effects.signals import MAX_SCALE, SignalsEffect, panel_rect
from edge.effects.swap import SwapEffect, load_donor
from edge.faces import TrackedFace
from edge.synth import SyntheticFace
from edge.warp import extend_points


@pytest.fixture(scope="module")
def synth_frame() -> tuple[np.ndarray, np.ndarray]:
    frame, truths = SyntheticFace(640, 480, seed=0).render(30)
    return frame, truths[0].points


def _face(points: np.ndarray) -> list[TrackedFace]:
    return [TrackedFace(0, np.asarray(points, np.float32), 1.0)]


def _big_face(scale: float = 90.0, centre=(200.0, 170.0)) -> np.ndarray:
    return shared_model().mean * scale + np.asarray(centre)


def test_reshape_maps_source_landmarks_exactly_onto_target_landmarks():
    src = _big_face(centre=(300.0, 280.0))
    # a smooth deformation (no triangle folds) with targets on whole pixels: the output pixel
    # there must hold the source point's coordinates
    dst = np.round(src + np.c_[4 * np.sin(src[:, 1] / 15), 3 * np.cos(src[:, 0] / 20)])
    h, w = 560, 600
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    coords = np.dstack([xx, yy])
    out = reshape_face(coords.copy(), src, dst)
    got = out[dst[:, 1].astype(int), dst[:, 0].astype(int)]
    # remap interpolates in 1/32-pixel fixed point
    assert np.array_equal(fold_free(extend_points(src), extend_points(dst, ring_from=src), shared_mesh().triangles),
                          extend_points(dst, ring_from=src))  # nothing was pulled back
    np.testing.assert_allclose(got, src, atol=1 / 32 + 1e-3)
    # and outside the pinned boundary ring nothing moved
    ring = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(ring, cv2.convexHull(np.round(extend_points(src)).astype(np.int32)), 255)
    outside = cv2.dilate(ring, np.ones((3, 3), np.uint8)) == 0
    assert outside.sum() > 0.2 * h * w
    assert np.array_equal(out[outside], coords[outside])


@pytest.mark.parametrize("spec", ["caricature:1", "deform:smile=0", "deform:p4=0"])
def test_identity_factor_leaves_the_frame_unchanged(synth_frame, spec):
    frame, pts = synth_frame
    out = make_effect(spec).apply(frame.copy(), _face(pts))
    assert np.array_equal(out, frame)


def test_caricature_exaggerates_the_symmetric_deviation_and_changes_only_the_face(synth_frame):
    frame, pts = synth_frame
    two, three = CaricatureEffect(factor=2.0), CaricatureEffect(factor=3.0)
    d2, d3 = two.target(pts) - pts, three.target(pts) - pts
    np.testing.assert_allclose(d3, 2.0 * d2, atol=1e-6)  # displacement grows with (factor - 1)
    # in the face's own frame the displacement is its own mirror image: no extra head turn
    sim, _ = shared_model().fit(pts)
    lin_inv = np.linalg.inv(np.array([[sim.a, -sim.b], [sim.b, sim.a]]))
    local = d2 @ lin_inv.T
    np.testing.assert_allclose(local, mirror(local), atol=1e-9)
    assert np.abs(local).max() > 0.01
    out = two.apply(frame.copy(), _face(pts))
    changed = np.abs(out.astype(int) - frame).max(2) > 0
    assert changed.any()
    ring = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillConvexPoly(ring, cv2.convexHull(np.round(extend_points(pts)).astype(np.int32)), 255)
    assert not changed[cv2.dilate(ring, np.ones((3, 3), np.uint8)) == 0].any()


def test_reshape_never_folds_the_mesh():
    src = _big_face(centre=(300.0, 280.0))
    wild = src.copy()
    wild[17:27, 1] -= 150  # brows far above the forehead ring: would fold the mesh
    tris = shared_mesh().triangles
    s_ext = extend_points(src)
    safe = fold_free(s_ext, extend_points(wild, ring_from=src), tris)
    a0, a1 = _signed_areas(s_ext, tris), _signed_areas(safe, tris)
    assert np.all(np.sign(a0) == np.sign(a1))
    assert np.abs(safe - s_ext).max() > 10  # it still moved as far as it safely could


def test_deform_presets_move_the_intended_landmarks():
    pts = _big_face()
    smile = make_effect("deform:smile").target(pts)
    assert smile[48, 1] < pts[48, 1] and smile[54, 1] < pts[54, 1]  # corners up
    assert smile[54, 0] - smile[48, 0] > pts[54, 0] - pts[48, 0]  # mouth wider
    assert np.allclose(smile[:17], pts[:17])  # jaw untouched
    chin = make_effect("deform:long_chin").target(pts)
    assert chin[8, 1] > pts[8, 1] + 5 and np.allclose(chin[17:], pts[17:])
    eyes = make_effect("deform:wide_eyes").target(pts)
    assert np.ptp(eyes[36:42, 1]) > np.ptp(pts[36:42, 1])


def test_effect_specs_parse_and_bad_input_is_one_clear_error():
    assert parse_args("a, b=2 ,c") == (["a", "c"], {"b": "2"})
    effects = make_effects(["caricature:1.5", "landmarks", "mask:glasses"])
    assert [e.name for e in effects] == ["caricature", "landmarks", "mask"]
    assert effects[0].factor == 1.5
    with pytest.raises(ValueError, match="unknown effect 'sparkle'"):
        make_effect("sparkle")
    with pytest.raises(ValueError, match="factor must be a number"):
        make_effect("caricature:big")
    with pytest.raises(ValueError, match="unknown preset 'grin'"):
        make_effect("deform:grin")
    with pytest.raises(ValueError, match="p99 does not exist"):
        make_effect("deform:p99=1")
    with pytest.raises(FileNotFoundError, match="mask 'cape' not found"):
        make_effect("mask:cape")


def test_swap_with_a_faceless_donor_is_a_clear_error(tmp_path):
    blank = tmp_path / "wall.png"
    yy, xx = np.mgrid[0:240, 0:320]
    cv2.imwrite(str(blank), np.dstack([xx % 256, yy % 256, (xx + yy) % 256]).astype(np.uint8))
    with pytest.raises(ValueError, match=r"wall.png has no face"):
        make_effect(f"swap:{blank}")
    with pytest.raises(FileNotFoundError, match="not found"):
        load_donor(tmp_path / "missing.jpg")
    with pytest.raises(ValueError, match="needs a donor image"):
        make_effect("swap")


def test_swap_puts_the_donor_face_on_the_tracked_face_only(synth_frame):
    frame, pts = synth_frame
    donor_frame, donor_truth = SyntheticFace(640, 480, seed=3).render(10)
    effect = SwapEffect(donor_frame, donor_truth[0].points, every=2)
    out = effect.apply(frame.copy(), _face(pts))  # gain map measured
    out2 = effect.apply(frame.copy(), _face(pts))  # the recoloured donor of the frame before
    hull = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(pts.astype(np.int32)), 255)
    outside = cv2.dilate(hull, np.ones((9, 9), np.uint8)) == 0
    for o in (out, out2):
        assert np.array_equal(o[outside], frame[outside])
        assert np.abs(o.astype(int) - frame)[hull > 0].mean() > 1.0
    # the cheap frame reproduces the measured one (same recoloured donor, same shape)
    assert np.abs(out2.astype(int) - out)[hull > 0].mean() < 6.0


def test_masks_sit_on_their_anchors(synth_frame):
    frame, pts = synth_frame
    blank = np.zeros_like(frame)
    across = (pts[45] - pts[36]) / np.linalg.norm(pts[45] - pts[36])  # the face's own x axis (the head is rolled)
    for name, idx in (("glasses", [36, 45]), ("moustache", [33, 51]), ("hat", [19, 24])):
        out = make_effect(f"mask:{name}").apply(blank.copy(), _face(pts))
        ys, xs = np.nonzero(out.max(2) > 0)
        assert len(xs) > 100, name
        offset = (np.c_[xs, ys] - pts[idx].mean(0)) @ across
        assert abs(np.median(offset)) < 0.1 * np.ptp(pts[:, 0]), name
    hat = make_effect("mask:hat").apply(blank.copy(), _face(pts))
    assert np.nonzero(hat.max(2))[0].max() < pts[17:27, 1].min()  # the hat is above the brows


def test_landmarks_and_signals_overlays_draw_and_chain(synth_frame):
    frame, pts = synth_frame
    effects = make_effects(["landmarks", "signals"])
    out = apply_all(effects, frame.copy(), _face(pts))
    assert out.shape == frame.shape and np.abs(out.astype(int) - frame).max() > 50


DONOR = Path(__file__).resolve().parents[1] / "docs" / "effects" / "donor.png"  # synthetic, with its .pts


@pytest.mark.parametrize("spec", ["caricature:2", "deform:smile,long_chin", f"swap:{DONOR}", "mask:hat", "landmarks", "signals"])
def test_effects_survive_faces_at_and_beyond_the_frame_edge(synth_frame, spec):
    frame, pts = synth_frame
    effect = make_effect(spec)
    h, w = frame.shape[:2]
    centre = pts.mean(0)
    for corner in ((0, 0), (w, h), (w + 200, h / 2), (-300, -300)):
        moved = pts - centre + corner
        out = effect.apply(frame.copy(), _face(moved))
        assert out.shape == frame.shape and out.dtype == frame.dtype


def _top10_displacement(effect: CaricatureEffect, pts: np.ndarray) -> float:
    """Mean displacement of the ten most-moved points (the distinctive features), in % inter-ocular."""
    d = np.linalg.norm(effect.target(pts) - pts, axis=1)
    return float(np.sort(d)[-10:].mean() / np.linalg.norm(pts[45] - pts[36]) * 100)


def test_caricature_default_visibly_changes_a_typical_face():
    # typical faces: shapes drawn from the shape model's own spread (its eigenvalues), seeded
    model = shared_model()
    rng = np.random.default_rng(0)
    faces = [model.reconstruct(rng.normal(0, 1, len(model.eigenvalues)) * np.sqrt(model.eigenvalues)) * 150 + 300
             for _ in range(60)]
    default = make_effect("caricature")
    assert default.factor == CaricatureEffect().factor
    moved = np.median([_top10_displacement(default, p) for p in faces])
    # the old default (1.8) moved them ~7.6% of the inter-ocular distance: barely visible
    assert 10.0 <= moved <= 20.0, moved
    assert np.median([_top10_displacement(CaricatureEffect(1.8), p) for p in faces]) < 0.7 * moved


def _face_of_width(width: float, frame_w: int, frame_h: int) -> np.ndarray:
    m = shared_model().mean
    p = m / np.ptp(m[:, 0]) * width
    return p - p.mean(0) + (frame_w / 2, frame_h / 2)


def _box(pts: np.ndarray) -> tuple[int, int, int, int]:
    x0, y0 = np.floor(pts.min(0)).astype(int)
    x1, y1 = np.ceil(pts.max(0)).astype(int)
    return int(x0), int(y0), int(x1), int(y1)


@pytest.mark.parametrize(
    "size,face_width", [((640, 480), 360), ((640, 480), 150), ((640, 480), 500), ((1920, 1080), 600), ((1280, 720), 700)]
)
def test_signals_panel_sits_beside_the_face_and_scales_with_the_frame(size, face_width):
    w, h = size
    pts = _face_of_width(face_width, w, h)
    frame = np.full((h, w, 3), 200, np.uint8)
    out = SignalsEffect(outlines=False).apply(frame.copy(), _face(pts))
    drawn = np.abs(out.astype(int) - frame).max(2) > 0
    x0, y0, x1, y1 = _box(pts)
    face_area = (x1 - x0) * (y1 - y0)
    assert drawn.any()
    # measured in pixels, not by the rule: beside the face (the old panel covered 10% of a 360 px face's box)
    assert drawn[max(y0, 0) : y1, max(x0, 0) : x1].sum() < 0.02 * face_area
    panel = panel_rect(frame.shape, pts)
    assert drawn[panel.y : panel.y + panel.h, panel.x : panel.x + panel.w].sum() == drawn.sum()  # all of it in the panel
    assert panel.w < 0.25 * w  # small beside the frame


def test_signals_text_grows_with_the_frame():
    small = panel_rect((480, 640, 3), _face_of_width(200, 640, 480))
    big = panel_rect((1080, 1920, 3), _face_of_width(600, 1920, 1080))
    assert big.scale > 2 * small.scale and big.scale == MAX_SCALE
    (_, text_h), _ = cv2.getTextSize("blink", cv2.FONT_HERSHEY_SIMPLEX, big.scale, 2)
    assert text_h >= 20  # readable across a room on a 1080p screen
    assert big.h < 0.25 * 1080
