"""The smoothing stage as one step, in its own order: optical-flow fusion (when on), then the
per-face 1-euro filter, then forgetting the faces no longer tracked; `reset()` at a scene cut.

The runtime calls `apply(image, faces, t)` once a frame; each face's `points` become the
smoothed points and its `raw_points` stay the landmarker's own.
"""

from __future__ import annotations

import numpy as np

from edge.faces import TrackedFace
from edge.smooth.face import FaceSmoother, SmoothParams


class Smoothing:
    def __init__(self, params: SmoothParams | None = None, flow: bool = True, reference: np.ndarray | None = None) -> None:
        self.filter = FaceSmoother(params, reference)
        self.flow = None
        if flow:
            from edge.smooth.flow import FlowFusion  # OpenCV's optical flow, only when asked for

            self.flow = FlowFusion()

    def apply(self, image: np.ndarray, faces: list[TrackedFace], t: float) -> None:
        """Smooth this frame's faces in place at time `t` (seconds)."""
        fused = self.flow.fuse(image, faces) if self.flow is not None else {}
        for f in faces:
            f.points = self.filter.smooth(f.id, fused.get(f.id, f.raw_points), t)
        self.filter.keep_only({f.id for f in faces})

    def reset(self) -> None:
        """A frame unrelated to the one before (the next photo of a folder): no flow or filter state carries over."""
        if self.flow is not None:
            self.flow.reset()
        self.filter.keep_only(set())
