"""Multi-face tracking: detect -> landmarks -> track, the detector only when a face is missing."""

from edge.tracking.pick import pick_detector, pick_landmarker
from edge.tracking.tracker import Tracker, TrackerStats

__all__ = ["Tracker", "TrackerStats", "pick_detector", "pick_landmarker"]
