"""The synthetic face: the learned mean face, deformed by the shape model and rendered over a
procedural background with exact ground-truth landmarks (default source without a camera,
and the ground truth for tracking, jitter and lag tests).

The renderer (numba, ~100 MB resident once imported) loads on first use, so a command
that only names a scenario does not pay for it.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "SyntheticFace": "edge.synth.render",
    "SynthTruth": "edge.synth.render",
    "parse_size": "edge.synth.render",
    "SCENARIOS": "edge.synth.scenarios",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'edge.synth' has no attribute {name!r}")
