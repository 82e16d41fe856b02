"""Detect -> landmarks -> track: the detector runs only when a face is missing.

Each track follows its face with the landmarker's `track` from the previous points. A
track whose score falls below `redetect_score`, or whose face slides out of the frame,
is re-detected in a window around where it was; no face there ends the track. Every
`verify_every` frames the track is checked: a landmarker whose score is P(face)
(`scores_faces`) judges first, and a sure score keeps the track without a detector call;
otherwise the detector looks at the track's window (a landmarker fed a crop of wall still
returns face-shaped points); `verify_misses` misses in a row end it.

A track is checked and re-found in its own frame of reference: its window is turned
upright by the track's roll (the eye line of its points) before the detector sees it, so a
tilted head is as easy to confirm as a level one, and the box found is turned back into
the frame (`Box.angle`). While fewer than `max_faces` faces are tracked, the whole frame is
searched: every frame when nothing is tracked, every `detect_every` frames otherwise; for
a detector that sees upright faces only, searches that find nothing take turns at 0, +30
and -30 degrees (`search_turns`), so a head already tilted when it appears is found within
three frames, and a search after a find or a scene cut starts upright.
Ids are stable for the life of a track; when two tracks collapse onto one face (faces
crossing) the older one keeps it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from edge.detect import Detector
from edge.faces import TrackedFace
from edge.geometry import Box
from edge.imaging import levelled_view
from edge.landmarks import Landmarker
from edge.landmarks.base import fit_box
from edge.landmarks68 import roll

ROI_GROW = 2.2  # re-detect window, in landmark-box sizes
ROI_WIDTH = 160  # the window is shrunk to this width: the face is then ~70 px, plenty for Haar and cheap
MERGE_IOU = 0.4  # two tracks overlapping this much are one face
VERIFY_IOU = 0.4  # a periodic check must find a face this close to the track
NEW_FACE_IOU = 0.25  # a detection overlapping a track this much is that track's face
MIN_INSIDE = 0.6  # share of the landmark box that must stay inside the frame
MIN_WINDOW = 24  # px: a window smaller than this is not worth a detector call
FACE_SURE = 0.5  # a landmarker's P(face) at or above this keeps a track at its check without the detector
SEARCH_TURNS = (0.0, float(np.deg2rad(30.0)), float(np.deg2rad(-30.0)))  # full-frame passes, one per search, in turn


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
    roi_detect_calls: int = 0  # re-detections near a faltering track, and periodic checks (levelled windows)
    turned_searches: int = 0  # full-frame searches made on the frame turned by one of `search_turns`
    score_checks: int = 0  # periodic checks the landmarker's own face score answered (no detector call)
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
        search_turns: tuple[float, ...] | None = None,
    ) -> None:
        if max_faces < 1:
            raise ValueError(f"max_faces must be >= 1, got {max_faces}")
        self.landmarker, self.detector = landmarker, detector
        self.max_faces, self.redetect_score, self.detect_every = max_faces, redetect_score, detect_every
        self.verify_every, self.verify_misses = verify_every, verify_misses
        self.scores_faces = bool(getattr(landmarker, "scores_faces", False))
        if search_turns is None:  # a detector that finds tilted faces itself (`sees_roll`) needs no turned passes
            search_turns = (0.0,) if getattr(detector, "sees_roll", False) else SEARCH_TURNS
        self.search_turns = tuple(search_turns) or (0.0,)
        self.fruitless = 0  # full-frame searches in a row that found nothing (picks the next turn)
        self.tracks: list[Track] = []
        self.next_id = 1
        self.frame_no = 0
        self.last_search = -(10**9)
        self.stats = TrackerStats()

    def reset(self) -> None:
        self.stats.tracks_ended += len(self.tracks)
        self.tracks = []
        self.fruitless = 0

    def _detect(self, image: np.ndarray, max_faces: int, cx: float, cy: float, angle: float, width: float, height: float,
                scale: float) -> list[Box]:  # fmt: skip
        """Faces in the `width` x `height` region centred on (cx, cy) and turned by `angle`, seen upright at
        `scale`, as boxes in frame pixels (turned by `angle` plus whatever roll the detector saw)."""
        t0 = time.perf_counter()
        h, w = image.shape[:2]
        if angle == 0.0 and scale == 1.0 and (width, height) == (w, h):
            boxes = self.detector.detect(image, max_faces)
        else:
            view = levelled_view(image, cx, cy, angle, width, height, scale, pad=True)
            back = view.to_frame()
            boxes = [b.transformed(back) for b in self.detector.detect(view.image, max_faces)]
        self.stats.ms["detect"] = self.stats.ms.get("detect", 0.0) + (time.perf_counter() - t0) * 1e3
        return boxes

    def _search(self, image: np.ndarray) -> list[Box]:
        """The whole frame, upright or turned by the next of `search_turns`."""
        turn = self.search_turns[self.fruitless % len(self.search_turns)]
        self.stats.detect_calls += 1
        h, w = image.shape[:2]
        if turn == 0.0:
            boxes = self._detect(image, self.max_faces, w / 2, h / 2, 0.0, w, h, 1.0)
        else:
            self.stats.turned_searches += 1
            c, s = abs(np.cos(turn)), abs(np.sin(turn))
            tw, th = c * w + s * h, s * w + c * h  # the turned frame's bounds
            scale = min(1.0, float(np.sqrt(w * h / (tw * th))))  # as many pixels as an upright pass
            boxes = self._detect(image, self.max_faces, (w - 1) / 2, (h - 1) / 2, turn, tw, th, scale)
            boxes = [b for b in boxes if 0 <= b.cx < w and 0 <= b.cy < h]  # not a 'face' in the padding
        # the next search turns on while searches find nothing; after a find (or a reset) it starts upright
        self.fruitless = 0 if boxes else self.fruitless + 1
        return boxes

    def _fit(self, image: np.ndarray, box: Box):
        t0 = time.perf_counter()
        res = fit_box(self.landmarker, image, box)
        self.stats.ms["landmarks"] = self.stats.ms.get("landmarks", 0.0) + (time.perf_counter() - t0) * 1e3
        return res

    def _track(self, image: np.ndarray, points: np.ndarray):
        t0 = time.perf_counter()
        res = self.landmarker.track(image, points)
        self.stats.ms["landmarks"] = self.stats.ms.get("landmarks", 0.0) + (time.perf_counter() - t0) * 1e3
        return res

    def _window(self, image: np.ndarray, track: Track) -> Box | None:
        """The detector's look at the window around a track, turned upright by the track's roll; the face
        found there (a box turned by that roll), or None."""
        angle = roll(track.points)
        level = Box.around(track.points, angle)
        side = max(level.w, level.h) * ROI_GROW
        if side < MIN_WINDOW:
            return None
        self.stats.roi_detect_calls += 1
        found = self._detect(image, 1, level.cx, level.cy, angle, side, side, min(1.0, ROI_WIDTH / side))
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
        found = self._window(image, track)
        if found is None or inside_share(found, w, h) < MIN_INSIDE:
            return False
        res = self._fit(image, found)
        track.points, track.score, track.box = res.points, float(res.score), Box.around(res.points)
        track.frames += 1
        return True

    def _still_a_face(self, image: np.ndarray, track: Track) -> bool:
        """Every `verify_every` frames: is the track still on a face? The landmarker's own face score
        judges first; else the detector looks where the track is, in the track's levelled window (a
        landmarker fed a crop of wall still returns a face-shaped set of points, the detector does not
        find a face)."""
        if not self.verify_every or self.frame_no - track.checked_at < self.verify_every:
            return True
        track.checked_at = self.frame_no
        if self.scores_faces and track.score >= FACE_SURE:
            self.stats.score_checks += 1
            track.misses = 0
            return True
        found = self._window(image, track)
        if found is not None:
            # compared in the track's own frame: the levelled boxes of this track's points and the others'
            mine = found.iou(Box.around(track.points, found.angle))
            others = (found.iou(Box.around(o.points, found.angle)) for o in self.tracks if o is not track)
            # the face found must be this track's, not a neighbour's it half overlaps
            if mine >= VERIFY_IOU and all(mine >= o for o in others):
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
            for box in self._search(image):
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
