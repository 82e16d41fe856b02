"""EdgeTrack: offline face landmark tracking for small devices.

For programs: `from edge import FaceTracker` (edge/api.py). The names are imported when first used,
so `import edge.config` and the command line do not load the tracking stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edge.api import Emotion, Face, FaceTracker

__all__ = ["Emotion", "Face", "FaceTracker"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from edge import api

        return getattr(api, name)
    raise AttributeError(f"module 'edge' has no attribute {name!r}")
