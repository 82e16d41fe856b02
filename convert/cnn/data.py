"""Face crops held in memory, and the augmentation that makes training crops look like run-time crops.

Each face is cached once as a grey square around its landmark box with room to spare
(`CACHE_MARGIN` times the run-time crop, at the run-time pixel scale), so an epoch
costs one small warp per face. The augmentation then reproduces the two ways the
runtime frames a face (edge/cnn/crop.py):

* detector mode: the face turned in the image, an upright crop from a landmark box that
  is off in centre and size as a Haar box through `BoxMapping` is;
* tracking mode: the rotation-normalised crop from the previous frame's points, which
  are off by the motion and the error of the last fit;

then degrades the pixels: colour/contrast, blur, noise, low resolution, occlusion.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import cv2
import numpy as np

from edge.cnn.crop import CropSpec, crop_from_box, crop_from_points, warp_crop
from edge.cnn.styles import DEFAULT_STYLE, STYLES, style_of_folder
from edge.data import FaceSample, flip_points, load_image, match_detection
from edge.data.aflw21 import flip_aflw
from edge.geometry import Box, Similarity
from edge.landmarks68 import FLIP_PERMUTATION, N_POINTS, interocular

CACHE_MARGIN = 1.6


@dataclass
class FaceCache:
    """Grey crops (n, C, C) uint8 with their points (n, 68, 2) in cache pixels; C = CACHE_MARGIN * input size.

    `box_errors` (n, 4): how the real detector's mapped box missed each face's landmark box
    (centre shift x, y in box sides; log width and height ratios), NaN where it found nothing.
    `styles` (n,): each face's annotation style, an index into edge.cnn.styles.STYLES (its output head).
    `weights` (n, 68): which of the 68 points are targets (0: the points only frame the crop: a face with
    AFLW's points alone, or a jaw point outside a KDEF photo); None: all of them.
    `aux` (n, 21, 2): AFLW's own 21 points in cache pixels (NaN: not marked), the training-only aflw21
    head's targets; None: no face has them.
    `manual` (n,): which faces carry a manual 68-point markup (not the teacher's, not another markup's); None: all.
    """

    images: np.ndarray
    points: np.ndarray
    input_size: int
    box_errors: np.ndarray | None = None
    styles: np.ndarray | None = None
    weights: np.ndarray | None = None
    aux: np.ndarray | None = None
    manual: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)


def box_error(det: Box, truth: Box) -> np.ndarray:
    side = 0.5 * (truth.w + truth.h)
    return np.array([(det.cx - truth.cx) / side, (det.cy - truth.cy) / side, np.log(det.w / truth.w), np.log(det.h / truth.h)])


def detector_box_errors(samples: list[FaceSample], progress: bool = True) -> np.ndarray:
    """(n, 4) errors of the Haar detector + BoxMapping box against each face's landmark box (NaN: not found).

    Training from these (rather than a guessed jitter) is what makes `--box detect` work:
    the mapped Haar box is off in a face-dependent way (tilted heads, beards, hair).
    """
    from edge.detect.haar import HaarDetector

    detector = HaarDetector()
    out = np.full((len(samples), 4), np.nan)
    for i, s in enumerate(samples):
        img = load_image(s.image_path)
        if img is None:
            continue
        truth = Box.around(s.points)
        det = match_detection(detector.detect(img, max_faces=5), truth)
        if det is not None:
            out[i] = box_error(det, truth)
        if progress and (i + 1) % 1000 == 0:
            print(f"  detected {i + 1}/{len(samples)} faces", file=sys.stderr)
    return out


def sample_style(sample: FaceSample) -> int:
    """Head index of a face's annotators, from its data folder's name (images/ sits inside it)."""
    folder = sample.image_path.parent.parent if sample.image_path.parent.name == "images" else sample.image_path.parent
    style = style_of_folder(folder)
    return STYLES.index(style) if style is not None else STYLES.index(DEFAULT_STYLE)


def build_cache(samples: list[FaceSample], input_size: int, progress: bool = True, box_errors: np.ndarray | None = None) -> FaceCache:
    c = int(round(CACHE_MARGIN * input_size))
    images = np.zeros((len(samples), c, c), np.uint8)
    points = np.zeros((len(samples), N_POINTS, 2), np.float32)
    styles = np.array([sample_style(s) for s in samples], np.int64)
    keep = np.ones(len(samples), bool)
    for i, s in enumerate(samples):
        img = load_image(s.image_path)
        if img is None:
            print(f"{s.image_path}: unreadable, left out", file=sys.stderr)
            keep[i] = False
            continue
        base = crop_from_box(Box.around(s.points))
        spec = CropSpec(base.cx, base.cy, base.side * CACHE_MARGIN, 0.0)
        images[i] = warp_crop(img, spec, c)
        points[i] = spec.to_crop(c).apply(s.points.astype(np.float64))
        if progress and (i + 1) % 1000 == 0:
            print(f"  cached {i + 1}/{len(samples)} faces", file=sys.stderr)
    return FaceCache(images[keep], points[keep], input_size, None if box_errors is None else box_errors[keep], styles[keep])


def _rotation_about(angle: float, cx: float, cy: float) -> Similarity:
    a, b = np.cos(angle), np.sin(angle)
    return Similarity(float(a), float(b), float(cx - a * cx + b * cy), float(cy - b * cx - a * cy))


@dataclass(frozen=True)
class Augment:
    """Strengths of each augmentation; the defaults are what the runtime's detector and tracker produce."""

    p_flip: float = 0.5
    p_tracking: float = 0.35  # share of crops made the tracker's way
    p_big_rotation: float = 0.3  # detector mode: share with a face turned up to max_rotation in the image
    p_own_box: float = 0.6  # detector mode: this face's real detector box error, else one drawn from all faces
    max_rotation_deg: float = 35.0
    small_rotation_deg: float = 6.0
    box_shift: float = 0.07  # detector box centre error, sd in units of the box side
    box_scale: float = 0.10  # sd of log(box side ratio)
    box_aspect: float = 0.05
    track_shift: float = 0.04  # previous points' error, sd in box sides
    track_point_noise: float = 0.02
    p_lowres: float = 0.25
    p_blur: float = 0.2
    p_noise: float = 0.3
    p_occlusion: float = 0.25


def _crop_transform(
    pts: np.ndarray, size: int, rng: np.random.Generator, aug: Augment, own_error: np.ndarray | None = None, pool: np.ndarray | None = None
) -> Similarity:
    """Similarity from cache pixels to the training crop, drawn as the runtime would frame the face.

    Detector mode uses a real detector box error (this face's, or another face's) when the
    cache has them, plus a little extra jitter; otherwise the Gaussian jitter of `aug`.
    """
    centre = pts.mean(0)
    if rng.random() < aug.p_tracking:
        side = float(np.ptp(pts, axis=0).mean())
        prev = pts + rng.normal(0, aug.track_shift * side, 2) + rng.normal(0, aug.track_point_noise * side, pts.shape)
        prev = (prev - centre) * np.exp(rng.normal(0, 0.04)) + centre
        spec = crop_from_points(prev)
        return spec.to_crop(size)
    deg = (
        rng.uniform(-aug.max_rotation_deg, aug.max_rotation_deg)
        if rng.random() < aug.p_big_rotation
        else rng.normal(0, aug.small_rotation_deg)
    )
    rot = _rotation_about(np.deg2rad(deg), float(centre[0]), float(centre[1]))
    box = Box.around(rot.apply(pts))
    side = 0.5 * (box.w + box.h)
    err = None
    if own_error is not None and np.isfinite(own_error[0]) and rng.random() < aug.p_own_box:
        err = own_error
    elif pool is not None and len(pool):
        err = pool[rng.integers(len(pool))]
    if err is not None:
        ex, ey, lw, lh = err + rng.normal(0, 0.02, 4)
        w, h = box.w * np.exp(lw), box.h * np.exp(lh)
        cx, cy = box.cx + ex * side, box.cy + ey * side
    else:
        w = box.w * np.exp(rng.normal(0, aug.box_scale) + rng.normal(0, aug.box_aspect))
        h = box.h * np.exp(rng.normal(0, aug.box_scale) + rng.normal(0, aug.box_aspect))
        cx = box.cx + rng.normal(0, aug.box_shift * side)
        cy = box.cy + rng.normal(0, aug.box_shift * side)
    spec = crop_from_box(Box(cx - w / 2, cy - h / 2, w, h))
    return spec.to_crop(size).compose(rot)


def _degrade(crop: np.ndarray, rng: np.random.Generator, aug: Augment, occlude: bool = True) -> np.ndarray:
    """Photometric damage of one uint8 crop; returns float32 in 0..255."""
    size = crop.shape[0]
    if rng.random() < aug.p_lowres:
        small = max(8, int(size * rng.uniform(0.25, 0.7)))
        crop = cv2.resize(cv2.resize(crop, (small, small), interpolation=cv2.INTER_AREA), (size, size), interpolation=cv2.INTER_LINEAR)
    if rng.random() < aug.p_blur:
        crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.5, 1.6))
    x = crop.astype(np.float32)
    # contrast, brightness, gamma, and a horizontal light gradient (side lighting)
    x = (x / 255.0) ** np.exp(rng.normal(0, 0.25)) * 255.0
    x = (x - 128.0) * np.exp(rng.normal(0, 0.25)) + 128.0 + rng.normal(0, 20)
    if rng.random() < 0.3:
        x += np.linspace(-1, 1, size, dtype=np.float32)[None, :] * rng.normal(0, 25)
    if rng.random() < aug.p_noise:
        x += rng.normal(0, rng.uniform(2, 12), x.shape).astype(np.float32)
    if occlude and rng.random() < aug.p_occlusion:
        ow, oh = (rng.uniform(0.15, 0.45, 2) * size).astype(int)
        ox, oy = rng.integers(0, size - ow), rng.integers(0, size - oh)
        x[oy : oy + oh, ox : ox + ow] = rng.uniform(0, 255) + rng.normal(0, rng.uniform(0, 30), (oh, ow))
    return np.clip(x, 0, 255)


def augmented_batch(cache: FaceCache, idx: np.ndarray, rng: np.random.Generator, aug: Augment) -> tuple[np.ndarray, np.ndarray]:
    """(crops (n, S, S) float32 0..255, targets (n, 136) in crop units) for cache rows `idx`."""
    b = augmented_batch_with_flips(cache, idx, rng, aug)
    return b.x, b.y


@dataclass
class Batch:
    """One augmented training batch; `weights` and `aux` are None when the cache has none."""

    x: np.ndarray  # (n, S, S) float32 0..255
    y: np.ndarray  # (n, 136) crop units
    flipped: np.ndarray  # (n,) bool: a mirrored face trains the mirror heads
    weights: np.ndarray | None = None  # (n, 68) which points are targets
    aux: np.ndarray | None = None  # (n, 42) AFLW points in crop units, NaN where not marked


def augmented_batch_with_flips(cache: FaceCache, idx: np.ndarray, rng: np.random.Generator, aug: Augment) -> Batch:
    """Crops of cache rows `idx` framed as the runtime frames faces, with their targets and which were mirrored."""
    s = cache.input_size
    c = cache.images.shape[1]
    x = np.empty((len(idx), s, s), np.float32)
    y = np.empty((len(idx), 136), np.float32)
    weights = None if cache.weights is None else cache.weights[idx].copy()
    aux = None if cache.aux is None else np.empty((len(idx), 42), np.float32)
    errors = cache.box_errors
    pool = None if errors is None else errors[np.isfinite(errors[:, 0])]
    flipped = np.zeros(len(idx), bool)
    for k, i in enumerate(idx):
        img, pts = cache.images[i], cache.points[i].astype(np.float64)
        extra = None if cache.aux is None else cache.aux[i].astype(np.float64)
        own = None if errors is None else errors[i].copy()
        if rng.random() < aug.p_flip:
            flipped[k] = True
            img, pts = img[:, ::-1], flip_points(pts, c)
            if weights is not None:
                weights[k] = weights[k][FLIP_PERMUTATION]
            if extra is not None:
                extra = flip_aflw(extra, c)
            if own is not None:
                own[0] = -own[0]  # the mirrored face's box is off the other way
        t = _crop_transform(pts, s, rng, aug, own, pool)
        crop = cv2.warpAffine(np.ascontiguousarray(img), t.matrix(), (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        x[k] = _degrade(crop, rng, aug)
        y[k] = (t.apply(pts) / (s - 1)).reshape(-1)
        if aux is not None:
            aux[k] = (t.apply(extra) / (s - 1)).reshape(-1)  # NaN stays NaN
    return Batch(x, y, flipped, weights, aux)


def plain_batch(cache: FaceCache, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Un-augmented upright crops from the ground-truth box, targets, and inter-ocular distances in crop units."""
    s = cache.input_size
    c = cache.images.shape[1]
    t = CropSpec((c - 1) / 2, (c - 1) / 2, c / CACHE_MARGIN, 0.0).to_crop(s)
    m = t.matrix()
    x = np.stack([cv2.warpAffine(cache.images[i], m, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) for i in idx])
    pts = t.apply(cache.points[idx].astype(np.float64)) / (s - 1)
    iod = interocular(pts)
    return x.astype(np.float32), pts.reshape(len(idx), -1).astype(np.float32), iod.astype(np.float32)
