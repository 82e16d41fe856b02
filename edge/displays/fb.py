"""`fb`: the Linux framebuffer (/dev/fbN), at whatever bit depth the device reports.

The geometry comes from sysfs (/sys/class/graphics/fbN/{virtual_size,bits_per_pixel,stride});
tests pass a geometry of their own and a regular file of the same size. Frames are scaled
to fit (aspect kept, black bars) and converted once into the device's pixel format:
8 bpp grey, 16 bpp RGB565, 24 bpp BGR, 32 bpp BGRX (little-endian XRGB8888).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.displays.base import Display
from edge.displays.overlay import to_bgr


@dataclass(frozen=True)
class FbGeometry:
    width: int
    height: int
    bpp: int
    stride: int  # bytes per line (may exceed width * bpp / 8)

    def __post_init__(self) -> None:
        if self.bpp not in (8, 16, 24, 32):
            raise ValueError(f"framebuffer bit depth {self.bpp} is not supported; use 8, 16, 24 or 32 bpp (fbset -depth 32)")
        if self.stride < self.width * self.bpp // 8:
            raise ValueError(f"framebuffer stride {self.stride} is shorter than a line of {self.width} pixels at {self.bpp} bpp")


def read_geometry(device: str | Path, sysfs_root: str | Path = "/sys/class/graphics") -> FbGeometry:
    """Geometry of /dev/fbN from sysfs (virtual_size is 'W,H'; stride may be absent on old kernels)."""
    name = Path(device).name
    d = Path(sysfs_root) / name
    try:
        w, h = (int(v) for v in (d / "virtual_size").read_text().strip().split(","))
        bpp = int((d / "bits_per_pixel").read_text().strip())
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"cannot read the geometry of {device} from {d} ({exc}); is it a framebuffer device?") from None
    stride_file = d / "stride"
    stride = int(stride_file.read_text().strip()) if stride_file.is_file() else w * bpp // 8
    return FbGeometry(w, h, bpp, stride)


def convert(image: np.ndarray, bpp: int) -> np.ndarray:
    """BGR (or grey) uint8 image -> (h, w, bpp/8) uint8 in the framebuffer's byte order."""
    bgr = to_bgr(image)
    if bpp == 32:
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    if bpp == 24:
        return bgr
    if bpp == 16:
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2BGR565)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)[..., None]


class FramebufferDisplay(Display):
    name = "fb"

    def __init__(self, device: str | Path = "/dev/fb0", geometry: FbGeometry | None = None, sysfs_root: str | Path = "/sys/class/graphics"):
        self.device = Path(device)
        self.where = str(self.device)
        self.geometry = geometry
        self.sysfs_root = sysfs_root
        self.mem: np.memmap | None = None
        self._fit: tuple[int, int, int, int] | None = None  # x, y, w, h of the picture on screen
        self._src_size: tuple[int, int] | None = None

    def open(self, width: int = 640, height: int = 480, fps: float = 30.0) -> None:
        if self.geometry is None:
            self.geometry = read_geometry(self.device, self.sysfs_root)
        g = self.geometry
        if not self.device.exists():
            raise FileNotFoundError(f"framebuffer {self.device} not found; pick --display sdl/http or --fb-device")
        if not os.access(self.device, os.W_OK):
            raise PermissionError(f"cannot write {self.device}; add the user to the video group")
        self.mem = np.memmap(self.device, dtype=np.uint8, mode="r+", shape=(g.height, g.stride))
        self.mem[:] = 0  # black bars

    def _layout(self, w: int, h: int) -> tuple[int, int, int, int]:
        g = self.geometry
        s = min(g.width / w, g.height / h)
        ow, oh = max(1, int(w * s)), max(1, int(h * s))
        return (g.width - ow) // 2, (g.height - oh) // 2, ow, oh

    def show(self, image: np.ndarray) -> None:
        g = self.geometry
        h, w = image.shape[:2]
        if self._src_size != (w, h):
            self._src_size = (w, h)
            self._fit = self._layout(w, h)
            self.mem[:] = 0
        x, y, ow, oh = self._fit
        if (ow, oh) != (w, h):
            image = cv2.resize(image, (ow, oh), interpolation=cv2.INTER_LINEAR)
        px = convert(image, g.bpp)
        bytes_pp = g.bpp // 8
        view = self.mem[y : y + oh, x * bytes_pp : (x + ow) * bytes_pp]
        view[:] = px.reshape(oh, ow * bytes_pp)

    def close(self) -> None:
        if self.mem is not None:
            self.mem.flush()
            del self.mem
            self.mem = None
