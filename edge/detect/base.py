"""The one small interface every face detector meets, and the registry that picks one by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from edge.geometry import Box


class Detector(Protocol):
    name: str

    def detect(self, frame: np.ndarray, max_faces: int = 1) -> list[Box]:
        """Faces in a BGR or grey frame, best first."""
        ...


_REGISTRY: dict[str, Callable[..., Detector]] = {}


def register(name: str):
    def deco(factory):
        _REGISTRY[name] = factory
        return factory

    return deco


def available_detectors() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def make_detector(name: str = "haar", **kwargs) -> Detector:
    _load_builtin()
    if name not in _REGISTRY:
        raise ValueError(f"unknown detector {name!r}; choose one of: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](**kwargs)


def _load_builtin() -> None:
    from edge.detect import haar  # noqa: F401  (registers itself)
