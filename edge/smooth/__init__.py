"""Landmark smoothing: a 1-euro filter in face-normalised coordinates, optional optical-flow fusion."""

from edge.smooth.face import FaceSmoother, SmoothParams
from edge.smooth.one_euro import OneEuro

__all__ = ["FaceSmoother", "OneEuro", "SmoothParams"]
