"""Face swap: a donor's face, warped to each tracked face's shape and pose, colour-matched
and Poisson-blended (seamless clone) into the frame.

Poisson blending costs more than a frame's budget on a small device, so (as the seed
did) it runs only every N frames: its result minus the warped donor is a smooth
correction (the membrane that carries the frame's colour and light into the face), kept
in the donor's own coordinates, so in between it rides with the face for the price of a
warp and a feathered blend. N follows the measured cost (`every=0`, default) or is fixed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from edge.data.readers import read_pts_file
from edge.effects import parse_args, parse_float
from edge.effects.reshape import shared_model
from edge.faces import TrackedFace
from edge.landmarks68 import interocular
from edge.warp import feather, paste, triangulate, warp_region

# Landmarkers tried, best first, to find the donor's points at start-up.
DONOR_LANDMARKERS = ("cnn+clm", "cnn", "clm", "mean")
DONOR_FACE_WIDTH = 220  # px: the donor is resized so its face is about this wide (no aliasing, small warp source)


@lru_cache(maxsize=1)
def face_triangles() -> np.ndarray:
    """Triangles over the 68 points alone: they cover the face's hull (brows to chin), no forehead."""
    return triangulate(shared_model().mean * 100.0 + 200.0)


def find_donor_points(image: np.ndarray, path: str = "donor") -> np.ndarray:
    """The donor's 68 points from our detector + the best landmarker available; one-line error if no face."""
    from edge.detect import make_detector
    from edge.landmarks import make_landmarker

    boxes = make_detector("haar").detect(image, max_faces=1)
    if not boxes:  # a one-off at start-up: afford a slower, more thorough search at full resolution
        thorough = make_detector("haar", work_width=int(min(1280, max(640, image.shape[1]))), min_neighbors=3, scale_factor=1.05)
        boxes = thorough.detect(image, max_faces=1)
    if not boxes:
        raise ValueError(f"swap donor {path} has no face the detector can find; use a well-lit, frontal photo of one face")
    for name in DONOR_LANDMARKERS:
        try:
            landmarker = make_landmarker(name)
        except (ValueError, FileNotFoundError, ImportError, RuntimeError):
            continue
        return np.asarray(landmarker.fit(image, boxes[0]).points, dtype=np.float64)
    raise RuntimeError("no landmarker is available to find the donor's points; run `make models`")


def load_donor(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Donor image and its 68 points: from PATH.pts beside it when there is one (hand-checked
    points; an iBUG .pts file, 1-based like 300-W's, read by the one reader in edge.data),
    else found by our detector and landmarker."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"swap donor image {path} not found; use --effect swap:PATH_TO_A_FACE_PHOTO")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"swap donor {path} is not an image OpenCV can read; use a JPEG or PNG")
    sidecar = path.with_suffix(".pts")
    if sidecar.is_file():
        pts = read_pts_file(sidecar)
        if pts is None:
            raise ValueError(f"{sidecar} is not a 68-point iBUG .pts file ('n_points: 68' then '{{ x y ... }}', 1-based); "
                             "fix it, or remove it to find the donor's points")
        return image, pts.astype(np.float64)
    return image, find_donor_points(image, str(path))


def _lab_stats(lab: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = cv2.meanStdDev(lab, mask=mask)
    return mean.ravel().astype(np.float32), std.ravel().astype(np.float32) + 1e-3


def colour_match(src: np.ndarray, dst: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`src` recoloured so its Lab mean and spread inside `mask` match `dst`'s (Reinhard transfer)."""
    if not mask.any():
        return src
    lab = cv2.cvtColor(src, cv2.COLOR_BGR2LAB)
    ms, ss = _lab_stats(lab, mask)
    md, sd = _lab_stats(cv2.cvtColor(dst, cv2.COLOR_BGR2LAB), mask)
    scale = np.clip(sd / ss, 0.5, 2.0)  # a flat donor patch must not blow up the noise
    out = lab.astype(np.float32) * scale + (md - ms * scale)
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR)


def poisson_blend(frame: np.ndarray, region: np.ndarray, mask: np.ndarray, x0: int, y0: int, max_side: int = 80) -> np.ndarray | None:
    """Seamless clone of `region` (placed at x0, y0) into the frame's ROI, returned ROI-sized; None
    when the mask touches the frame's edge (OpenCV's solver needs a border).

    With the donor's own gradients as guidance, the clone is the donor plus a harmonic membrane
    that takes the frame's values on the mask's edge; a membrane is smooth, so it is solved on a
    crop scaled to at most `max_side` pixels and added back at full size (cost follows
    max_side, not the face's size)."""
    h, w = frame.shape[:2]
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    minx, maxx, miny, maxy = xs.min() + x0, xs.max() + x0, ys.min() + y0, ys.max() + y0
    scale = min(1.0, max_side / max(maxx - minx + 1, maxy - miny + 1))
    pad = 3 + int(math.ceil(2 / scale))
    cx0, cy0, cx1, cy1 = minx - pad, miny - pad, maxx + pad + 1, maxy + pad + 1
    if cx0 < 0 or cy0 < 0 or cx1 > w or cy1 > h:
        return None
    dst = frame[cy0:cy1, cx0:cx1]
    src = dst.copy()
    m = np.zeros(dst.shape[:2], np.uint8)
    rh, rw = mask.shape
    sy, sx = y0 - cy0, x0 - cx0
    inside = mask > 0
    src[sy : sy + rh, sx : sx + rw][inside] = region[inside]
    m[sy : sy + rh, sx : sx + rw] = mask
    if scale < 1.0:
        size = (max(8, round(src.shape[1] * scale)), max(8, round(src.shape[0] * scale)))
        src_s = cv2.resize(src, size, interpolation=cv2.INTER_AREA)
        dst_s = cv2.resize(dst, size, interpolation=cv2.INTER_AREA)
        m_s = (cv2.resize(m, size, interpolation=cv2.INTER_AREA) > 127).astype(np.uint8) * 255
        m_s[:2] = 0
        m_s[-2:] = 0
        m_s[:, :2] = 0
        m_s[:, -2:] = 0
    else:
        src_s, dst_s, m_s = src, dst, m
    my, mx = np.nonzero(m_s)
    if len(mx) == 0:
        return None
    # OpenCV places the mask's box (width = max - min) with its centre at `p`
    p = (int(mx.min() + (mx.max() - mx.min()) // 2), int(my.min() + (my.max() - my.min()) // 2))
    out_s = cv2.seamlessClone(src_s, dst_s, m_s, p, cv2.NORMAL_CLONE)
    membrane = out_s.astype(np.float32) - src_s.astype(np.float32)
    if scale < 1.0:
        membrane = cv2.resize(membrane, (src.shape[1], src.shape[0]), interpolation=cv2.INTER_LINEAR)
    out = np.clip(src.astype(np.float32) + membrane, 0, 255).astype(np.uint8)
    return out[sy : sy + rh, sx : sx + rw]


@dataclass
class _FaceState:
    correction: np.ndarray | None = None  # float32 (H, W, 3) in donor coordinates
    frames_since: int = 0


class SwapEffect:
    name = "swap"

    def __init__(self, donor: np.ndarray, donor_points: np.ndarray, every: int = 0, budget_ms: float = 15.0) -> None:
        pts = np.asarray(donor_points, dtype=np.float64)
        width = float(np.ptp(pts[:, 0]))
        if width < 8:
            raise ValueError("swap donor face is too small (under 8 px wide); use a larger photo")
        # crop around the face and resize: a small donor keeps the warp cheap and unaliased
        s = DONOR_FACE_WIDTH / width
        lo = np.maximum(pts.min(0) - 0.1 * width, 0).astype(int)
        hi = np.minimum(pts.max(0) + 0.1 * width, [donor.shape[1] - 1, donor.shape[0] - 1]).astype(int) + 1
        crop = donor[lo[1] : hi[1], lo[0] : hi[0]]
        self.donor = cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        self.donor_points = (pts - lo) * s
        self.donor_f = self.donor.astype(np.float32)
        self.every = every  # 0 = adapt to the measured cost
        self.budget_ms = budget_ms
        self.poisson_ms: float | None = None  # running estimate of the seamless clone's cost
        self.cheap_ms: float = 0.0
        self.states: dict[int, _FaceState] = {}

    def refresh_interval(self) -> int:
        """Frames between Poisson solves: 1 while it fits the budget, else enough to amortise it."""
        if self.every > 0:
            return self.every
        if self.poisson_ms is None or self.poisson_ms <= self.budget_ms:
            return 1
        spare = max(self.budget_ms - self.cheap_ms, 1.0)
        return int(min(30, math.ceil(self.poisson_ms / spare)))

    def _warp(self, image: np.ndarray, points: np.ndarray, size: tuple[int, int]):
        return warp_region(image, self.donor_points, points, face_triangles(), size)

    def apply(self, frame: np.ndarray, faces: list[TrackedFace]) -> np.ndarray:
        h, w = frame.shape[:2]
        live = set()
        for face in faces:
            live.add(face.id)
            state = self.states.setdefault(face.id, _FaceState())
            pts = np.asarray(face.points, dtype=np.float64)
            if state.correction is None or state.frames_since + 1 >= self.refresh_interval():
                if self._poisson(frame, pts, state, (w, h)):
                    continue
            t = time.perf_counter()
            self._cheap(frame, pts, state, (w, h))
            self.cheap_ms = 0.8 * self.cheap_ms + 0.2 * (time.perf_counter() - t) * 1e3
            state.frames_since += 1
        for gone in set(self.states) - live:
            del self.states[gone]
        return frame

    def _poisson(self, frame: np.ndarray, pts: np.ndarray, state: _FaceState, size: tuple[int, int]) -> bool:
        t = time.perf_counter()
        region = self._warp(self.donor, pts, size)
        if region.mask.size == 0:
            return False
        mask = cv2.erode(region.mask, np.ones((3, 3), np.uint8))
        roi = frame[region.y0 : region.y0 + mask.shape[0], region.x0 : region.x0 + mask.shape[1]]
        matched = colour_match(region.image, roi, mask)
        blended = poisson_blend(frame, matched, mask, region.x0, region.y0)
        if blended is None:
            return False
        # the cheap frames in between need the correction that turns the plain warped donor into
        # the blended face, kept in donor coordinates; when Poisson runs every frame, skip it
        state.correction = self._correction(blended, region, mask, pts) if self.refresh_interval() > 1 else None
        state.frames_since = 0
        # the membrane was solved at low resolution: a few feathered pixels hide its edge
        region.image = blended
        paste(frame, region, feather(mask, self._feather_px(pts)))
        ms = (time.perf_counter() - t) * 1e3
        self.poisson_ms = ms if self.poisson_ms is None else 0.7 * self.poisson_ms + 0.3 * ms
        return True

    def _correction(self, blended: np.ndarray, region, mask: np.ndarray, pts: np.ndarray) -> np.ndarray:
        """Donor + (blended - warped donor), warped back into donor coordinates (float32)."""
        corr = cv2.subtract(blended, region.image, dtype=cv2.CV_32F)
        corr[mask == 0] = 0
        back = warp_region(corr, pts - [region.x0, region.y0], self.donor_points, face_triangles(), self.donor.shape[1::-1])
        out = self.donor_f.copy()
        bh, bw = back.mask.shape
        if bh and bw:
            view = out[back.y0 : back.y0 + bh, back.x0 : back.x0 + bw]
            cv2.add(view, back.image, dst=view, mask=back.mask)
        return out

    def _cheap(self, frame: np.ndarray, pts: np.ndarray, state: _FaceState, size: tuple[int, int]) -> None:
        """Warp the donor (with the last Poisson correction when there is one) and feather it in."""
        if state.correction is not None:
            region = self._warp(state.correction, pts, size)
            region.image = np.clip(region.image, 0, 255)
        else:
            region = self._warp(self.donor, pts, size)
            if region.mask.size == 0:
                return
            roi = frame[region.y0 : region.y0 + region.mask.shape[0], region.x0 : region.x0 + region.mask.shape[1]]
            region.image = colour_match(region.image, roi, region.mask)
        if region.mask.size == 0:
            return
        paste(frame, region, feather(region.mask, self._feather_px(pts)))

    @staticmethod
    def _feather_px(pts: np.ndarray) -> int:
        return max(2, int(interocular(pts) / 10))


def create(args: str) -> SwapEffect:
    pos, kw = parse_args(args)
    path = kw.get("path", pos[0] if pos else "")
    if not path:
        raise ValueError("effect 'swap' needs a donor image: --effect swap:PATH_TO_A_FACE_PHOTO")
    every = int(parse_float(kw.get("every", "0"), "every", "swap"))
    budget = parse_float(kw.get("budget_ms", "15"), "budget_ms", "swap")
    image, points = load_donor(path)
    return SwapEffect(image, points, every=every, budget_ms=budget)
