"""Identity-disjoint train/validation splits, written to a file so every run uses the same one.

A validation face whose person is also in training scores a memory, not a model,
so the split is by person (YouTube Faces) or by source photo (300-W).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from edge.data.readers import FaceSample

_FRAME_SUFFIX = re.compile(r"_\d{1,2}$")


def identity_of(image_name: str) -> str:
    """`Person_Name_07.jpg` -> `Person_Name`; `helen_123_2.jpg` -> `helen_123`; `lfpw_image_0001.jpg` stays whole."""
    stem = Path(image_name).stem
    return _FRAME_SUFFIX.sub("", stem)


@dataclass(frozen=True)
class Split:
    dataset: str
    seed: int
    val_fraction: float
    train: tuple[str, ...]  # image names
    val: tuple[str, ...]

    def select(self, samples: list[FaceSample], part: str) -> list[FaceSample]:
        names = set(self.train if part == "train" else self.val)
        if part not in ("train", "val"):
            raise ValueError(f"split part must be 'train' or 'val', not {part!r}")
        return [s for s in samples if s.name in names]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "dataset": self.dataset,
            "seed": self.seed,
            "val_fraction": self.val_fraction,
            "rule": "by identity: image stem minus a trailing _N or _NN",
            "train": list(self.train),
            "val": list(self.val),
        }
        path.write_text(json.dumps(data, indent=0) + "\n")

    @classmethod
    def load(cls, path: Path) -> Split:
        d = json.loads(Path(path).read_text())
        return cls(d["dataset"], d["seed"], d["val_fraction"], tuple(d["train"]), tuple(d["val"]))


def _bucket(identity: str, seed: int) -> float:
    h = hashlib.sha256(f"{seed}:{identity}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def make_split(dataset: str, names: list[str], val_fraction: float = 0.2, seed: int = 0) -> Split:
    """Assign each identity to val when its stable hash falls under `val_fraction`."""
    train, val = [], []
    for name in sorted(names):
        (val if _bucket(identity_of(name), seed) < val_fraction else train).append(name)
    return Split(dataset, seed, val_fraction, tuple(train), tuple(val))


def split_path(data_dir: Path | str) -> Path:
    """Where the split of a dataset folder is recorded: models/splits/<folder name>.json."""
    from edge.paths import models_dir

    return models_dir() / "splits" / f"{Path(data_dir).resolve().name}.json"


def recorded_split(data_dir: Path | str, samples: list[FaceSample]) -> Split | None:
    """The recorded split when there is one and it covers every face of `samples`; else None (never writes)."""
    path = split_path(data_dir)
    if not path.is_file():
        return None
    split = Split.load(path)
    known = set(split.train) | set(split.val)
    return split if all(s.name in known for s in samples) else None


def load_or_make_split(data_dir: Path | str, samples: list[FaceSample], val_fraction: float = 0.2, seed: int = 0) -> Split:
    """The recorded split for this dataset (models/splits/<name>.json), made once if absent."""
    dataset = Path(data_dir).resolve().name
    path = split_path(data_dir)
    split = recorded_split(data_dir, samples)
    if split is not None:
        return split
    split = make_split(dataset, [s.name for s in samples], val_fraction, seed)
    try:
        split.save(path)
    except OSError as exc:  # a read-only install still evaluates; the split is a pure function of the names
        print(f"note: could not record the split at {path} ({exc.strerror}); using it unrecorded", file=sys.stderr)
    return split
