"""A folder of still images, in name order, as a video."""

from __future__ import annotations

from pathlib import Path

import cv2

from edge.sources.base import Frame, Source

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}


class ImageFolderSource(Source):
    def __init__(self, folder: str | Path, fps: float = 30.0) -> None:
        self.folder = Path(folder)
        self.name = f"images:{self.folder}"
        self.fps = fps
        self.files: list[Path] = []
        self.index = 0

    def open(self) -> None:
        if not self.folder.is_dir():
            raise FileNotFoundError(f"image folder {self.folder} not found; give images:DIR with an existing folder")
        self.files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise ValueError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {self.folder}")
        self.index = 0

    def read(self) -> Frame | None:
        if not self.files:
            self.open()
        while self.index < len(self.files):
            path = self.files[self.index]
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            i = self.index
            self.index += 1
            if image is not None:
                return Frame(image, i)
        return None
