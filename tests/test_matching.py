"""One rule says which detection is the annotated face: the harness scores with it and the
box-mapping fits (boxmap, peers) pair detections with faces by it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.data import FaceSample, fit_matched, load_dataset, load_image, load_or_make_split, match_detection
from edge.data.matching import MATCH_IOU
from edge.detect.haar import BoxMapping, HaarDetector
from edge.evaluate.harness import evaluate
from edge.geometry import Box
from edge.landmarks import make_landmarker

KNOWN = BoxMapping(dx=0.01, dy=0.16, sw=0.85, sh=0.83)


def _raw_for(truth: Box, m: BoxMapping = KNOWN) -> Box:
    """The detector box that `m` maps exactly onto `truth`."""
    w = truth.w / m.sw
    cx, cy = truth.cx - m.dx * w, truth.cy - m.dy * w
    return Box(cx - w / 2, cy - w / 2, w, w)


def _shifted(box: Box, dx: float) -> Box:
    return Box(box.x + dx, box.y, box.w, box.h)


def test_best_overlap_wins_and_too_little_is_no_face():
    truth = Box(100, 100, 100, 100)
    near, nearer, far = _shifted(truth, 40), _shifted(truth, 10), Box(400, 400, 100, 100)
    assert match_detection([near, far, nearer], truth) is nearer
    assert match_detection([far], truth) is None
    assert match_detection([], truth) is None
    # right at the threshold: IoU of a box shifted by s is (100 - s) / (100 + s)
    s_at = 100 * (1 - MATCH_IOU) / (1 + MATCH_IOU)
    assert match_detection([_shifted(truth, s_at - 0.01)], truth) is not None
    assert match_detection([_shifted(truth, s_at + 0.01)], truth) is None
    # ties go to the earlier box
    twin = _shifted(truth, -10)
    assert match_detection([twin, nearer], truth) is twin


def test_the_mapped_box_is_what_is_compared_and_the_raw_box_is_returned():
    truth = Box(100, 100, 100, 100)
    raw = _raw_for(truth)
    decoy = _shifted(truth, 12)  # overlaps the truth better than the raw box does...
    assert truth.iou(decoy) > truth.iou(raw)
    assert match_detection([raw, decoy], truth) is decoy
    # ...but once boxes are mapped, the raw box maps onto the face exactly
    assert match_detection([decoy, raw], truth, KNOWN) is raw
    # a raw box too far off to count unmapped (a detector whose box sits well above the face)
    # still counts after mapping
    high = BoxMapping(dx=0.0, dy=0.6, sw=0.85, sh=0.83)
    face = Box(100, 100, 100, 100 * high.sh / high.sw)
    raw_high = _raw_for(face, high)
    assert face.iou(raw_high) < MATCH_IOU
    assert match_detection([raw_high], face) is None
    assert match_detection([raw_high], face, high) is raw_high


def test_fit_matched_refits_until_the_pairs_are_those_the_fitted_mapping_picks():
    rng = np.random.default_rng(0)
    truths = [Box(*rng.uniform(0, 400, 2), w, w * rng.uniform(0.95, 1.05)) for w in rng.uniform(40, 160, 60)]
    dets, want = [], []
    for k, t in enumerate(truths):
        raw = _raw_for(t)
        boxes = [raw, Box(t.x + 5 * t.w, t.y, t.w, t.w)]  # the face and someone far away
        if k % 5 == 0:
            boxes.insert(0, _shifted(t, 0.05 * t.w))  # a decoy that beats the face before any mapping
        if k == 7:
            boxes = [Box(t.x + 5 * t.w, t.y, t.w, t.w)]  # the face was missed
        dets.append(boxes)
        want.append(None if k == 7 else raw)
    assert match_detection(dets[0], truths[0]) is dets[0][0]  # unmapped, the decoy wins
    _, first = fit_matched(dets, truths, BoxMapping.fit, rounds=1)
    assert first[0] is dets[0][0] and first[1] is want[1]
    mapping, matched = fit_matched(dets, truths, BoxMapping.fit)
    # refitting under the mapping dropped the decoys
    assert all(a is b for a, b in zip(matched, want))
    np.testing.assert_allclose([mapping.dx, mapping.dy, mapping.sw], [KNOWN.dx, KNOWN.dy, KNOWN.sw], atol=1e-9)
    assert all(match_detection(d, t, mapping) is m for d, t, m in zip(dets, truths, matched))
    # nothing matching is said, not fitted on nothing
    assert fit_matched([[Box(900, 900, 10, 10)]], [truths[0]], BoxMapping.fit) == (None, [None])


def test_harness_finds_a_face_by_the_rule(tmp_path):
    img = np.full((300, 300, 3), 128, np.uint8)
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), img)
    pts = make_landmarker("mean").fit(None, Box(100, 100, 100, 100)).points
    sample = FaceSample(path, np.asarray(pts, np.float32))
    truth = Box.around(sample.points)

    class OneBox:  # a detector that always answers with one fixed (already mapped) box
        name = "fixed"

        def __init__(self, box: Box) -> None:
            self.box = box

        def detect(self, frame, max_faces=1):
            return [self.box]

    s_at = truth.w * (1 - MATCH_IOU) / (1 + MATCH_IOU)  # the sideways shift that leaves IoU at the threshold
    lm = make_landmarker("mean")
    hit = evaluate([sample], lm, "detect", OneBox(_shifted(truth, 0.5 * s_at)), progress=False)
    miss = evaluate([sample], lm, "detect", OneBox(Box(truth.x + truth.w, truth.y, truth.w, truth.h)), progress=False)
    assert hit.predictions[0] is not None and miss.predictions[0] is None


@pytest.mark.slow
def test_boxmap_pairs_are_the_faces_the_harness_finds(ytf68):
    """With the committed mapping, matching raw Haar boxes through it (how boxmap pairs them)
    finds the same faces, at the same boxes, as the harness matching the detector's mapped boxes."""
    from convert.boxmap import detect_raw

    samples, _ = load_dataset(ytf68, quiet=True)
    val = load_or_make_split(ytf68, samples).select(samples, "val")[:25]
    mapping = BoxMapping.load()
    dets, truths, kept = detect_raw(val, HaarDetector(mapped=False))
    mapped = HaarDetector()
    found = 0
    for d, t, s in zip(dets, truths, kept):
        via_fit = match_detection(d, t, mapping)
        via_eval = match_detection(mapped.detect(load_image(s.image_path), max_faces=5), t)
        assert (via_fit is None) == (via_eval is None)
        if via_fit is not None:
            found += 1
            assert mapping.apply(via_fit) == via_eval
    assert found >= 20


def test_greedy_pairs_take_each_face_once_best_first_and_the_threshold_counts():
    from edge.data.matching import RECALL_IOU, box_iou, greedy_pairs

    faces = [Box(0, 0, 100, 100), Box(300, 0, 100, 100)]
    strong, second, stray = Box(5, 0, 100, 100), Box(10, 0, 100, 100), Box(600, 600, 50, 50)
    # the best-scored box takes the face; a second box on the same face finds it taken; a box on nothing is -1
    assert greedy_pairs([strong, second, stray], faces, box_iou, RECALL_IOU) == [0, -1, -1]
    s_at = 100 * (1 - RECALL_IOU) / (1 + RECALL_IOU)  # the shift that leaves IoU exactly at the threshold
    assert greedy_pairs([_shifted(faces[1], s_at - 0.01)], faces, box_iou, RECALL_IOU) == [1]
    assert greedy_pairs([_shifted(faces[1], s_at + 0.01)], faces, box_iou, RECALL_IOU) == [-1]


def test_a_track_follows_the_truth_face_its_centroid_is_within_half_an_iod_of():
    from types import SimpleNamespace

    from edge.data.matching import FOLLOW_IOD
    from edge.evaluate.tracking import match_counts
    from edge.landmarks68 import interocular
    from edge.shape_model import ShapeModel

    mean = ShapeModel.load().mean.astype(np.float64) * 100 + 200
    iod = float(interocular(mean))
    truth = [SimpleNamespace(points=mean)]

    def face(dx: float) -> SimpleNamespace:
        return SimpleNamespace(raw_points=mean + [dx, 0.0])

    assert match_counts(truth, [face(0.99 * FOLLOW_IOD * iod)]) == (1, 1, 0)
    assert match_counts(truth, [face(1.01 * FOLLOW_IOD * iod)]) == (1, 0, 1)
    assert match_counts(truth, [face(5.0), face(1.0)]) == (1, 1, 1), "one truth face, the nearer track follows it"
