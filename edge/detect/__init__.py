"""Face detectors, chosen by name (`haar`, ...), all returning `Box`es in frame pixels."""

from edge.detect.base import Detector, available_detectors, make_detector

__all__ = ["Detector", "available_detectors", "make_detector"]
