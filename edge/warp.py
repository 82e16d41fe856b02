"""Piecewise-affine warping over a fixed triangulation of the 68 points plus forehead and
boundary points: one warp for the synthetic face, caricature, deformation and face swap.

The hot loop (which triangle covers each output pixel, and where that pixel comes from)
is a numba kernel that fills a remap table; OpenCV's remap does the sampling.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numba import njit

from edge.landmarks68 import BROW_ANCHORS, N_POINTS, eye_centres

N_FOREHEAD = 5
N_BOUNDARY = 8


def extend_points(points: np.ndarray, margin: float = 0.35, ring_from: np.ndarray | None = None) -> np.ndarray:
    """68 points + forehead points above the brows + a ring of boundary points around the face.

    The boundary ring is placed by the face's own size and orientation, so a warp between
    two extended shapes is the identity far from the face when the faces share a pose.
    Pass `ring_from` (the other shape of the pair) to pin the ring exactly, so a warp
    that only changes expression leaves everything outside the face untouched.
    """
    pts = np.asarray(points, dtype=np.float64)
    if ring_from is not None:
        own = extend_points(points, margin)
        own[N_POINTS + N_FOREHEAD :] = extend_points(ring_from, margin)[N_POINTS + N_FOREHEAD :]
        return own
    eye_l, eye_r = eye_centres(pts)  # image left, image right
    centre = pts.mean(0)
    across = eye_r - eye_l
    iod = max(np.linalg.norm(across), 1e-6)
    ux = across / iod
    uy = np.array([-ux[1], ux[0]])  # points down the face
    forehead = pts[BROW_ANCHORS] - uy * 0.6 * iod
    half_w = (np.abs((pts - centre) @ ux).max()) * (1 + margin)
    half_h = (np.abs((pts - centre) @ uy).max()) * (1 + margin) + 0.6 * iod
    ring = []
    for k in range(N_BOUNDARY):
        a = 2 * np.pi * k / N_BOUNDARY
        ring.append(centre + ux * np.cos(a) * half_w * 1.15 + uy * np.sin(a) * half_h * 1.15)
    return np.vstack([pts, forehead, np.asarray(ring)])


def triangulate(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles (T, 3) of a point set, as vertex indices."""
    pts = np.asarray(points, dtype=np.float64)
    lo = pts.min(0) - 10
    hi = pts.max(0) + 10
    subdiv = cv2.Subdiv2D((int(lo[0]), int(lo[1]), int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1))
    for p in pts:
        subdiv.insert((float(p[0]), float(p[1])))
    tris = []
    for t in subdiv.getTriangleList().reshape(-1, 3, 2):
        idx = [int(np.argmin(((pts - v) ** 2).sum(1))) for v in t]
        if len(set(idx)) == 3 and np.allclose(pts[idx], t, atol=1e-3):
            tris.append(idx)
    return np.asarray(tris, dtype=np.int32)


@njit(cache=True)
def _fill_maps(dst, src, tris, x0, y0, map_x, map_y):
    h, w = map_x.shape
    for t in range(tris.shape[0]):
        i, j, k = tris[t, 0], tris[t, 1], tris[t, 2]
        ax, ay = dst[i, 0], dst[i, 1]
        bx, by = dst[j, 0], dst[j, 1]
        cx, cy = dst[k, 0], dst[k, 1]
        det = (by - cy) * (ax - cx) + (cx - bx) * (ay - cy)
        if abs(det) < 1e-9:
            continue
        xmin = max(int(np.floor(min(ax, bx, cx))) - x0, 0)
        xmax = min(int(np.ceil(max(ax, bx, cx))) - x0, w - 1)
        ymin = max(int(np.floor(min(ay, by, cy))) - y0, 0)
        ymax = min(int(np.ceil(max(ay, by, cy))) - y0, h - 1)
        for yy in range(ymin, ymax + 1):
            py = yy + y0
            for xx in range(xmin, xmax + 1):
                px = xx + x0
                l1 = ((by - cy) * (px - cx) + (cx - bx) * (py - cy)) / det
                l2 = ((cy - ay) * (px - cx) + (ax - cx) * (py - cy)) / det
                l3 = 1.0 - l1 - l2
                if l1 >= -1e-6 and l2 >= -1e-6 and l3 >= -1e-6:
                    map_x[yy, xx] = l1 * src[i, 0] + l2 * src[j, 0] + l3 * src[k, 0]
                    map_y[yy, xx] = l1 * src[i, 1] + l2 * src[j, 1] + l3 * src[k, 1]


@dataclass
class WarpResult:
    image: np.ndarray  # the warped region, (h, w, C)
    mask: np.ndarray  # (h, w) uint8, 255 where a triangle covered the pixel
    x0: int
    y0: int


def warp_region(
    src_image: np.ndarray,
    src_pts: np.ndarray,
    dst_pts: np.ndarray,
    triangles: np.ndarray,
    out_size: tuple[int, int],
    clip: tuple[int, int, int, int] | None = None,
) -> WarpResult:
    """Warp `src_image` so src_pts land on dst_pts, over the dst triangles' bounding box
    clipped to an output of size (width, height) and, if given, to `clip` (x0, y0, x1, y1):
    the caller's region of interest, e.g. where its alpha is non-zero (less to fill and sample)."""
    dst = np.ascontiguousarray(dst_pts, dtype=np.float64)
    src = np.ascontiguousarray(src_pts, dtype=np.float64)
    w_out, h_out = out_size
    x0 = max(int(np.floor(dst[:, 0].min())), 0)
    y0 = max(int(np.floor(dst[:, 1].min())), 0)
    x1 = min(int(np.ceil(dst[:, 0].max())) + 1, w_out)
    y1 = min(int(np.ceil(dst[:, 1].max())) + 1, h_out)
    if clip is not None:
        x0, y0, x1, y1 = max(x0, int(clip[0])), max(y0, int(clip[1])), min(x1, int(clip[2])), min(y1, int(clip[3]))
    if x1 <= x0 or y1 <= y0:
        shape = (0, 0) + src_image.shape[2:]
        return WarpResult(np.zeros(shape, src_image.dtype), np.zeros((0, 0), np.uint8), x0, y0)
    map_x = np.full((y1 - y0, x1 - x0), -1e4, np.float32)
    map_y = np.full((y1 - y0, x1 - x0), -1e4, np.float32)
    _fill_maps(dst, src, np.ascontiguousarray(triangles, dtype=np.int32), x0, y0, map_x, map_y)
    mask = (map_x > -1e3).astype(np.uint8) * 255
    warped = cv2.remap(src_image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return WarpResult(warped, mask, x0, y0)


def paste(frame: np.ndarray, region: WarpResult, alpha: np.ndarray | None = None) -> np.ndarray:
    """Blend a warped region into `frame` in place; `alpha` (float 0..1, region-sized) defaults to its mask."""
    h, w = region.mask.shape
    if h == 0 or w == 0:
        return frame
    roi = frame[region.y0 : region.y0 + h, region.x0 : region.x0 + w]
    a = (region.mask.astype(np.float32) / 255.0) if alpha is None else alpha
    if roi.ndim == 3:
        a = a[..., None]
    blend = region.image.astype(np.float32) * a + roi.astype(np.float32) * (1 - a)
    roi[:] = (blend + 0.5).astype(frame.dtype) if frame.dtype.kind in "ui" else blend  # round only integer frames
    return frame


def feather(mask: np.ndarray, radius: int) -> np.ndarray:
    """Soft-edged alpha (0..1) from a binary mask: eroded, then blurred, so no seam shows."""
    if radius <= 0 or mask.size == 0:
        return mask.astype(np.float32) / 255.0
    k = 2 * radius + 1
    eroded = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    soft = cv2.GaussianBlur(eroded.astype(np.float32) / 255.0, (0, 0), radius / 2)
    # the blur's tail reaches past the erosion; outside the mask the warped image is undefined
    return soft * (mask > 0)


class FaceMesh:
    """The fixed triangulation of the extended 68-point face, built once from a reference shape."""

    def __init__(self, reference_shape: np.ndarray) -> None:
        ext = extend_points(reference_shape)
        self.triangles = triangulate(ext)
        self.n_points = len(ext)

    @staticmethod
    def extend(points: np.ndarray, ring_from: np.ndarray | None = None) -> np.ndarray:
        return extend_points(points, ring_from=ring_from)
