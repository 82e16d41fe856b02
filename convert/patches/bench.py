"""Time and score CLM fits from a box and tracked frames on the validation split.

`python -m convert.patches.bench --data ../shared/data/ytf68 [--experts TYPE]` (until `edgetrack bench`
has a tracking mode). A tracked frame starts from the truth moved by a random similarity of the
size of inter-frame motion (shift ~3% of the face, 2 degrees, 2% scale), as the previous
frame's fit would hand it over; timings are after numba warm-up.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from convert.patches.data import face_windows
from edge.clm.preprocessing import normalise_windows, to_grey
from edge.data import load_dataset, load_image, load_or_make_split
from edge.evaluate.metrics import nme_interocular
from edge.geometry import Box, Similarity
from edge.landmarks import make_landmarker


def _moved(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    c = points.mean(0)
    size = float(np.ptp(points, 0).max())
    ang = np.deg2rad(rng.normal(0, 2.0))
    s = float(np.exp(rng.normal(0, 0.02)))
    t = rng.normal(0, 0.03 * size, 2)
    sim = Similarity(s * np.cos(ang), s * np.sin(ang), 0.0, 0.0)
    return (sim.apply(points - c) + c + t).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--backend", default="tflite", choices=["tflite", "tflite-float", "float"])
    p.add_argument("--model", default=None)
    p.add_argument("--experts", default=None, help="expert type (raw|sobel|lbp|blend|joint|mosse) instead of --model")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    samples, _ = load_dataset(args.data, quiet=True)
    samples = load_or_make_split(args.data, samples).select(samples, "val")
    if args.limit:
        samples = samples[: args.limit]
    pick = {"model_path": args.model} if args.model else {"experts": args.experts} if args.experts else {}
    lm = make_landmarker("clm", backend=args.backend, **pick)
    rng = np.random.default_rng(0)
    images = [(load_image(s.image_path), s.points.astype(np.float32)) for s in samples]
    images = [(im, pts) for im, pts in images if im is not None]
    im0, pts0 = images[0]
    for _ in range(3):  # numba / interpreter warm-up
        lm.track(im0, lm.fit(im0, Box.around(pts0)).points)
    # the window pipeline's feature step alone (68 windows, the experts' preprocessing), per response computation
    ex = lm.experts
    wins = face_windows(to_grey(im0), pts0.astype(np.float64), ex.shape, ex.levels[-1].ref_scale, ex.window, np.zeros((68, 2)))
    normalise_windows(wins, ex.preprocessing)
    t0 = time.perf_counter()
    for _ in range(500):
        normalise_windows(wins, ex.preprocessing)
    features_ms = (time.perf_counter() - t0) / 500 * 1e3
    t_box, t_track, e_box, e_track = [], [], [], []
    for im, pts in images:
        t0 = time.perf_counter()
        r = lm.fit(im, Box.around(pts))
        t_box.append(time.perf_counter() - t0)
        start = _moved(pts, rng)
        t0 = time.perf_counter()
        rt = lm.track(im, start)
        t_track.append(time.perf_counter() - t0)
        e_box.append(nme_interocular(r.points[None].astype(np.float64), pts[None].astype(np.float64))[0])
        e_track.append(nme_interocular(rt.points[None].astype(np.float64), pts[None].astype(np.float64))[0])
    out = {
        "data": str(args.data),
        "faces": len(images),
        "backend": args.backend,
        "experts": lm.experts.type,
        "box_ms_median": 1e3 * float(np.median(t_box)),
        "box_ms_p95": 1e3 * float(np.percentile(t_box, 95)),
        "track_ms_median": 1e3 * float(np.median(t_track)),
        "track_ms_p95": 1e3 * float(np.percentile(t_track, 95)),
        "box_nme_mean_pct": 100 * float(np.mean(e_box)),
        "track_nme_mean_pct": 100 * float(np.mean(e_track)),
        "features_ms_per_step": features_ms,  # a tracked frame runs 2 steps
    }
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
