"""Median milliseconds of each exported CNN variant: one inference (1 and 2 threads) and one tracked face.

`python -m convert.cnn.speed [models_dir] [--runs N]`: times `TFLiteModel.run` on a real-size
input (quantisation included), after a warm-up, and `CnnLandmarker.track` on a 640x480 frame
with 1 thread: everything a tracked frame costs per face (the levelled crop, the look and its
mirror, decoding, the shape score). Prints a table (and JSON with --json).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edge.inference import TFLiteModel
from edge.paths import models_dir


def _median_call_ms(call: Callable[[], object], runs: int, warmup: int) -> float:
    """Median milliseconds of `call()` over `runs` calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        call()
    times = np.empty(runs)
    for i in range(runs):
        t0 = time.perf_counter()
        call()
        times[i] = time.perf_counter() - t0
    return float(np.median(times) * 1e3)


def median_ms(path: Path | str, threads: int, runs: int = 300, warmup: int = 30) -> float:
    m = TFLiteModel(path, num_threads=threads)
    x = np.random.default_rng(0).uniform(-1, 1, m.input_shape).astype(np.float32)
    return _median_call_ms(lambda: m.run(x), runs, warmup)


def track_ms(path: Path | str, runs: int = 300, warmup: int = 30) -> float:
    """Median ms of one `CnnLandmarker.track` call (1 thread) on a 640x480 frame with a face-sized previous shape."""
    from edge.landmarks.cnn import CnnLandmarker
    from edge.shape_model import ShapeModel

    lm = CnnLandmarker(path, num_threads=1)
    frame = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    mean = ShapeModel.load().mean
    prev = (mean - mean.mean(0)) / np.ptp(mean[:, 0]) * 160 + [320, 240]
    return _median_call_ms(lambda: lm.track(frame, prev), runs, warmup)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", nargs="?", type=Path, default=None)
    p.add_argument("--stem", default="cnn_landmarks")
    p.add_argument("--runs", type=int, default=300)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    folder = args.folder or models_dir()
    result: dict[str, dict[str, float]] = {}
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'variant':<8} {'KB':>7} {'1 thread ms':>12} {'2 threads ms':>13} {'tracked face ms (1 thread)':>27}")
    for variant in ("int8", "float16", "float32"):
        path = folder / f"{args.stem}_{variant}.tflite"
        if not path.is_file():
            continue
        r = {"kb": round(path.stat().st_size / 1024, 1)}
        for threads in (1, 2):
            r[f"ms_{threads}t"] = round(median_ms(path, threads, args.runs), 3)
        r["track_ms_1t"] = round(track_ms(path, args.runs), 3)
        result[variant] = r
        print(f"{variant:<8} {r['kb']:>7.1f} {r['ms_1t']:>12.3f} {r['ms_2t']:>13.3f} {r['track_ms_1t']:>27.3f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
