"""Measure the face swap on real video: colour match, donor leakage, seam and cost (README figures).

    .venv/bin/python docs/effects/measure_swap.py                      # the swap in edge/effects/swap.py
    .venv/bin/python docs/effects/measure_swap.py --module OLD_SWAP.py # another implementation of it
        (the one before the gain map: git show 8e367ad~1:edge/effects/swap.py > /tmp/old_swap.py)

The clip (clm_changeLighting.avi, 640x480, lighting changing) is tracked by the runtime
(`edgetrack run --landmarks-out`); each donor is a 300-W photo written with its annotated
points as PHOTO.pts. Per frame:

- skin ΔE: Lab distance between the mean colour of the tracked face's skin (its jaw outline
  pulled in by 12% of the inter-ocular distance, less eyes, brows, nose and mouth) in the
  output and in the original frame;
- local ΔE: the same, on both pictures blurred by 15% of the inter-ocular distance, averaged;
- leak: output pixels that change (by more than 3 levels) when every donor pixel outside the
  donor's face region (`edge.effects.swap.face_outline`) is painted magenta: should be 0;
- seam: mean, over 30-degree sectors round the face, of the ΔE between the output just inside
  and just outside the changed region (bands 5% of the inter-ocular distance wide);
- ms: the effect's median CPU time per frame, one thread.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from edge.effects.swap import face_outline
from edge.faces import TrackedFace
from edge.landmarks68 import BROWS, EYES, JAW, MOUTH_OUTER, NOSE, interocular
from edge.paths import data_root

DONORS = ("helen_1259817140_1.jpg", "lfpw_image_0784.jpg", "helen_130625688_1.jpg")
FRAMES = (10, 30, 50, 70, 85)


def load_module(path: str | None):
    if path is None:
        import edge.effects.swap as module

        return module
    spec = importlib.util.spec_from_file_location("swap_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def write_donor(name: str, folder: Path, paint: bool = False) -> Path:
    data = data_root() / "300w-train"
    with open(data / "landmarks.csv", newline="") as f:
        row = next(r for r in csv.reader(f) if r[0] == name)
    pts = np.asarray(row[1:], dtype=np.float64).reshape(68, 2)
    image = cv2.imread(str(data / "images" / name), cv2.IMREAD_COLOR)
    if paint:
        region = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(region, [np.round(face_outline(pts) * 16).astype(np.int32)], 255, cv2.LINE_8, 4)
        image[region == 0] = (255, 0, 255)
    path = folder / (Path(name).stem + ("_painted" if paint else "") + ".png")
    cv2.imwrite(str(path), image)
    lines = ["version: 1", "n_points: 68", "{"] + [f"{x + 1:.3f} {y + 1:.3f}" for x, y in pts] + ["}"]
    path.with_suffix(".pts").write_text("\n".join(lines) + "\n")
    return path


def track(video: Path, folder: Path) -> list[np.ndarray | None]:
    out = folder / "points.jsonl"
    exe = Path(sys.executable).parent / "edgetrack"
    subprocess.run([str(exe), "run", "--source", f"file:{video}", "--display", "none", "--no-overlay", "--landmarks-out", str(out)],
                   check=True, capture_output=True)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return [np.asarray(r["faces"][0]["points"], np.float64) if r["faces"] else None for r in rows]


def poly_mask(shape, poly) -> np.ndarray:
    m = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(m, [np.round(np.asarray(poly) * 16).astype(np.int32)], 255, cv2.LINE_8, 4)
    return m


def skin_of(shape, p: np.ndarray) -> np.ndarray:
    iod = interocular(p)
    centre = p[np.concatenate([NOSE, EYES])].mean(0)
    v = centre - p[JAW]
    jaw = p[JAW] + 0.12 * iod * v / np.linalg.norm(v, axis=1, keepdims=True)
    m = poly_mask(shape, np.vstack([jaw, p[BROWS][::-1]]))
    feat = np.zeros_like(m)
    for g in (EYES[:6], EYES[6:], MOUTH_OUTER, NOSE):
        cv2.fillPoly(feat, [cv2.convexHull(np.round(p[g]).astype(np.int32))], 255)
    for g in (BROWS[:5], BROWS[5:]):
        cv2.polylines(feat, [np.round(p[g]).astype(np.int32)], False, 255, max(2, int(0.08 * iod)))
    feat = cv2.dilate(feat, np.ones((int(0.12 * iod) | 1,) * 2, np.uint8))
    return (m > 0) & (feat == 0)


def lab(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_BGR2LAB)


def run(module, donor: Path, frames: list[np.ndarray], points: list, warm: int = 3) -> tuple[dict[int, np.ndarray], float]:
    effect = module.create(str(donor))
    outs, ms = {}, []
    for i in FRAMES:
        for j in range(i - warm, i + 1):
            t = time.process_time()
            out = effect.apply(frames[j].copy(), [TrackedFace(0, points[j].astype(np.float32), 1.0)])
            ms.append((time.process_time() - t) * 1e3)
        outs[i] = out
    return outs, float(np.median(ms[4:]))


def seam(out_lab: np.ndarray, changed: np.ndarray, p: np.ndarray) -> float:
    cm = cv2.morphologyEx(changed.astype(np.uint8) * 255, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    k = np.ones((2 * max(2, int(0.05 * interocular(p))) + 1,) * 2, np.uint8)
    inner = (cm > 0) & (cv2.erode(cm, k) == 0)
    outer = (cm == 0) & (cv2.dilate(cm, k) > 0)
    c = p.mean(0)
    yy, xx = np.mgrid[: cm.shape[0], : cm.shape[1]]
    sector = (np.degrees(np.arctan2(yy - c[1], xx - c[0])) // 30).astype(int)
    de = []
    for a in range(-6, 6):
        i, o = inner & (sector == a), outer & (sector == a)
        if i.sum() > 10 and o.sum() > 10:
            de.append(np.linalg.norm(out_lab[i].mean(0) - out_lab[o].mean(0)))
    return float(np.mean(de))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--module", help="a swap module file to measure instead of edge/effects/swap.py")
    ap.add_argument("--video", default="clm_changeLighting.avi")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    module = load_module(args.module)
    video = data_root() / "videos" / args.video
    cap = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    with tempfile.TemporaryDirectory() as tmp:
        points = track(video, Path(tmp))
        print("donor                   frame  skin_dE  local_dE  leak_px  seam_dE   ms")
        for name in DONORS:
            outs, ms = run(module, write_donor(name, Path(tmp)), frames, points)
            painted, _ = run(module, write_donor(name, Path(tmp), paint=True), frames, points)
            for i in FRAMES:
                f, p, out = frames[i], points[i], outs[i]
                skin = skin_of(f.shape, p)
                lo, lf = lab(out), lab(f)
                s = max(1.0, 0.15 * interocular(p))
                local = np.linalg.norm(cv2.GaussianBlur(lo, (0, 0), s) - cv2.GaussianBlur(lf, (0, 0), s), axis=2)[skin].mean()
                changed = np.abs(out.astype(int) - f).max(2) > 2
                leak = int((np.abs(out.astype(int) - painted[i]).max(2) > 3).sum())
                print(f"{name:24s}{i:5d}  {np.linalg.norm(lo[skin].mean(0) - lf[skin].mean(0)):7.2f}  {local:8.2f}  {leak:7d}"
                      f"  {seam(lo, changed, p):7.2f}  {ms:5.2f}")


if __name__ == "__main__":
    main()
