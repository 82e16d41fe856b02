"""Search windows cut from annotated faces exactly as the runtime cuts them, plus where the truth lies.

For every face (and its mirror image) the reference frame is jittered in rotation and
scale, as a half-converged fit would leave it, and each landmark's window is centred a
random whole number of pixels away from the truth, so the positive patch can sit
anywhere a runtime window would put it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from edge.clm.preprocessing import sample_windows, to_grey, working_image
from edge.data import FaceSample, flip_sample, load_image
from edge.geometry import Similarity, fit_similarity
from edge.shape_model import ShapeModel


@dataclass
class WindowSet:
    windows: np.ndarray  # (N, 68, W, W) uint8
    offsets: np.ndarray  # (N, 68, 2) int8: window centre - truth, reference pixels (x, y)

    def __len__(self) -> int:
        return len(self.windows)


def grey_faces(samples: list[FaceSample], what: str, progress: bool = True) -> Iterator[tuple[FaceSample, np.ndarray]]:
    """Each readable face with its grey image (unreadable ones skipped), with a progress line every 1,000."""
    t0 = time.perf_counter()
    for idx, sample in enumerate(samples):
        image = load_image(sample.image_path)
        if image is not None:
            yield sample, to_grey(image)
        if progress and (idx + 1) % 1000 == 0:
            print(f"  {what}: {idx + 1}/{len(samples)} faces ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)


def ref_to_image(shape: ShapeModel, points: np.ndarray, ref_scale: float, rot: float = 0.0, scale: float = 1.0) -> Similarity:
    """Reference frame (model * ref_scale) -> image, from the truth's similarity, rotated/scaled by the jitter."""
    s = fit_similarity(shape.mean, points)
    c, sn = np.cos(rot) * scale / ref_scale, np.sin(rot) * scale / ref_scale
    return s.compose(Similarity(c, sn, 0.0, 0.0))


def face_windows(
    grey: np.ndarray,
    points: np.ndarray,
    shape: ShapeModel,
    ref_scale: float,
    window: int,
    offsets: np.ndarray,
    rot: float = 0.0,
    scale: float = 1.0,
) -> np.ndarray:
    """(68, W, W) float windows of one face, window k centred `offsets[k]` reference pixels from point k."""
    a = ref_to_image(shape, np.asarray(points, dtype=np.float64), ref_scale, rot, scale)
    half_extent = float(np.abs(shape.mean).max() * ref_scale + window / 2 + np.abs(offsets).max() + 2)
    work, to_work = working_image(grey, a, half_extent)
    m = to_work.compose(a)
    truth = a.inverse().apply(np.asarray(points, dtype=np.float64))
    return sample_windows(work, m.a, m.b, m.tx, m.ty, truth + offsets, window)


def collect_windows(
    samples: list[FaceSample],
    shape: ShapeModel,
    ref_scale: float,
    window: int,
    max_offset: int,
    augment: int = 2,
    rot_deg: float = 10.0,
    scale_jitter: float = 0.08,
    seed: int = 0,
    progress: bool = True,
) -> WindowSet:
    """`augment` draws per face (odd draws mirrored)."""
    rng = np.random.default_rng(seed)
    n_pts = shape.n_points
    wins, offs = [], []
    for sample, grey0 in grey_faces(samples, "windows", progress):
        for d in range(augment):
            grey, pts = flip_sample(grey0, sample.points) if d % 2 else (grey0, sample.points)
            rot = np.deg2rad(rng.uniform(-rot_deg, rot_deg)) if d else 0.0
            scl = float(np.exp(rng.uniform(-scale_jitter, scale_jitter))) if d else 1.0
            off = rng.integers(-max_offset, max_offset + 1, size=(n_pts, 2))
            w = face_windows(grey, pts, shape, ref_scale, window, off, rot, scl)
            wins.append(np.clip(np.round(w), 0, 255).astype(np.uint8))
            offs.append(off.astype(np.int8))
    return WindowSet(np.stack(wins), np.stack(offs))
