"""`edgetrack train texture`: the mean face appearance for the synthetic face.

Every training face (and its mirror image, so the result is left/right symmetric) is
warped piecewise-affinely from its 68 annotated points onto the shape model's mean
shape at a fixed reference size, brightness-normalised, and averaged. Pixels a source
image did not cover (crops that cut off the forehead, say) carry zero weight, so the
average is not darkened by borders.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from convert.training_data import training_samples
from edge.data import flip_sample, load_image
from edge.landmarks68 import BROWS, JAW, interocular
from edge.paths import models_dir
from edge.shape_model import ShapeModel
from edge.synth.texture import TEXTURE_FILE, TEXTURE_IOD, TEXTURE_META, TEXTURE_SIZE, reference_points
from edge.warp import FaceMesh, extend_points, warp_region

TARGET_LUMA = 150.0  # mean brightness every face is scaled to before averaging


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, nargs="*", help="data folders (default: ../shared/data/ytf68 and 300w-train)")
    p.add_argument("--out", type=Path, default=None, help="models folder (default: models/)")
    p.add_argument("--size", type=int, default=TEXTURE_SIZE, help="texture side in pixels")
    p.add_argument("--iod", type=float, default=TEXTURE_IOD, help="outer eye-corner distance in texture pixels")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training faces (0 = all); for quick trials")
    p.add_argument("--sharpen", type=float, default=1.0, help="unsharp-mask amount: averaging blurs features the 68 points do not pin")


def _prepare(image: np.ndarray, points: np.ndarray, iod: float) -> tuple[np.ndarray, np.ndarray]:
    """Resize so the face is about the texture's size (no aliasing when remap samples it), then add
    an alpha channel with a one-pixel transparent border: replicated outward, it marks 'no data'."""
    own = float(interocular(points))
    f = 1.25 * iod / max(own, 1e-3)
    if f < 1.0:
        image = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        points = points * f
    bgra = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    bgra = cv2.copyMakeBorder(bgra, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=(0, 0, 0, 0))
    return bgra, points + 1.0


def _inner_mask(ref: np.ndarray, size: int) -> np.ndarray:
    """Cheeks, nose and eyes: where the brightness of a face is measured (no hair, no background)."""
    mask = np.zeros((size, size), np.uint8)
    hull = cv2.convexHull(np.round(ref[np.r_[JAW[2:-2], BROWS]]).astype(np.int32))  # jaw below the ears, and the brows
    cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(bool)


def build_texture(samples, size: int, iod: float, sharpen: float = 1.0, progress: bool = True) -> tuple[np.ndarray, np.ndarray, int]:
    """Average of all faces warped onto the reference shape; returns (BGR uint8 texture, reference points, n used)."""
    ref = reference_points(ShapeModel.load().mean, size, iod)
    ref_ext = extend_points(ref)
    tris = FaceMesh(ref).triangles
    inner = _inner_mask(ref, size)
    acc = np.zeros((size, size, 3), np.float64)
    wsum = np.zeros((size, size), np.float64)
    used = 0
    t0 = time.monotonic()
    for n, s in enumerate(samples):
        img = load_image(s.image_path)
        if img is None:
            continue
        for flipped in (False, True):
            im, pts = flip_sample(img, s.points) if flipped else (img, s.points)
            bgra, pts = _prepare(im, pts, iod)
            res = warp_region(bgra, extend_points(pts), ref_ext, tris, (size, size))
            h, w = res.mask.shape
            if h == 0:
                continue
            warped = res.image.astype(np.float64)
            a = (warped[..., 3] / 255.0) * (res.mask > 0)
            bgr = warped[..., :3]
            m = inner[res.y0 : res.y0 + h, res.x0 : res.x0 + w] & (a > 0.99)
            if m.sum() < 100:
                continue
            luma = bgr[m] @ np.array([0.114, 0.587, 0.299])
            gain = np.clip(TARGET_LUMA / max(luma.mean(), 1.0), 0.5, 2.5)
            acc[res.y0 : res.y0 + h, res.x0 : res.x0 + w] += bgr * (a * gain)[..., None]
            wsum[res.y0 : res.y0 + h, res.x0 : res.x0 + w] += a
        used += 1
        if progress and ((n + 1) % 250 == 0 or n + 1 == len(samples)):
            el = time.monotonic() - t0
            left = el / (n + 1) * (len(samples) - n - 1)
            print(f"  texture: {n + 1}/{len(samples)} faces, {el:.0f}s elapsed, ~{left:.0f}s left", file=sys.stderr)
    if used == 0:
        raise ValueError("no readable training images; check --data")
    covered = wsum > 1e-6
    tex = np.zeros((size, size, 3), np.float64)
    tex[covered] = acc[covered] / wsum[covered][:, None]
    tex = np.clip(tex + 0.5, 0, 255).astype(np.uint8)
    if not covered.all():  # fill corners no face reached from their neighbours
        tex = cv2.inpaint(tex, (~covered).astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)
    if sharpen > 0:
        t = tex.astype(np.float32)
        tex = np.clip(t + sharpen * (t - cv2.GaussianBlur(t, (0, 0), size / 85.0)) + 0.5, 0, 255).astype(np.uint8)
    return tex, ref, used


def main(args: argparse.Namespace) -> int:
    if args.size < 64 or args.iod <= 0 or args.iod > 0.6 * args.size:
        raise ValueError(f"--size {args.size} / --iod {args.iod}: need size >= 64 and 0 < iod <= 0.6 * size")
    samples = training_samples(args.data, "train")
    if args.limit > 0:
        samples = samples[: args.limit]
    print(f"mean face texture from {len(samples)} training faces (+ mirrors), {args.size}px, iod {args.iod:g}px", file=sys.stderr)
    tex, ref, used = build_texture(samples, args.size, args.iod, args.sharpen)
    out_dir = args.out or models_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / TEXTURE_FILE
    cv2.imwrite(str(png), tex, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    meta = {
        "what": "mean face texture for the synthetic face: BGR PNG aligned to these 68 points (texture pixels)",
        "size": args.size,
        "iod_outer_eye_corners_px": args.iod,
        "faces": used,
        "mirrored": True,
        "sharpen": args.sharpen,
        "split": "train (models/splits/*.json)",
        "rebuild": "edgetrack train texture",
        "points": np.round(ref, 3).tolist(),
    }
    (out_dir / TEXTURE_META).write_text(json.dumps(meta, indent=1) + "\n")
    print(f"saved {png} ({png.stat().st_size // 1024} KB) and {out_dir / TEXTURE_META}", file=sys.stderr)
    return 0
