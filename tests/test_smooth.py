"""Smoothing: the 1-euro filter halves still jitter, adds under a frame of lag on a moving face,
and behaves the same near and far (face-normalised); the Smoothing stage fuses flow first, filters
each face, forgets ended tracks and starts afresh after reset()."""

from __future__ import annotations

import cv2
import numpy as np

from edge.evaluate.tracking import jitter, lag_frames
from edge.faces import TrackedFace
from edge.smooth import FaceSmoother, OneEuro, Smoothing
from edge.smooth.face import reference_shape

FPS = 30.0


def noisy_track(scale: float, n: int, speed_iod_per_s: float, noise_iod: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A face of inter-ocular distance `scale` px moving sideways at a steady speed, with per-point noise."""
    rng = np.random.default_rng(seed)
    ref = reference_shape() * scale + [320, 240]
    t = np.arange(n) / FPS
    truth = ref[None] + (t * speed_iod_per_s * scale)[:, None, None] * np.array([1.0, 0.0])
    raw = truth + rng.normal(0, noise_iod * scale, truth.shape)
    return truth, raw


def run(smoother: FaceSmoother, raw: np.ndarray) -> np.ndarray:
    return np.stack([smoother.smooth(1, p, i / FPS) for i, p in enumerate(raw)]).astype(np.float64)


def test_one_euro_smooths_noise_and_follows_a_ramp():
    rng = np.random.default_rng(1)
    f = OneEuro(min_cutoff=1.0, beta=0.0)
    noisy = 5.0 + rng.normal(0, 1.0, (300, 1, 1))
    out = np.array([f(x, i / FPS) for i, x in enumerate(noisy)])
    assert out[50:].std() < 0.5 * noisy[50:].std()
    f = OneEuro(min_cutoff=1.0, beta=1.0)
    ramp = np.arange(300, dtype=float)[:, None, None] * 3.0  # 90 units/s
    out = np.array([f(x, i / FPS) for i, x in enumerate(ramp)])
    assert abs(out[-1, 0, 0] - ramp[-1, 0, 0]) < 3.0  # within a frame's motion


def test_still_face_jitter_is_at_least_halved():
    truth, raw = noisy_track(60.0, 240, 0.0, 0.02)
    sm = run(FaceSmoother(), raw)
    assert jitter(sm[30:], truth[30:]) < 0.5 * jitter(raw[30:], truth[30:])


def test_moving_face_gains_at_most_one_frame_of_lag():
    truth, raw = noisy_track(60.0, 120, 1.5, 0.01)  # 1.5 inter-ocular distances per second
    sm = run(FaceSmoother(), raw)
    assert lag_frames(sm[20:], truth[20:]) - lag_frames(raw[20:], truth[20:]) <= 1.0


def test_same_setting_works_near_and_far():
    """Face-normalised: a face 4x bigger with 4x bigger noise and speed is smoothed the same, relatively."""
    ratios, lags = [], []
    for scale in (30.0, 120.0):
        truth, raw = noisy_track(scale, 240, 0.0, 0.02, seed=3)
        ratios.append(jitter(run(FaceSmoother(), raw)[30:], truth[30:]) / jitter(raw[30:], truth[30:]))
        truth, raw = noisy_track(scale, 120, 1.5, 0.01, seed=4)
        lags.append(lag_frames(run(FaceSmoother(), raw)[20:], truth[20:]))
    assert abs(ratios[0] - ratios[1]) < 0.05
    assert abs(lags[0] - lags[1]) <= 0.2


def test_tracks_are_forgotten_when_they_end():
    sm = FaceSmoother()
    ref = reference_shape() * 50 + 200
    sm.smooth(1, ref, 0.0)
    sm.smooth(2, ref + 100, 0.0)
    sm.keep_only({2})
    assert set(sm.filters) == {2}
    # a new track starts from its own first points, not from a stale state
    out = sm.smooth(1, ref + 40, 1 / FPS)
    assert np.allclose(out, ref + 40, atol=1e-3)


def _faces(points: dict[int, np.ndarray]) -> list[TrackedFace]:
    return [TrackedFace(i, p.astype(np.float32), 1.0, raw_points=p.astype(np.float32)) for i, p in points.items()]


def test_smoothing_stage_filters_each_face_and_forgets_ended_tracks():
    ref = reference_shape() * 50 + 200
    stage, alone = Smoothing(flow=False), FaceSmoother()
    rng = np.random.default_rng(5)
    image = np.zeros((480, 640, 3), np.uint8)
    for i in range(5):
        raw = ref + rng.normal(0, 1.0, ref.shape)
        faces = _faces({1: raw, 2: raw + 100})
        stage.apply(image, faces, i / FPS)
        np.testing.assert_allclose(faces[0].points, alone.smooth(1, raw, i / FPS), atol=1e-4)  # the same 1-euro filter
        np.testing.assert_array_equal(faces[0].raw_points, raw.astype(np.float32))  # raw points stay the landmarker's
    stage.apply(image, _faces({2: ref + 100}), 5 / FPS)
    assert set(stage.filter.filters) == {2}


def test_flow_fusion_comes_first_and_steadies_a_still_face():
    rng = np.random.default_rng(6)
    image = cv2.GaussianBlur(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), (5, 5), 0)  # texture the flow can follow
    ref = reference_shape() * 60 + [320, 240]
    raws = [ref + rng.normal(0, 1.5, ref.shape) for _ in range(40)]
    out = {}
    for flow in (False, True):
        stage = Smoothing(flow=flow)
        pts = []
        for i, raw in enumerate(raws):
            faces = _faces({1: raw})
            stage.apply(image, faces, i / FPS)
            pts.append(faces[0].points.astype(np.float64))
        out[flow] = np.stack(pts)
    truth = np.repeat(ref[None], len(raws), 0)
    assert jitter(out[True][10:], truth[10:]) < 0.8 * jitter(out[False][10:], truth[10:])


def test_smoothing_reset_starts_afresh_at_a_scene_cut():
    rng = np.random.default_rng(7)
    image = cv2.GaussianBlur(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), (5, 5), 0)
    ref = reference_shape() * 60 + [320, 240]
    stage = Smoothing(flow=True)
    for i in range(5):
        stage.apply(image, _faces({1: ref}), i / FPS)
    moved = _faces({1: ref + 30})
    stage.apply(image, moved, 5 / FPS)
    assert np.abs(moved[0].points - (ref + 30)).max() > 1.0  # without a reset the filter holds it back
    stage.reset()
    assert stage.filter.filters == {} and stage.flow.prev == {} and stage.flow.prev_grey is None
    cut = _faces({1: ref - 30})
    stage.apply(image, cut, 6 / FPS)
    np.testing.assert_allclose(cut[0].points, ref - 30, atol=1e-3)  # the first frame of a new scene is taken as it is
