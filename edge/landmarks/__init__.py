"""Landmarkers, chosen by name (`mean`, `clm`, `cnn`, `cnn+clm`, `dlib`, `mediapipe`)."""

from edge.landmarks.base import Landmarker, LandmarkResult, available_landmarkers, make_landmarker

__all__ = ["LandmarkResult", "Landmarker", "available_landmarkers", "make_landmarker"]
