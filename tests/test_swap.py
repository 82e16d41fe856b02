"""Face swap on generated faces with exact points (two synthetic faces, different seeds, as donor
and target): only the pulled-in face region changes, nothing of the donor outside its face
region reaches the output, the colour follows the target, and an open mouth stays the target's."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.effects.swap import INSET, SwapEffect, face_outline, face_points, face_triangles, outline_indices, polygon_mask
from edge.faces import TrackedFace
from edge.landmarks68 import (
    BROWS,
    INNER_LIP_PAIRS,
    JAW,
    LEFT_EYE,
    LOWER_INNER_LIP,
    MOUTH_INNER,
    MOUTH_OUTER,
    RIGHT_EYE,
    UPPER_INNER_LIP,
    interocular,
)
from edge.synth import SyntheticFace

MAGENTA = (255, 0, 255)


@pytest.fixture(scope="module")
def target() -> tuple[np.ndarray, np.ndarray]:
    frame, truths = SyntheticFace(640, 480, seed=0).render(30)
    return frame, truths[0].points.astype(np.float64)


@pytest.fixture(scope="module")
def donor() -> tuple[np.ndarray, np.ndarray]:
    frame, truths = SyntheticFace(640, 480, seed=3).render(10)
    return frame, truths[0].points.astype(np.float64)


def _faces(points: np.ndarray) -> list[TrackedFace]:
    return [TrackedFace(0, np.asarray(points, np.float32), 1.0)]


def _swap(donor_image: np.ndarray, donor_points: np.ndarray, frame: np.ndarray, points: np.ndarray, **kw) -> np.ndarray:
    return SwapEffect(donor_image, donor_points, **kw).apply(frame.copy(), _faces(points))


def _lab_mean(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_BGR2LAB)
    return lab[mask > 0].mean(0)


def _edges(triangles: np.ndarray) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for t in triangles.tolist() for a, b in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0]))}


def test_the_mesh_never_spans_the_mouth_and_keeps_the_eyes_whole():
    tris = face_triangles()
    edges = _edges(tris)
    for ring in (MOUTH_INNER, MOUTH_OUTER, RIGHT_EYE, LEFT_EYE):
        ring = ring.tolist()
        assert all((min(a, b), max(a, b)) in edges for a, b in zip(ring, ring[1:] + ring[:1])), ring
    # a triangle joining the upper lip to the lower one lies inside the mouth (the old mesh had
    # (49, 59, 67) and (53, 55, 65): upper lip stretched over an open mouth)
    upper = set(MOUTH_OUTER[1:6].tolist()) | set(UPPER_INNER_LIP.tolist())
    lower = set(MOUTH_OUTER[7:].tolist()) | set(LOWER_INNER_LIP.tolist())
    for t in tris.tolist():
        if upper & set(t) and lower & set(t):
            assert set(t) <= set(MOUTH_INNER.tolist()), t
    # the region's outline is the pulled-in jaw, then the brows: no forehead, no ears
    loop = outline_indices().tolist()
    assert set(JAW.tolist()) <= set(loop) and set(loop) <= set(JAW.tolist()) | set(BROWS.tolist())


def test_outside_the_pulled_in_outline_nothing_changes(target, donor):
    frame, pts = target
    out = _swap(*donor, frame, pts)
    changed = np.abs(out.astype(int) - frame).max(2) > 0
    region = polygon_mask(frame.shape, face_outline(pts))
    assert changed.sum() > 0.5 * (region > 0).sum()  # the face did change
    assert not changed[cv2.dilate(region, np.ones((3, 3), np.uint8)) == 0].any()
    # the jaw line itself, where collar and background start, is untouched: the changed region
    # keeps INSET inter-ocular distances (less a pixel) away from every jaw point
    dist = cv2.distanceTransform((~changed).astype(np.uint8), cv2.DIST_L2, 5)
    jaw = np.round(pts[JAW]).astype(int)
    assert dist[jaw[:, 1], jaw[:, 0]].min() >= INSET * interocular(pts) - 1.5


def test_no_donor_pixel_outside_its_face_region_reaches_the_output(target, donor):
    frame, pts = target
    image, dpts = donor
    region = polygon_mask(image.shape, face_outline(dpts))
    painted = {}
    for name, colour in (("magenta", MAGENTA), ("green", (0, 255, 0))):
        p = image.copy()
        p[region == 0] = colour  # hair, ears, neck, collar, background: all one loud colour
        painted[name] = _swap(p, dpts, frame, pts)
    plain = _swap(image, dpts, frame, pts)
    # bit for bit the same output whatever lies outside the donor's face region
    assert np.array_equal(painted["magenta"], painted["green"])
    assert np.array_equal(painted["magenta"], plain)
    out = painted["magenta"].astype(int)
    near_magenta = (np.abs(out - MAGENTA).max(2) < 60) & ~(np.abs(frame.astype(int) - MAGENTA).max(2) < 60)
    assert not near_magenta.any()


def test_the_face_takes_the_target_colour_and_light(target, donor):
    frame, pts = target
    image, dpts = donor
    blue = np.clip(image.astype(np.float32) * (1.6, 0.8, 0.55), 0, 255).astype(np.uint8)  # a cold, blue donor
    # light from the image left on the target: its left cheek over twice as bright as its right
    half = np.ptp(pts[:, 0]) / 2
    ramp = (1.0 + 0.4 * np.clip((pts[:, 0].mean() - np.arange(frame.shape[1])) / half, -1, 1)).astype(np.float32)[None, :, None]
    lit = np.clip(frame.astype(np.float32) * ramp, 0, 255).astype(np.uint8)
    out = _swap(blue, dpts, lit, pts)
    fp = face_points(pts)
    skin = polygon_mask(frame.shape, face_outline(pts))
    for group in (RIGHT_EYE, LEFT_EYE, MOUTH_OUTER, BROWS):
        skin[cv2.dilate(polygon_mask(frame.shape, cv2.convexHull(fp[group].astype(np.float32)).reshape(-1, 2)),
                        np.ones((9, 9), np.uint8)) > 0] = 0
    donor_skin = polygon_mask(blue.shape, face_outline(dpts))
    to_target = np.linalg.norm(_lab_mean(out, skin) - _lab_mean(lit, skin))
    donor_off = np.linalg.norm(_lab_mean(blue, donor_skin) - _lab_mean(lit, skin))
    assert donor_off > 20  # the donor really is far off
    assert to_target < 0.2 * donor_off and to_target < 5.0
    # and the light: what the light adds to the left half over the right on the target, it adds on the swapped face
    mid = int(pts[:, 0].mean())
    left, right = skin.copy(), skin.copy()
    left[:, mid:] = 0
    right[:, :mid] = 0

    def tilt(image: np.ndarray) -> float:
        return float(_lab_mean(image, left)[0] - _lab_mean(image, right)[0])

    want = tilt(lit) - tilt(frame)
    got = tilt(out) - tilt(_swap(blue, dpts, frame, pts))
    assert want > 8 and got > 0.6 * want


def test_an_open_mouth_shows_the_target_own_mouth(target, donor):
    frame, pts = target
    iod = interocular(pts)
    opened = pts.copy()  # the mouth open: lower lip and chin down, teeth showing
    opened[np.concatenate([MOUTH_OUTER[7:], LOWER_INNER_LIP, JAW[6:11]]), 1] += 0.2 * iod
    assert np.linalg.norm(opened[INNER_LIP_PAIRS[:, 0]] - opened[INNER_LIP_PAIRS[:, 1]], axis=1).mean() > 0.15 * iod
    inside = polygon_mask(frame.shape, opened[MOUTH_INNER])
    teeth = frame.copy()
    teeth[inside > 0] = (255, 255, 0)  # the target's open mouth, one loud colour
    out = _swap(*donor, teeth, opened)
    core = cv2.erode(inside, np.ones((5, 5), np.uint8)) > 0
    assert core.sum() > 50
    kept = np.abs(out[core].astype(int) - (255, 255, 0)).max(1) < 30
    assert kept.mean() > 0.9
    # while the lips themselves are the donor's (changed)
    lips = (polygon_mask(frame.shape, opened[MOUTH_OUTER]) > 0) & (cv2.dilate(inside, np.ones((5, 5), np.uint8)) == 0)
    assert (np.abs(out.astype(int) - teeth).max(2)[lips] > 0).mean() > 0.8


def test_refresh_interval_follows_the_measured_cost(donor):
    image, dpts = donor
    effect = SwapEffect(image, dpts, budget_ms=15.0)
    assert effect.refresh_interval() == 1  # nothing measured yet: the gain map every frame
    effect.match_ms, effect.cheap_ms = 10.0, 3.0
    assert effect.refresh_interval() == 1
    effect.match_ms = 60.0
    assert effect.refresh_interval() == 5  # 60 ms amortised over the 12 ms left per frame
    effect.every = 3
    assert effect.refresh_interval() == 3


def test_the_first_measure_does_not_set_the_interval(target, donor):
    frame, pts = target
    effect = SwapEffect(*donor)
    effect.apply(frame.copy(), _faces(pts))  # the first call loads compiled kernels: not a measure
    assert effect.match_ms is None and effect.refresh_interval() == 1
    effect.apply(frame.copy(), _faces(pts))
    assert effect.match_ms is not None


def test_a_bearded_donor_keeps_a_dark_beard(target, donor):
    frame, pts = target
    image, dpts = donor
    bearded = image.copy()
    iod = interocular(dpts)
    beard = np.zeros(image.shape[:2], np.uint8)  # a dark patch over the chin, below the mouth
    centre = 0.6 * dpts[MOUTH_OUTER[7:]].mean(0) + 0.4 * dpts[JAW[8]]
    cv2.ellipse(beard, tuple(np.round(centre).astype(int)), (int(0.3 * iod), int(0.1 * iod)), 0, 0, 360, 255, -1)
    bearded[beard > 0] = (30, 35, 45)
    out = _swap(bearded, dpts, frame, pts)
    plain = _swap(image, dpts, frame, pts)
    # where the beard lands on the target: darker than the same place without it, by about the donor's ratio
    landed = (np.abs(out.astype(int) - plain).max(2) > 20) & (polygon_mask(frame.shape, face_outline(pts)) > 0)
    landed = cv2.erode(landed.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # not its soft edge
    assert landed.sum() > 30
    ratio = out[landed].astype(float).mean() / plain[landed].astype(float).mean()
    # the donor's beard is 0.28 of its skin's brightness; averaged into the skin tone, the gain map
    # would lift it to 0.86 (a grey-gold beard), left out of it the beard stays dark
    assert image[beard > 0].astype(float).mean() > 3 * bearded[beard > 0].astype(float).mean()
    assert ratio < 0.6
