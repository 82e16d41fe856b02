"""The learned box mapping: a detector's box -> the landmark box the landmarkers start from.

Each detector frames a face its own way (Haar's square sits high and wide); a mapping fitted
on the training faces (`edgetrack train boxmap --detector NAME`) turns its boxes into the
tight box of the 68 points. models/box_mapping.json holds one mapping per detector
(`{"haar": {...}, "cnn": {...}}`; an older file with one flat mapping is Haar's). A detector
without a fitted mapping uses the identity. For a turned box (`Box.angle`) the offsets are
in the face's own levelled frame.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edge.geometry import Box
from edge.paths import model_path

BOX_MAPPING_FILE = "box_mapping.json"
_FIELDS = ("dx", "dy", "sw", "sh")


@dataclass(frozen=True)
class BoxMapping:
    """Maps a detector box (cx, cy, w) to the landmark box: centre offsets and size in units of w."""

    dx: float = 0.0
    dy: float = 0.0
    sw: float = 1.0
    sh: float = 1.0

    def apply(self, box: Box) -> Box:
        w, h = box.w * self.sw, box.w * self.sh
        ox, oy = self.dx * box.w, self.dy * box.w
        if box.angle:  # the offset is along the face's own axes
            c, s = np.cos(box.angle), np.sin(box.angle)
            ox, oy = c * ox - s * oy, s * ox + c * oy
        cx, cy = box.cx + ox, box.cy + oy
        return Box(float(cx - w / 2), float(cy - h / 2), float(w), float(h), box.score, box.angle)

    @classmethod
    def fit(cls, det: list[Box], target: list[Box]) -> BoxMapping:
        """Median ratios: robust to the odd bad pair, and one number per degree of freedom.
        Offsets are measured along each detection's own axes (the same as the frame's for an upright box)."""
        d = np.array([[b.cx, b.cy, b.w, b.angle] for b in det])
        t = np.array([[b.cx, b.cy, b.w, b.h] for b in target])
        c, s = np.cos(d[:, 3]), np.sin(d[:, 3])
        ox, oy = t[:, 0] - d[:, 0], t[:, 1] - d[:, 1]
        lx, ly = c * ox + s * oy, -s * ox + c * oy  # turned back by -angle
        return cls(
            float(np.median(lx / d[:, 2])),
            float(np.median(ly / d[:, 2])),
            float(np.median(t[:, 2] / d[:, 2])),
            float(np.median(t[:, 3] / d[:, 2])),
        )

    def save(self, path: Path, detector: str = "haar") -> None:
        """Write this detector's mapping into the file, keeping the other detectors' mappings."""
        path = Path(path)
        table = _read(path) if path.is_file() else {}
        table[detector] = asdict(self)
        path.write_text(json.dumps(dict(sorted(table.items())), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path | None = None, detector: str = "haar") -> BoxMapping:
        """The mapping fitted for `detector`; the identity when the file or its entry is absent."""
        path = Path(path or model_path(BOX_MAPPING_FILE))
        if not path.is_file():
            return cls()
        entry = _read(path).get(detector)
        return cls(**{k: float(entry[k]) for k in _FIELDS}) if entry else cls()

    @classmethod
    def fitted(cls, detector: str, path: Path | None = None) -> bool:
        """Whether the file holds a mapping fitted for `detector`."""
        path = Path(path or model_path(BOX_MAPPING_FILE))
        return path.is_file() and detector in _read(path)


def _read(path: Path) -> dict[str, dict[str, float]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"box mapping {path} is unreadable ({exc}); refit it with `edgetrack train boxmap`") from None
    if not isinstance(data, dict):
        raise ValueError(f"box mapping {path} is not a JSON object; refit it with `edgetrack train boxmap`")
    if "dx" in data:  # the older file: one flat mapping, Haar's
        return {"haar": {k: data[k] for k in _FIELDS}}
    return data
