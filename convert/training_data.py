"""The training part of every shared data folder, by the recorded identity-disjoint split."""

from __future__ import annotations

from pathlib import Path

from edge.data import FaceSample, load_dataset, load_or_make_split
from edge.paths import data_root


def default_data_dirs() -> list[Path]:
    return [data_root() / "ytf68", data_root() / "300w-train"]


def training_samples(data_dirs: list[Path] | None = None, part: str = "train") -> list[FaceSample]:
    """Samples of `part` ('train' or 'val') from each folder, in folder order."""
    out: list[FaceSample] = []
    for d in data_dirs or default_data_dirs():
        samples, _ = load_dataset(d)
        out += load_or_make_split(d, samples).select(samples, part)
    if not out:
        raise ValueError("no training faces found; pass --data with folders in the ../shared/data layout")
    return out
