"""The synthetic face: the learned mean face, deformed by the shape model and rendered over a
procedural background with exact ground-truth landmarks (default source without a camera,
and the ground truth for tracking, jitter and lag tests)."""

from edge.synth.render import SyntheticFace, SynthTruth, parse_size
from edge.synth.scenarios import SCENARIOS

__all__ = ["SCENARIOS", "SynthTruth", "SyntheticFace", "parse_size"]
