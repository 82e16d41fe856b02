"""Readers for the two annotation layouts we meet: `landmarks.csv` + `images/`, and iBUG `.pts`.

A broken row or image never stops a run: it is counted, reported once with its file
name, and left out, so one bad annotation cannot cost an hour of training.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edge.landmarks68 import N_POINTS

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True)
class FaceSample:
    """One annotated face: where its image is and its 68 points (x, y), 0-based pixels."""

    image_path: Path
    points: np.ndarray  # (68, 2) float32

    @property
    def name(self) -> str:
        return self.image_path.name


@dataclass
class LoadReport:
    """What was skipped while reading, and why; printed once, never raised."""

    source: str
    problems: list[str] = field(default_factory=list)

    def add(self, problem: str) -> None:
        self.problems.append(problem)

    def print(self, stream=None) -> None:
        stream = stream or sys.stderr
        if not self.problems:
            return
        print(f"{self.source}: skipped {len(self.problems)} bad entr{'y' if len(self.problems) == 1 else 'ies'}:", file=stream)
        for p in self.problems[:20]:
            print(f"  {p}", file=stream)
        if len(self.problems) > 20:
            print(f"  ... and {len(self.problems) - 20} more", file=stream)


def load_image(path: Path | str) -> np.ndarray | None:
    """BGR uint8 image, or None when the file is missing or not an image."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return img


def _parse_points(values: list[str]) -> np.ndarray | None:
    if len(values) != 2 * N_POINTS:
        return None
    try:
        pts = np.asarray([float(v) for v in values], dtype=np.float32).reshape(N_POINTS, 2)
    except ValueError:
        return None
    if not np.all(np.isfinite(pts)):
        return None
    return pts


def read_csv_dataset(folder: Path, report: LoadReport, check_images: bool = True) -> list[FaceSample]:
    csv_path = folder / "landmarks.csv"
    samples: list[FaceSample] = []
    with open(csv_path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or header[0] != "image" or len(header) != 1 + 2 * N_POINTS:
            raise ValueError(
                f"{csv_path}: header must be 'image,x0,y0,...,x67,y67' (got {len(header or [])} columns); "
                "fix the file or point --data at a folder in that format"
            )
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            pts = _parse_points(row[1:])
            if pts is None:
                report.add(f"{csv_path.name}:{lineno} ({row[0] if row else '?'}): not 136 finite numbers")
                continue
            path = folder / "images" / row[0]
            if check_images and not path.is_file():
                report.add(f"{path}: image missing")
                continue
            if check_images and not cv2.haveImageReader(str(path)):
                report.add(f"{path}: not a readable image")
                continue
            samples.append(FaceSample(path, pts))
    return samples


def read_pts_file(path: Path) -> np.ndarray | None:
    """Points of an iBUG `.pts` file (1-based in the file, returned 0-based), or None if malformed."""
    try:
        text = path.read_text().split("{", 1)[1].split("}", 1)[0]
        values = text.split()
    except (IndexError, OSError, UnicodeDecodeError):
        return None
    pts = _parse_points(values)
    return None if pts is None else pts - 1.0


def read_pts_dataset(folder: Path, report: LoadReport, check_images: bool = True) -> list[FaceSample]:
    samples: list[FaceSample] = []
    for pts_path in sorted(folder.rglob("*.pts")):
        pts = read_pts_file(pts_path)
        if pts is None:
            report.add(f"{pts_path}: not a 68-point .pts file")
            continue
        image = next((pts_path.with_suffix(s) for s in IMAGE_SUFFIXES if pts_path.with_suffix(s).is_file()), None)
        if image is None:
            report.add(f"{pts_path}: no image beside it")
            continue
        samples.append(FaceSample(image, pts))
    return samples


def load_dataset(folder: Path | str, check_images: bool = True, quiet: bool = False) -> tuple[list[FaceSample], LoadReport]:
    """All good samples of a folder in either layout, plus a report of what was skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such data folder; pass --data with a folder holding landmarks.csv + images/ or .pts files")
    report = LoadReport(str(folder))
    if (folder / "landmarks.csv").is_file():
        samples = read_csv_dataset(folder, report, check_images)
    else:
        samples = read_pts_dataset(folder, report, check_images)
        if not samples and not report.problems:
            raise ValueError(f"{folder}: neither landmarks.csv nor .pts files found; expected the layout of ../shared/data/*")
    if not quiet:
        report.print()
    return samples, report
