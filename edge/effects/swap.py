"""Face swap: a donor's face, warped to each tracked face's shape and pose, its colour and
light matched to the face it covers, and feathered in.

What is taken from the donor is its face alone: the jaw outline pulled in towards the face
centre by `INSET` of the inter-ocular distance (the annotated jaw sits on the very edge of
the face, where collar, neck, ears and background start) and closed over the top of the
brows (not the forehead, where hair sits). At start-up every donor pixel outside that
region is replaced by an extension of the face's own colour, so no collar or background
pixel can reach the output, not even through interpolation. On the tracked face the same
region, feathered inwards, is all that changes.

The mesh over those points is triangulated on the mean face with its mouth open, so the
inner lip contour is a mesh edge: no triangle spans the mouth, and an open mouth shows the
tracked face's own mouth (teeth, tongue) through a hole in the blend instead of donor lip
pixels stretched across it.

Colour and light: a low-frequency gain map. Inside the skin (the face region less eyes,
brows, nostrils and mouth) the tracked face, sampled into the donor's coordinates, and the
donor are each blurred (normalised convolution, so only skin is averaged); their ratio,
per channel, carries the tracked face's tone and lighting (a light from one side, a camera's
colour cast) onto the donor while the donor keeps its own detail. The old blend (Reinhard
transfer over the whole hull, then a Poisson clone whose boundary lay on the jaw edge)
pulled background and collar colour into the face and turned it grey-blue.

The gain map is measured every N frames (`every=N`; `every=0`, the default, re-measures every
frame while that fits `budget_ms`, else as often as the budget allows); in between, the
recoloured donor (kept in its own coordinates) rides with the face for the price of a warp.
"""

from __future__ import annotations

import logging
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
from edge.landmarks68 import (
    BROWS,
    EYES,
    INNER_LIP_PAIRS,
    JAW,
    LEFT_EYE,
    LOWER_INNER_LIP,
    MOUTH_INNER,
    MOUTH_OUTER,
    NOSE,
    NOSTRILS,
    OUTER_EYE_LEFT,
    OUTER_EYE_RIGHT,
    RIGHT_EYE,
    UPPER_INNER_LIP,
    interocular,
)
from edge.warp import feather, paste, triangulate, warp_region

log = logging.getLogger(__name__)

DONOR_FACE_WIDTH = 220  # px: the donor is resized so its face is about this wide (no aliasing, small warp source)
INSET = 0.08  # the jaw outline is pulled in by this share of the inter-ocular distance
FEATHER = 0.07  # the blend fades in over this share of the inter-ocular distance, inside the region
GAIN_SIGMA = 0.22  # the gain map's blur, as a share of the inter-ocular distance
GAIN_LIMITS = (0.08, 12.0)  # beyond these a ratio is a black shadow or a blown highlight, not skin tone
SKIN_LIKE = (0.4, 2.0)  # pixels this much darker or brighter than the median skin are not skin (beard, brows, shine)
PRIOR = 0.05  # weight of the median skin colour in the local tone (where little skin is near)
GAIN_SCALE = 4  # the gain map is measured at 1/4 of the donor's resolution (it is smooth)
_FACE_CENTRE = np.concatenate([NOSE, EYES])  # what the jaw is pulled towards
UPPER_LIP = MOUTH_OUTER[1:6]  # the outer upper lip between the corners
LOWER_LIP = MOUTH_OUTER[7:]  # the outer lower lip between the corners


def face_points(points: np.ndarray, inset: float = INSET, lift: float = FEATHER) -> np.ndarray:
    """The 68 points with the jaw pulled in towards the face centre by `inset` inter-ocular
    distances and the brows lifted by `lift` (so the donor's brows are whole and the fade lies on
    skin): the mesh the swap warps over."""
    pts = np.array(points, dtype=np.float64)
    iod = float(interocular(pts))
    towards = pts[_FACE_CENTRE].mean(0) - pts[JAW]
    towards /= np.maximum(np.linalg.norm(towards, axis=1, keepdims=True), 1e-9)
    pts[JAW] += inset * iod * towards
    across = pts[OUTER_EYE_RIGHT] - pts[OUTER_EYE_LEFT]
    up = np.array([across[1], -across[0]]) / max(iod, 1e-9)
    pts[BROWS] += lift * iod * up
    return pts


def _open_mouth(shape: np.ndarray, by: float = 0.08) -> np.ndarray:
    """`shape` with its lips parted (upper lip up, lower lip down by `by` inter-ocular distances):
    Delaunay on the mean face's nearly closed mouth joins upper to lower lip across the mouth's
    corners (the triangles that smeared the lip when the mouth opened); on parted lips every inner
    and outer lip edge is a mesh edge."""
    s = shape.copy()
    d = by * float(interocular(s))
    s[np.concatenate([UPPER_LIP, UPPER_INNER_LIP]), 1] -= d
    s[np.concatenate([LOWER_LIP, LOWER_INNER_LIP]), 1] += d
    return s


@lru_cache(maxsize=1)
def face_triangles() -> np.ndarray:
    """Triangles over `face_points` (T, 3), built once on the mean face with parted lips."""
    return triangulate(_open_mouth(face_points(shared_model().mean * 100.0 + 200.0)))


@lru_cache(maxsize=1)
def outline_indices() -> np.ndarray:
    """The mesh's boundary as a closed loop of point indices (edges used by one triangle only)."""
    count: dict[tuple[int, int], int] = {}
    for tri in face_triangles().tolist():
        for a, b in ((tri[0], tri[1]), (tri[1], tri[2]), (tri[2], tri[0])):
            key = (min(a, b), max(a, b))
            count[key] = count.get(key, 0) + 1
    nxt: dict[int, list[int]] = {}
    for a, b in (e for e, n in count.items() if n == 1):
        nxt.setdefault(a, []).append(b)
        nxt.setdefault(b, []).append(a)
    loop = [min(nxt)]
    prev = -1
    while True:
        step = next(v for v in nxt[loop[-1]] if v != prev)
        if step == loop[0]:
            return np.asarray(loop, dtype=np.int64)
        prev = loop[-1]
        loop.append(step)


def face_outline(points: np.ndarray) -> np.ndarray:
    """The swapped region's outline (K, 2): the pulled-in jaw and the brows' top. Nothing of
    the donor outside it is used; nothing of the tracked face outside it changes."""
    return face_points(points)[outline_indices()]


def polygon_mask(shape: tuple[int, ...], poly: np.ndarray, offset=(0, 0)) -> np.ndarray:
    """uint8 mask (h, w) of a filled polygon given in pixel coordinates (minus `offset`)."""
    m = np.zeros(shape[:2], np.uint8)
    p = np.round((np.asarray(poly, np.float64) - offset) * 16).astype(np.int32)
    cv2.fillPoly(m, [p], 255, cv2.LINE_8, 4)
    return m


def skin_mask(shape: tuple[int, ...], points: np.ndarray) -> np.ndarray:
    """The face region less the eyes, brows, nostrils and mouth (dilated): where tone is measured."""
    fp = face_points(points)
    iod = float(interocular(fp))
    m = polygon_mask(shape, face_outline(points))
    features = np.zeros_like(m)
    for group in (RIGHT_EYE, LEFT_EYE, MOUTH_OUTER, NOSTRILS):
        features = np.maximum(features, polygon_mask(shape, cv2.convexHull(fp[group].astype(np.float32)).reshape(-1, 2)))
    for brow in (BROWS[:5], BROWS[5:]):
        cv2.polylines(features, [np.round(points[brow]).astype(np.int32)], False, 255, max(2, round(0.12 * iod)))
    k = 2 * max(1, round(0.08 * iod)) + 1
    features = cv2.dilate(features, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return cv2.bitwise_and(m, cv2.bitwise_not(features))


def find_donor_points(image: np.ndarray, path: str = "donor") -> np.ndarray:
    """The donor's 68 points from our detector + the best landmarker available (`--landmarker auto`'s pick, said
    in one line); one-line error if no face."""
    from edge.detect import make_detector
    from edge.tracking.pick import pick_landmarker

    boxes = make_detector("haar").detect(image, max_faces=1)
    if not boxes:  # a one-off at start-up: afford a slower, more thorough search at full resolution
        thorough = make_detector("haar", work_width=int(min(1280, max(640, image.shape[1]))), min_neighbors=3, scale_factor=1.05)
        boxes = thorough.detect(image, max_faces=1)
    if not boxes:
        raise ValueError(f"swap donor {path} has no face the detector can find; use a well-lit, frontal photo of one face")
    landmarker, why = pick_landmarker("auto")
    log.info(f"swap donor {path}: {why}")
    return np.asarray(landmarker.fit(image, boxes[0]).points, dtype=np.float64)


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


def masked_blur(image: np.ndarray, mask: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Normalised convolution: the blur of `image` over `mask` alone (float32), and the blurred
    mask (how much of the neighbourhood was measured)."""
    m = (mask > 0).astype(np.float32)
    den = cv2.GaussianBlur(m, (0, 0), sigma)
    num = cv2.GaussianBlur(image.astype(np.float32) * m[..., None], (0, 0), sigma)
    return num / np.maximum(den, 1e-6)[..., None], den


def skin_tone(image: np.ndarray, skin: np.ndarray, sigma: float) -> np.ndarray:
    """A face's local skin tone (h, w, 3 float32): the blur of its skin-like pixels inside `skin`
    (not much darker or brighter than the median skin: no beard, brows, nostrils or shine), per
    channel, leaning on the median skin colour where little skin was seen nearby."""
    inside = skin > 0
    median = np.median(image[inside].reshape(-1, 3), axis=0).astype(np.float32)
    y = image.astype(np.float32).mean(2)
    level = max(float(median.mean()), 1.0)
    m = (inside & (y > SKIN_LIKE[0] * level) & (y < SKIN_LIKE[1] * level)).astype(np.float32)
    num = cv2.GaussianBlur(image.astype(np.float32) * m[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(m, (0, 0), sigma)[..., None]
    return (num + PRIOR * median) / (den + PRIOR)


def extend_face(image: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """`image` with every pixel outside `mask` replaced by the face's own colour carried outwards
    (a masked blur, falling back to the face's mean far away): nothing outside survives."""
    inside = mask > 0
    if not inside.any():
        return image.copy()
    near, weight = masked_blur(image, mask, sigma)
    far = image[inside].astype(np.float32).mean(0)
    ext = np.where((weight > 1e-3)[..., None], near, far)
    out = image.copy()
    out[~inside] = np.clip(ext[~inside] + 0.5, 0, 255).astype(image.dtype)
    return out


@dataclass
class _FaceState:
    recoloured: np.ndarray | None = None  # the donor with the gain applied (float32, donor coordinates)
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
        # the donor's face alone: outside its region only the face's own colour, carried outwards
        # (before resizing too, so no pixel from outside is mixed in at the region's edge)
        iod = float(interocular(pts)) * s
        crop = extend_face(crop, polygon_mask(crop.shape, face_outline(pts - lo)), max(2.0, 0.05 * iod / s))
        small = cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        points = (pts - lo) * s
        self.donor_points = face_points(points)
        self.donor = extend_face(small, polygon_mask(small.shape, face_outline(points)), max(2.0, 0.05 * iod))
        self.donor_f = self.donor.astype(np.float32)
        # the gain map is measured at 1/GAIN_SCALE of the donor's resolution: its points, skin and pixels there
        self.low_size = (max(8, small.shape[1] // GAIN_SCALE), max(8, small.shape[0] // GAIN_SCALE))
        self.low_scale = np.array([self.low_size[0] / small.shape[1], self.low_size[1] / small.shape[0]])
        self.low_points = self.donor_points * self.low_scale
        self.low_skin = skin_mask(self.low_size[::-1], points * self.low_scale)
        self.gain_sigma = max(1.0, GAIN_SIGMA * iod / GAIN_SCALE)
        self.donor_low = cv2.resize(self.donor, self.low_size, interpolation=cv2.INTER_AREA)
        self.every = every  # 0 = adapt to the measured cost
        self.budget_ms = budget_ms
        self.match_ms: float | None = None  # running estimate of measuring the gain map
        self._warm = False
        self.cheap_ms: float = 0.0
        self.states: dict[int, _FaceState] = {}

    def refresh_interval(self) -> int:
        """Frames between gain measurements: 1 while it fits the budget, else enough to amortise it."""
        if self.every > 0:
            return self.every
        if self.match_ms is None or self.match_ms <= self.budget_ms:
            return 1
        spare = max(self.budget_ms - self.cheap_ms, 1.0)
        return int(min(30, math.ceil(self.match_ms / spare)))

    def gain(self, frame: np.ndarray, points: np.ndarray) -> np.ndarray:
        """The low-frequency gain (float32, donor size, 3 channels) that gives the donor the tracked
        face's skin tone and lighting: blurred face skin / blurred donor skin, per channel."""
        h, w = frame.shape[:2]
        fp = face_points(points)
        # the face's box of the frame, with a 4th channel saying which pixels the frame has
        x0, y0 = np.floor(fp.min(0)).astype(int) - 2
        x1, y1 = np.ceil(fp.max(0)).astype(int) + 3
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if cx1 <= cx0 or cy1 <= cy0:
            return np.ones(self.donor.shape, np.float32)
        roi = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
        roi[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0, :3] = frame[cy0:cy1, cx0:cx1]
        roi[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0, 3] = 255
        # sampled into the donor's (low-resolution) coordinates, feature onto feature
        back = warp_region(roi, fp - (x0, y0), self.low_points, face_triangles(), self.low_size)
        skin = np.zeros(self.low_size[::-1], np.uint8)
        target = np.zeros(self.low_size[::-1] + (3,), np.uint8)
        bh, bw = back.mask.shape
        if bh and bw:
            view = (slice(back.y0, back.y0 + bh), slice(back.x0, back.x0 + bw))
            seen = (back.mask > 0) & (back.image[..., 3] == 255)  # a face half out of the frame: its half inside
            skin[view] = np.where(seen, self.low_skin[view], 0)
            target[view] = back.image[..., :3]
        if cv2.countNonZero(skin) < 4:
            return np.ones(self.donor.shape, np.float32)
        tone = skin_tone(target, skin, self.gain_sigma)
        donor_tone = skin_tone(self.donor_low, skin, self.gain_sigma)
        gain = np.clip(tone / np.maximum(donor_tone, 1.0), *GAIN_LIMITS)
        return cv2.resize(gain, self.donor.shape[1::-1], interpolation=cv2.INTER_LINEAR)

    def apply(self, frame: np.ndarray, faces: list[TrackedFace]) -> np.ndarray:
        live = set()
        for face in faces:
            live.add(face.id)
            state = self.states.setdefault(face.id, _FaceState())
            pts = np.asarray(face.points, dtype=np.float64)
            if state.recoloured is None or state.frames_since + 1 >= self.refresh_interval():
                t = time.perf_counter()
                state.recoloured = self.donor_f * self.gain(frame, pts)
                state.frames_since = 0
                ms = (time.perf_counter() - t) * 1e3
                if self._warm:  # the first call pays one-off costs (compiled kernels loading): not a measure
                    self.match_ms = ms if self.match_ms is None else 0.7 * self.match_ms + 0.3 * ms
                self._warm = True
            else:
                state.frames_since += 1
            t = time.perf_counter()
            self.blend(frame, pts, state.recoloured)
            self.cheap_ms = 0.8 * self.cheap_ms + 0.2 * (time.perf_counter() - t) * 1e3
        for gone in set(self.states) - live:
            del self.states[gone]
        return frame

    def blend(self, frame: np.ndarray, points: np.ndarray, recoloured: np.ndarray) -> None:
        """Warp the recoloured donor onto the face and feather it in, the open mouth left as it is."""
        h, w = frame.shape[:2]
        fp = face_points(points)
        region = warp_region(recoloured, self.donor_points, fp, face_triangles(), (w, h))
        rh, rw = region.mask.shape
        if rh == 0 or rw == 0:
            return
        region.image = np.clip(region.image, 0, 255)
        iod = float(interocular(fp))
        alpha = feather(region.mask, max(2, round(FEATHER * iod)))
        # the mouth's inside stays the tracked face's own (a closed mouth leaves no hole)
        gap = float(np.linalg.norm(fp[INNER_LIP_PAIRS[:, 0]] - fp[INNER_LIP_PAIRS[:, 1]], axis=1).mean()) / iod
        opening = float(np.clip((gap - 0.02) / 0.04, 0.0, 1.0))  # fades in: a closed mouth's lip line stays the donor's
        if opening > 0:
            mouth = polygon_mask((rh, rw), fp[MOUTH_INNER], offset=(region.x0, region.y0))
            soft = cv2.GaussianBlur(mouth.astype(np.float32) / 255.0, (0, 0), max(0.6, 0.015 * iod))
            alpha *= 1.0 - opening * soft
        paste(frame, region, alpha)


def create(args: str) -> SwapEffect:
    pos, kw = parse_args(args)
    path = kw.get("path", pos[0] if pos else "")
    if not path:
        raise ValueError("effect 'swap' needs a donor image: --effect swap:PATH_TO_A_FACE_PHOTO")
    every = int(parse_float(kw.get("every", "0"), "every", "swap"))
    budget = parse_float(kw.get("budget_ms", "15"), "budget_ms", "swap")
    image, points = load_donor(path)
    return SwapEffect(image, points, every=every, budget_ms=budget)
