"""Tracker: stable ids for several faces, re-detection when a face falters or leaves, the detector only
when needed. Bright squares with a tiny real square detector exercise the logic; the synthetic face
exercises it with the shipped detector and landmarker."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.detect import make_detector
from edge.geometry import Box
from edge.landmarks import make_landmarker
from edge.tracking import Tracker, pick_landmarker


class SquareDetector:
    """Finds bright squares: a real detector for a drawn world, largest first."""

    name = "squares"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, frame: np.ndarray, max_faces: int = 1) -> list[Box]:
        self.calls += 1
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        n, _, stats, _ = cv2.connectedComponentsWithStats((grey > 128).astype(np.uint8))
        boxes = [Box(float(x), float(y), float(w), float(h)) for x, y, w, h, area in stats[1:] if area > 100]
        boxes.sort(key=lambda b: -b.w * b.h)
        return boxes[:max_faces]


def scene(squares: list[tuple[float, float]], size: int = 60) -> np.ndarray:
    img = np.zeros((480, 640, 3), np.uint8)
    for x, y in squares:
        cv2.rectangle(img, (int(x), int(y)), (int(x) + size, int(y) + size), (255, 255, 255), -1)
    return img


def centre(face) -> np.ndarray:
    return np.asarray(face.points).mean(0)


def test_ids_stay_with_their_faces_and_new_faces_get_new_ids():
    det = SquareDetector()
    tr = Tracker(make_landmarker("mean"), det, max_faces=3, redetect_score=0.5, detect_every=5)
    ids_by_side: dict[str, set[int]] = {"left": set(), "right": set()}
    for i in range(30):
        faces = tr.update(scene([(100 + 2 * i, 200), (450 - 2 * i, 100)]))
        assert len(faces) == 2
        for f in faces:
            ids_by_side["left" if centre(f)[1] > 200 else "right"].add(f.id)
    assert len(ids_by_side["left"]) == 1 and len(ids_by_side["right"]) == 1
    assert ids_by_side["left"] | ids_by_side["right"] == {1, 2}
    faces = tr.update(scene([(160, 200), (390, 100), (300, 380)]))
    faces = tr.update(scene([(162, 200), (388, 100), (300, 380)])) if len(faces) < 3 else faces
    for _ in range(6):
        faces = tr.update(scene([(162, 200), (388, 100), (300, 380)]))
    assert sorted(f.id for f in faces) == [1, 2, 3]


def test_face_leaving_ends_its_track_and_gap_then_reacquire():
    tr = Tracker(make_landmarker("mean"), SquareDetector(), max_faces=1, redetect_score=0.5)
    for x in range(300, 700, 20):  # slides out to the right
        faces = tr.update(scene([(x, 200)]))
    assert faces == [] and tr.stats.tracks_ended == 1
    assert tr.update(scene([])) == []
    faces = tr.update(scene([(100, 100)]))
    assert [f.id for f in faces] == [2]


def test_detector_runs_only_while_a_face_is_missing():
    det = SquareDetector()
    # redetect_score 0: the landmarker's own tracking is trusted, as with a scored CNN/CLM
    tr = Tracker(make_landmarker("mean"), det, max_faces=1, redetect_score=0.0, detect_every=5, verify_every=0)
    for _ in range(50):
        assert len(tr.update(scene([(200, 200)]))) == 1
    assert det.calls == 1 and tr.stats.detect_calls == 1
    tr2 = Tracker(make_landmarker("mean"), SquareDetector(), max_faces=2, redetect_score=0.0, detect_every=5, verify_every=0)
    for _ in range(50):
        tr2.update(scene([(200, 200)]))
    assert tr2.stats.detect_calls == 10  # one face of two: a full search every 5 frames, not every frame
    det3 = SquareDetector()
    tr3 = Tracker(make_landmarker("mean"), det3, max_faces=1, redetect_score=0.0, verify_every=15)
    for _ in range(60):
        tr3.update(scene([(200, 200)]))
    assert 4 <= det3.calls <= 5 and tr3.stats.verify_drops == 0  # one search, then a window check every 15 frames


def test_periodic_check_ends_a_track_left_on_the_background():
    """A landmarker that keeps 'tracking' wall (score stays high) is caught by the detector's periodic check."""
    tr = Tracker(make_landmarker("mean"), SquareDetector(), max_faces=1, redetect_score=0.0, verify_every=10, verify_misses=2)
    for _ in range(5):
        assert len(tr.update(scene([(200, 200)]))) == 1
    gone_at = None
    for i in range(60):
        if not tr.update(scene([])) and gone_at is None:
            gone_at = i
    assert gone_at is not None and gone_at <= 2 * 10 and tr.stats.verify_drops == 1


def test_crossing_faces_keep_one_track_per_face():
    tr = Tracker(make_landmarker("mean"), SquareDetector(), max_faces=2, redetect_score=0.5, detect_every=3)
    counts = []
    for i in range(40):
        a, b = 100 + 10 * i, 500 - 10 * i  # cross at i = 20
        counts.append(len(tr.update(scene([(a, 200), (b, 215)]))))
    assert max(counts) <= 2 and counts[5] == 2 and counts[-1] == 2


def test_auto_landmarker_says_which():
    lm, why = pick_landmarker("auto")
    assert why.startswith("landmarker: auto -> ") and lm.name in why
    with pytest.raises(ValueError, match="unknown landmarker"):
        pick_landmarker("nonsense")


def test_tracks_the_synthetic_face():
    from edge.synth import SyntheticFace

    synth = SyntheticFace(640, 480, seed=0, scenario="default")
    lm, _ = pick_landmarker("auto")
    tr = Tracker(lm, make_detector("haar"), max_faces=1)
    found, ids = 0, set()
    n = 60
    for i in range(n):
        frame, truths = synth.render(i)
        faces = tr.update(frame)
        if faces and truths:
            gt = truths[0].points
            iod = np.linalg.norm(gt[36] - gt[45])
            if np.linalg.norm(centre(faces[0]) - gt.mean(0)) < 0.5 * iod:
                found += 1
                ids.add(faces[0].id)
    assert found >= 0.9 * n and len(ids) == 1
