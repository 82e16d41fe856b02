"""Which detection (or track) is which face: the one place faces are matched, with its thresholds by name.

- `MATCH_IOU` (0.3): a mapped detection is the annotated face (`match_detection`): evaluation, box-mapping
  fits, the synthetic face's detector check, and "near a face, so not a false detection" in detector scoring.
- `RECALL_IOU` (0.5): a detector's raw box found a face, for detector recall as detection benchmarks count it
  (the detector's training validation and `python -m convert.detector.evaluate`).
- `FOLLOW_IOD` (0.5): a track follows a true face when its centroid is within half the face's inter-ocular
  distance of the true one (the tracking evaluation and the soak).
Many against many (a scene of faces, a frame of tracks) pair greedily, best first: `greedy_pairs`.

The rule: map each detector box to a landmark box (the tight box of the 68 points, the box
every landmarker starts from), and the detection whose mapped box overlaps the face's
landmark box (`Box.around(points)`) best is that face, if their IoU is at least MATCH_IOU;
otherwise the face was not found. A detector that already returns mapped boxes
(`HaarDetector` by default) is matched with no mapping.

The evaluation harness scores with this rule, and `fit_matched` pairs detections with faces
by it when a box mapping is fitted (`edgetrack train boxmap`, `edgetrack train peers`), so a
mapping is fitted on the same pairs it is then scored on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from edge.geometry import Box

MATCH_IOU = 0.3  # a mapped detection overlapping the landmark box this much counts as finding the face
RECALL_IOU = 0.5  # a raw detector box overlapping the face's landmark box this much found it (detector recall)
FOLLOW_IOD = 0.5  # a track whose centroid is this many inter-ocular distances from a true face's or nearer follows it


def greedy_pairs(items: Sequence[Any], targets: Sequence[Any], closeness: Callable[[Any, Any], float], threshold: float) -> list[int]:
    """For each item in the order given (best first: detections by score), the index of the target not yet
    taken that it is closest to (highest `closeness(item, target)`, ties to the earlier target), when that
    is at least `threshold`; -1 when no target is left that close. Each target is taken once."""
    taken: set[int] = set()
    out = []
    for item in items:
        best, best_c = -1, threshold
        for j, target in enumerate(targets):
            if j not in taken and (c := closeness(item, target)) >= threshold and (best < 0 or c > best_c):
                best, best_c = j, c
        if best >= 0:
            taken.add(best)
        out.append(best)
    return out


def box_iou(a: Box, b: Box) -> float:
    """IoU of two boxes (the `closeness` of `greedy_pairs` for boxes)."""
    return a.iou(b)


class BoxMap(Protocol):
    def apply(self, box: Box) -> Box: ...


M = TypeVar("M", bound=BoxMap)


def match_detection(boxes: Sequence[Box], truth: Box, mapping: BoxMap | None = None) -> Box | None:
    """The detection (as the detector gave it, unmapped) that is the face whose landmark box is
    `truth`, or None: the best IoU of `mapping.apply(box)` (the box itself without a mapping)
    with `truth`, if that IoU is at least MATCH_IOU. Ties go to the earlier box."""
    best, best_iou = None, -1.0
    for box in boxes:
        iou = truth.iou(mapping.apply(box) if mapping is not None else box)
        if iou > best_iou:
            best, best_iou = box, iou
    return best if best_iou >= MATCH_IOU else None


def fit_matched(
    detections: Sequence[Sequence[Box]],
    truths: Sequence[Box],
    fit: Callable[[list[Box], list[Box]], M],
    start: BoxMap | None = None,
    rounds: int = 10,
) -> tuple[M | None, list[Box | None]]:
    """Fit a detection -> landmark box mapping (`fit(detections, truths)`) on the faces whose
    detections match under `match_detection`, matching again with each new mapping until
    the matched pairs stop changing (at most `rounds` fits).

    `detections[i]` are the raw boxes found on the image of face i, `truths[i]` its landmark
    box. The first round matches with `start` (None: the raw boxes as they are). Returns the
    mapping (None when no face matched) and, per face, the detection it was fitted on (None:
    not matched), which is also what `match_detection` picks under the returned mapping
    once the pairs have settled.
    """
    mapping: M | None = None
    current: BoxMap | None = start
    matched: list[Box | None] | None = None
    for _ in range(rounds):
        now = [match_detection(d, t, current) for d, t in zip(detections, truths)]
        if matched is not None and all(a is b for a, b in zip(now, matched)):
            break
        matched = now
        pairs = [(d, t) for d, t in zip(matched, truths) if d is not None]
        if not pairs:
            return None, matched
        mapping = fit([d for d, _ in pairs], [t for _, t in pairs])
        current = mapping
    return mapping, matched if matched is not None else []
