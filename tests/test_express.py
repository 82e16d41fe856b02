"""`--effect express`: faces move along the learned emotion directions through deform's warp: a smile lifts
and widens the mouth (its opposite drops it), in the target points and in the pixels a landmarker reads back;
zero weights change nothing; bad arguments are one clear error."""

from __future__ import annotations

import numpy as np
import pytest

from edge.effects import make_effect
from edge.effects.deform import DeformEffect
from edge.faces import TrackedFace
from edge.geometry import Box, fit_similarity
from edge.landmarks import make_landmarker
from edge.landmarks68 import MOUTH_CORNERS, interocular
from edge.shape_model import ShapeModel
from edge.synth import SyntheticFace


@pytest.fixture(scope="module")
def still() -> tuple[np.ndarray, np.ndarray]:
    frame, truths = SyntheticFace(640, 480, seed=0, scenario="still").render(0)
    return frame, truths[0].points.astype(np.float64)


def corners_in_face_frame(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Mouth corners in the face's own frame (the reference face's similarity undone), in inter-oculars."""
    sim = fit_similarity(ShapeModel.load().mean, reference)
    local = sim.inverse().apply(points)
    return local[MOUTH_CORNERS] / interocular(sim.inverse().apply(reference))


@pytest.mark.parametrize("weight", [1.0, -1.0])
def test_happiness_lifts_and_widens_the_mouth_and_its_opposite_drops_it(still, weight):
    _, pts = still
    effect = make_effect(f"express:happiness={weight}")
    assert isinstance(effect, DeformEffect)  # the deform warp path, not a second one
    before = corners_in_face_frame(pts, pts)
    after = corners_in_face_frame(effect.target(pts), pts)
    lift = before[:, 1] - after[:, 1]  # image y grows downwards
    widen = abs(after[1, 0] - after[0, 0]) - abs(before[1, 0] - before[0, 0])
    if weight > 0:
        assert (lift > 0.02).all() and widen > 0.02
    else:
        assert (lift < -0.02).all() and widen < 0


def test_a_landmarker_reads_the_lifted_corners_back_from_the_pixels(still):
    frame, pts = still
    landmarker = make_landmarker("cnn")
    box = Box.around(pts)
    out = make_effect("express:happiness=1").apply(frame.copy(), [TrackedFace(0, pts.astype(np.float32), 1.0)])
    plain = landmarker.fit(frame, box).points
    moved = landmarker.fit(out, box).points
    iod = interocular(pts)
    # corners higher (relative to the eyes, which did not move) by a visible amount
    eyes = lambda p: p[[36, 45], 1].mean()  # noqa: E731
    rise = (plain[MOUTH_CORNERS, 1] - eyes(plain)) - (moved[MOUTH_CORNERS, 1] - eyes(moved))
    assert (rise > 0.02 * iod).all(), rise / iod


def test_zero_weights_leave_the_frame_unchanged(still):
    frame, pts = still
    out = make_effect("express:happiness=0,surprise=0").apply(frame.copy(), [TrackedFace(0, pts.astype(np.float32), 1.0)])
    assert np.array_equal(out, frame)


def test_weights_add_up_along_the_directions(still):
    _, pts = still
    both = make_effect("express:happiness=0.5,surprise=0.5").target(pts) - pts
    one = make_effect("express:happiness=0.5").target(pts) - pts
    other = make_effect("express:surprise=0.5").target(pts) - pts
    np.testing.assert_allclose(both, one + other, atol=0.05 * np.abs(both).max())  # linear in the parameters (one fit)
    assert np.abs(both).max() > 1.0  # pixels: it does move


@pytest.mark.parametrize(
    "spec,message",
    [("express", "no expression"), ("express:joy=1", "unknown expression 'joy'"), ("express:happiness=lots", "must be a number")],
)
def test_bad_arguments_are_one_clear_error(spec, message):
    with pytest.raises(ValueError, match=message) as exc:
        make_effect(spec)
    assert "\n" not in str(exc.value)
