"""The interface every landmarker meets, and the registry that picks one by name.

A landmarker is started from a box (the tight box of the 68 points, as produced by
`--box gt` or a mapped detector box) or, when tracking, from the previous frame's
points. It returns 68 points in frame pixels and a score (higher = surer it is a face).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from edge.geometry import Box


@dataclass
class LandmarkResult:
    points: np.ndarray  # (68, 2) float32, frame pixels
    score: float = 1.0  # face confidence; trackers re-detect when it drops
    valid: np.ndarray | None = None  # (68,) bool for landmarkers that only know some points


class Landmarker(Protocol):
    name: str

    def fit(self, frame: np.ndarray, box: Box) -> LandmarkResult:
        """Landmarks for the face in `box` of a BGR (or grey) frame."""
        ...

    def track(self, frame: np.ndarray, previous: np.ndarray) -> LandmarkResult:
        """Landmarks given the previous frame's points; defaults to a fit from their box."""
        ...


_BUILTIN = {
    "mean": "edge.landmarks.mean",
    "clm": "edge.landmarks.clm",
    "cnn": "edge.landmarks.cnn",
    "cnn+clm": "edge.landmarks.cnn",
    "dlib": "edge.landmarks.peers",
    "mediapipe": "edge.landmarks.peers",
}
_REGISTRY: dict[str, Callable[..., Landmarker]] = {}


def register(name: str):
    def deco(factory):
        _REGISTRY[name] = factory
        return factory

    return deco


def available_landmarkers() -> list[str]:
    return sorted(_BUILTIN)


def make_landmarker(name: str, **kwargs) -> Landmarker:
    if name not in _BUILTIN:
        raise ValueError(f"unknown landmarker {name!r}; choose one of: {', '.join(sorted(_BUILTIN))}")
    if name not in _REGISTRY:
        importlib.import_module(_BUILTIN[name])
    if name not in _REGISTRY:
        raise ValueError(f"landmarker {name!r} is not built yet in this version")
    return _REGISTRY[name](**kwargs)


class BoxTracking:
    """Mixin: track by re-fitting from the box of the previous points."""

    def track(self, frame: np.ndarray, previous: np.ndarray) -> LandmarkResult:
        return self.fit(frame, Box.around(previous))  # type: ignore[attr-defined]
