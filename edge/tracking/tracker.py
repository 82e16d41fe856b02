"""Detect -> landmarks -> track: the detector runs only when a face is missing.

Each track follows its face with the landmarker's `track` from the previous points. A
track whose score falls below `redetect_score`, or whose face slides out of the frame,
is re-detected in a window around where it was; no face there ends the track. Every
`verify_every` frames the detector also checks each track's window (a landmarker fed a
crop of wall still returns face-shaped points); `verify_misses` misses in a row end it. While
fewer than `max_faces` faces are tracked, the whole frame is searched: every frame when
nothing is tracked, every `detect_every` frames otherwise. Ids are stable for the life
of a track; when two tracks collapse onto one face (faces crossing) the older one keeps it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from edge.detect import Detector
from edge.faces import TrackedFace
from edge.geometry import Box
from edge.landmarks import Landmarker

ROI_GROW = 2.2  # re-detect window, in landmark-box sizes
ROI_WIDTH = 160  # the window is shrunk to this width: the face is then ~70 px, plenty for Haar and cheap
MERGE_IOU = 0.4  # two tracks overlapping this much are one face
VERIFY_IOU = 0.4  # a periodic check must find a face this close to the track
NEW_FACE_IOU = 0.25  # a detection overlapping a track this much is that track's face
MIN_INSIDE = 0.6  # share of the landmark box that must stay inside the frame


@dataclass
class Track:
    id: int
    points: np.ndarray
    score: float
    box: Box
    frames: int = 1
    checked_at: int = 0  # frame number of the last detector check
    misses: int = 0  # detector checks in a row that found no face where the track is


@dataclass
class TrackerStats:
    detect_calls: int = 0  # full-frame searches
    roi_detect_calls: int = 0  # re-detections near a faltering track, and periodic checks
    verify_drops: int = 0  # tracks ended because the detector no longer saw a face there
    tracks_started: int = 0
    tracks_ended: int = 0
    ms: dict[str, float] = field(default_factory=dict)  # this frame: detect, landmarks


def inside_share(box: Box, width: int, height: int) -> float:
    x0, y0 = max(box.x, 0.0), max(box.y, 0.0)
    x1, y1 = min(box.x + box.w, width), min(box.y + box.h, height)
    area = max(box.w * box.h, 1e-9)
    return max(0.0, x1 - x0) * max(0.0, y1 - y0) / area


class Tracker:
    def __init__(
        self,
        landmarker: Landmarker,
        detector: Detector,
        max_faces: int = 1,
        redetect_score: float = 0.3,
        detect_every: int = 15,
        verify_every: int = 15,
        verify_misses: int = 2,
    ) -> None:
        if max_faces < 1:
            raise ValueError(f"max_faces must be >= 1, got {max_faces}")
        self.landmarker, self.detector = landmarker, detector
        self.max_faces, self.redetect_score, self.detect_every = max_faces, redetect_score, detect_every
        self.verify_every, self.verify_misses = verify_every, verify_misses
        self.tracks: list[Track] = []
        self.next_id = 1
        self.frame_no = 0
        self.last_search = -(10**9)
        self.stats = TrackerStats()

    def reset(self) -> None:
        self.stats.tracks_ended += len(self.tracks)
        self.tracks = []

    def _detect(self, image: np.ndarray, max_faces: int, offset: tuple[int, int] = (0, 0), shrink: float = 1.0) -> list[Box]:
        t0 = time.perf_counter()
        if shrink < 1.0:
            image = cv2.resize(image, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        boxes = self.detector.detect(image, max_faces)
        self.stats.ms["detect"] = self.stats.ms.get("detect", 0.0) + (time.perf_counter() - t0) * 1e3
        if offset != (0, 0) or shrink != 1.0:
            k = 1.0 / shrink
            boxes = [Box(b.x * k + offset[0], b.y * k + offset[1], b.w * k, b.h * k, b.score) for b in boxes]
        return boxes

    def _fit(self, image: np.ndarray, box: Box):
        t0 = time.perf_counter()
        res = self.landmarker.fit(image, box)
        self.stats.ms["landmarks"] = self.stats.ms.get("landmarks", 0.0) + (time.perf_counter() - t0) * 1e3
        return res

    def _track(self, image: np.ndarray, points: np.ndarray):
        t0 = time.perf_counter()
        res = self.landmarker.track(image, points)
        self.stats.ms["landmarks"] = self.stats.ms.get("landmarks", 0.0) + (time.perf_counter() - t0) * 1e3
        return res

    def _redetect(self, image: np.ndarray, box: Box) -> Box | None:
        h, w = image.shape[:2]
        size = max(box.w, box.h) * ROI_GROW
        x0, y0 = int(max(0, box.cx - size / 2)), int(max(0, box.cy - size / 2))
        x1, y1 = int(min(w, box.cx + size / 2)), int(min(h, box.cy + size / 2))
        if x1 - x0 < 24 or y1 - y0 < 24:
            return None
        self.stats.roi_detect_calls += 1
        found = self._detect(image[y0:y1, x0:x1], 1, (x0, y0), min(1.0, ROI_WIDTH / (x1 - x0)))
        return found[0] if found else None

    def _follow(self, image: np.ndarray, track: Track) -> bool:
        """Move the track to this frame; False when its face is gone."""
        h, w = image.shape[:2]
        res = self._track(image, track.points)
        box = Box.around(res.points)
        if res.score >= self.redetect_score and inside_share(box, w, h) >= MIN_INSIDE:
            track.points, track.score, track.box = res.points, float(res.score), box
            track.frames += 1
            return True
        found = self._redetect(image, track.box)
        if found is None or inside_share(found, w, h) < MIN_INSIDE:
            return False
        res = self._fit(image, found)
        track.points, track.score, track.box = res.points, float(res.score), Box.around(res.points)
        track.frames += 1
        return True

    def _still_a_face(self, image: np.ndarray, track: Track) -> bool:
        """Every `verify_every` frames the detector looks where the track is: a landmarker fed a
        crop of wall still returns a face-shaped set of points, the detector does not find a face."""
        if not self.verify_every or self.frame_no - track.checked_at < self.verify_every:
            return True
        track.checked_at = self.frame_no
        found = self._redetect(image, track.box)
        if found is not None:
            mine = found.iou(track.box)
            # the face found must be this track's, not a neighbour's it half overlaps
            if mine >= VERIFY_IOU and all(mine >= found.iou(o.box) for o in self.tracks if o is not track):
                track.misses = 0
                return True
        track.misses += 1
        if track.misses >= self.verify_misses:
            self.stats.verify_drops += 1
            return False
        return True

    def update(self, image: np.ndarray) -> list[TrackedFace]:
        """Faces in this frame (raw landmarks), ids stable across frames."""
        self.stats.ms = {"detect": 0.0, "landmarks": 0.0}
        alive = [t for t in self.tracks if self._follow(image, t) and self._still_a_face(image, t)]
        self.stats.tracks_ended += len(self.tracks) - len(alive)
        alive.sort(key=lambda t: -t.frames)  # older tracks win a merge: ids stay put
        kept: list[Track] = []
        for t in alive:
            if all(t.box.iou(k.box) < MERGE_IOU for k in kept):
                kept.append(t)
            else:
                self.stats.tracks_ended += 1
        self.tracks = kept
        if len(self.tracks) < self.max_faces and (not self.tracks or self.frame_no - self.last_search >= self.detect_every):
            self.last_search = self.frame_no
            self.stats.detect_calls += 1
            for box in self._detect(image, self.max_faces):
                if len(self.tracks) >= self.max_faces:
                    break
                if any(box.iou(t.box) >= NEW_FACE_IOU for t in self.tracks):
                    continue
                res = self._fit(image, box)
                # checks of a new track are staggered so several faces do not all verify on one frame
                stagger = self.frame_no - (self.next_id * 7) % max(self.verify_every, 1)
                self.tracks.append(Track(self.next_id, res.points, float(res.score), Box.around(res.points), checked_at=stagger))
                self.next_id += 1
                self.stats.tracks_started += 1
        self.frame_no += 1
        return [TrackedFace(t.id, t.points, t.score, t.box, raw_points=t.points) for t in sorted(self.tracks, key=lambda t: t.id)]
