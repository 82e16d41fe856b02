"""Frame conversions every stage needs, with one clear error for arrays that are not images."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge.geometry import Similarity


def to_grey(frame: np.ndarray) -> np.ndarray:
    """uint8/float grey image of a BGR, BGRA or grey frame; ValueError for anything else."""
    frame = np.asarray(frame)
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[..., 0]
    if frame.ndim == 2:
        grey = frame
    elif frame.ndim == 3 and frame.shape[2] in (3, 4):
        src = frame if frame.dtype == np.uint8 else np.clip(frame, 0, 255).astype(np.uint8)
        grey = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY if frame.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    else:
        raise ValueError(f"frame of shape {frame.shape} is not an image; pass a HxW grey or HxWx3 BGR (or BGRA) array")
    if grey.size == 0 or min(grey.shape) < 2:
        raise ValueError(f"frame of shape {frame.shape} is empty; pass a real camera frame")
    return grey


@dataclass(frozen=True)
class LevelledView:
    """A region of a frame turned upright: `image`, and `to_view`, the similarity frame -> image pixels."""

    image: np.ndarray
    to_view: Similarity

    def to_frame(self) -> Similarity:
        return self.to_view.inverse()


def levelled_view(
    frame: np.ndarray, cx: float, cy: float, angle: float, width: float, height: float, scale: float = 1.0, pad: bool = False
) -> LevelledView:
    """The `width` x `height` (frame pixels) rectangle centred on (cx, cy) and turned by `angle`,
    turned back upright and resampled by `scale` (<= 1): a face rolled by `angle` stands level in it.

    Shrinking is done first on the region's axis-aligned bounds with INTER_AREA (no aliasing, and
    the turn then touches few pixels). Outside the frame the border is replicated (as the CNN's
    crops do), or black with `pad` (for a detector: a replicated edge would stretch whatever
    touches it into a shape that is not in the picture)."""
    h_img, w_img = frame.shape[:2]
    c, s = abs(np.cos(angle)), abs(np.sin(angle))
    half_x, half_y = (c * width + s * height) / 2 + 2, (s * width + c * height) / 2 + 2
    x0, y0 = int(max(np.floor(cx - half_x), 0)), int(max(np.floor(cy - half_y), 0))
    x1, y1 = int(min(np.ceil(cx + half_x), w_img)), int(min(np.ceil(cy + half_y), h_img))
    out_w, out_h = max(int(round(width * scale)), 1), max(int(round(height * scale)), 1)
    if x1 - x0 < 2 or y1 - y0 < 2:  # the region lies outside the frame
        empty = np.zeros((out_h, out_w) + frame.shape[2:], frame.dtype)
        return LevelledView(empty, Similarity(scale, 0.0, out_w / 2 - scale * cx, out_h / 2 - scale * cy))
    region = frame[y0:y1, x0:x1]
    pre = 1.0
    if scale < 0.8:
        pre = scale
        region = cv2.resize(region, None, fx=pre, fy=pre, interpolation=cv2.INTER_AREA)
    # frame -> region pixels: shift by (x0, y0), scale by pre; then turn by -angle about the centre
    turn = scale / pre
    a, b = turn * np.cos(-angle), turn * np.sin(-angle)
    off = 0.5 * pre - 0.5  # pixel centres after the resize
    rcx, rcy = (cx - x0) * pre + off, (cy - y0) * pre + off
    tx = (out_w - 1) / 2 - (a * rcx - b * rcy)
    ty = (out_h - 1) / 2 - (b * rcx + a * rcy)
    m = np.array([[a, -b, tx], [b, a, ty]], dtype=np.float64)
    border = cv2.BORDER_CONSTANT if pad else cv2.BORDER_REPLICATE
    image = cv2.warpAffine(region, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=border)
    region_from_frame = Similarity(pre, 0.0, -x0 * pre + off, -y0 * pre + off)
    return LevelledView(image, Similarity(a, b, tx, ty).compose(region_from_frame))
