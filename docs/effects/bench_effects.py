"""Per-face cost of each effect on the synthetic face's ground-truth points (no tracking),
wall and CPU time, one OpenCV thread: the effect's own cost at a given face size.

    .venv/bin/python docs/effects/bench_effects.py [WIDTH HEIGHT]   (default 640 480)

`edgetrack bench --source synthetic --effect NAME` is the end-to-end figure; this one
isolates the effect and shows how it grows with the face (the synthetic face scales
with the frame).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np

from edge.effects import make_effect
from edge.faces import TrackedFace
from edge.synth import SyntheticFace

DONOR = Path(__file__).resolve().parent / "donor.png"
SPECS = ["caricature", "deform:smile", f"swap:{DONOR}", f"swap:{DONOR},every=1", "mask:glasses", "landmarks", "signals"]


def main() -> None:
    cv2.setNumThreads(1)
    w, h = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) == 3 else (640, 480)
    synth = SyntheticFace(w, h, seed=0)
    frames = [synth.render(i) for i in range(0, 200, 2)]
    widths = [np.ptp(t[0].points[:, 0]) for _, t in frames if t]
    print(f"{w}x{h}, face width median {np.median(widths):.0f} px, {len(frames)} frames")
    for spec in SPECS:
        effect = make_effect(spec)
        wall, cpu = [], []
        for rep in range(2):  # the first pass warms caches (numba, the swap's cost estimate)
            for frame, truths in frames:
                faces = [TrackedFace(t.id, t.points, 1.0) for t in truths]
                if not faces:
                    continue
                img = frame.copy()
                c0, t0 = time.process_time(), time.perf_counter()
                effect.apply(img, faces)
                if rep:
                    wall.append((time.perf_counter() - t0) * 1e3 / len(faces))
                    cpu.append((time.process_time() - c0) * 1e3 / len(faces))
        name = spec.replace(str(DONOR), "donor.png")
        print(f"{name:26s} wall median {np.median(wall):6.2f} p95 {np.percentile(wall, 95):6.2f} | "
              f"cpu median {np.median(cpu):6.2f} p95 {np.percentile(cpu, 95):6.2f}  ms per face")


if __name__ == "__main__":
    main()
