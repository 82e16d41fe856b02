"""Landmarkers, chosen by name (`mean`, `clm`, `cnn`, `cnn+clm`, `dlib`, `mediapipe`)."""

from edge.landmarks.base import Landmarker, LandmarkResult, make_landmarker

__all__ = ["LandmarkResult", "Landmarker", "make_landmarker"]
