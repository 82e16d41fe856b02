"""Landmark smoothing: a 1-euro filter in face-normalised coordinates, optional optical-flow fusion;
`Smoothing` is the whole stage (flow, then the filter, then forgetting ended tracks)."""

from edge.smooth.face import FaceSmoother, SmoothParams
from edge.smooth.one_euro import OneEuro
from edge.smooth.smoothing import Smoothing

__all__ = ["FaceSmoother", "OneEuro", "SmoothParams", "Smoothing"]
