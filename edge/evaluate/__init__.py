"""Honest accuracy and speed numbers for any landmarker, ours or a peer's."""
