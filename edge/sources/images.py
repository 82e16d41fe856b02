"""A folder of still images, in name order, as a video.

Each photo is its own scene (`Frame.cut`): the pipeline tracks it afresh, whatever its size.
A file that cannot be read is named once and counted, never fatal on its own; a folder
with no readable image at all is an error, not an empty run that exits 0.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2

from edge.sources.base import Frame, Source

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}


class ImageFolderSource(Source):
    def __init__(self, folder: str | Path, fps: float = 30.0) -> None:
        self.folder = Path(folder)
        self.name = f"images:{self.folder}"
        self.fps = fps
        self.files: list[Path] = []
        self.index = 0
        self.unreadable: set[Path] = set()  # named once each, across --loop passes
        self.read_ok = 0

    def open(self) -> None:
        if not self.folder.is_dir():
            raise FileNotFoundError(f"image folder {self.folder} not found; give images:DIR with an existing folder")
        self.files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not self.files:
            raise ValueError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {self.folder}")
        self.index = 0

    def read(self) -> Frame | None:
        if not self.files:
            self.open()
        while self.index < len(self.files):
            path = self.files[self.index]
            i = self.index
            self.index += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path not in self.unreadable else None
            if image is not None:
                self.read_ok += 1
                return Frame(image, i, cut=True)
            if path not in self.unreadable:
                self.unreadable.add(path)
                log.warning("skipped %s: not a readable image (%d unreadable so far)", path, len(self.unreadable))
        if self.read_ok == 0:
            raise ValueError(f"none of the {len(self.files)} image file(s) in {self.folder} could be read; check the files")
        return None
