"""Face detectors side by side on held-out data: `python -m convert.detector.evaluate --detector haar,cnn`.

In one run, for every detector named (each through its own box mapping; `cnn=DIR` is our
detector with the model files of DIR, e.g. the one shipped before):
* recall at IoU 0.5 on composited validation scenes (640x480: validation faces of both
  annotated folders, 16-320 px, half of them rolled up to +-45 degrees, on held-out negatives;
  and as many scenes of aflw21 validation faces, every pose), overall, per face set, and for
  small (< 40 px), upright (|roll| < 15 degrees), tilted (>= 15, >= 30) and turned (AFLW's
  |yaw| bins) faces; a detection counts when it overlaps the face's landmark box, upright or
  levelled, at IoU >= 0.5;
* false detections per face-free image: the held-out negatives as they are (~320x266), and
  the same photos scaled to 640x480 and relit as the scenes are;
* median / p95 ms per 640x480 frame (one thread, warm), and per 1280x960 photo at the smallest
  face size asked (`--large-min-face`).
`--groups DIR` also writes composited group photos (4-8 validation faces each, 1280x960) and
their truth, for `edgetrack run --source images:DIR --max-faces 8`; `--score-run` scores
such a run's --landmarks-out against that truth. `--synthetic-groups DIR` writes group photos of
synthetic faces (nothing from the data), for the README's still.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from convert.detector.data import SceneFace, build_aflw_bank, build_face_bank, compose, faces_inside, load_negatives, negative_split
from convert.training_data import training_samples
from edge.data.matching import MATCH_IOU, RECALL_IOU, greedy_pairs
from edge.detect import make_detector
from edge.geometry import Box
from edge.landmarks68 import roll
from edge.paths import data_root

SCENE_SIZE = (640, 480)
FACE_RANGE = (16.0, 320.0)


def face_iou(box: Box, face: SceneFace) -> float:
    """Overlap with the face's landmark box, upright or levelled (whichever frame the detector reports in)."""
    return max(box.iou(face.box), box.iou(face.upright)) if face.upright is not None else box.iou(face.box)


def score_scene(boxes: list[Box], faces: list[SceneFace], w: int, h: int) -> tuple[list[bool], int]:
    """(found per face whose centre is in the scene, false detections). A detection on a face cut by the edge
    (centre outside), or a second one on a found face, is neither found nor false."""
    inside = faces_inside(faces, w, h)
    found = [False] * len(inside)
    false = 0
    ranked = sorted(boxes, key=lambda b: -b.score)
    for b, i in zip(ranked, greedy_pairs(ranked, inside, face_iou, RECALL_IOU)):
        if i >= 0:
            found[i] = True
        elif not any(face_iou(b, f) >= MATCH_IOU for f in faces):  # near a face (cut by the edge, a second box): not false
            false += 1
    return found, false


def timed(detector, image: np.ndarray, max_faces: int) -> tuple[list[Box], float]:
    t0 = time.perf_counter()
    boxes = detector.detect(image, max_faces)
    return boxes, (time.perf_counter() - t0) * 1e3


def make_labelled(label: str, min_face: int | None = None):
    """NAME, NAME@MIN_FACE or cnn=DIR[@MIN_FACE] (our detector with DIR's network, second look and box mapping)."""
    label, _, px = label.partition("@")
    min_face = int(px) if px else min_face
    name, _, folder = label.partition("=")
    kw = {} if min_face is None else {"min_face": min_face}
    if not folder:
        return make_detector(name, **kw)
    if name != "cnn":
        raise ValueError(f"--detector {label}: only cnn=DIR takes a model folder")
    from edge.detect.cnn import CnnDetector
    from edge.detect.mapping import BoxMapping

    d = Path(folder)
    return CnnDetector(d / "detector_int8.tflite", second_look=d / "detector_verify.npz",
                       box_mapping=BoxMapping.load(d / "box_mapping.json", detector="cnn"), **kw)  # fmt: skip


GROUPS = ("all", "68-point val faces", "aflw21 (every pose)", "small (<40 px)", "upright (<15 deg)", "tilted (>=15 deg)",
          "tilted (>=30 deg)", "turned (yaw < 30 deg)", "turned (yaw >= 30 deg)", "turned (yaw >= 45 deg)")  # fmt: skip


def face_groups(face: SceneFace) -> list[str]:
    """The recall groups a face counts in."""
    tilt = abs(np.rad2deg(face.box.angle))
    out = ["all", "aflw21 (every pose)" if np.isfinite(face.yaw) else "68-point val faces"]
    out += ["small (<40 px)"] if face.size < 40 else []
    out += ["upright (<15 deg)" if tilt < 15 else "tilted (>=15 deg)"] + (["tilted (>=30 deg)"] if tilt >= 30 else [])
    if np.isfinite(face.yaw):
        yaw = abs(face.yaw)
        out += ["turned (yaw < 30 deg)" if yaw < 30 else "turned (yaw >= 30 deg)"] + (["turned (yaw >= 45 deg)"] if yaw >= 45 else [])
    return out


def run(names: list[str], n_scenes: int, seed: int, large_min_face: int, limit: int = 0, aflw_scenes: int | None = None) -> dict:
    """`aflw_scenes` (default `n_scenes`, 0 = none): scenes of aflw21 validation faces beside the 68-point ones."""
    split = negative_split()
    val_faces = training_samples(None, "val")
    negs_val = split["val"][: limit or None]
    if limit:
        val_faces = val_faces[:limit]
    bank = build_face_bank(val_faces, patch_max=400, progress=False)
    negs = load_negatives(negs_val)
    rng = np.random.default_rng([seed, 2024])
    scene_kw = {"empty": 0.0, "own_background": 0.0, "texture": 0.0}
    scenes = [compose(rng, bank, negs, SCENE_SIZE, FACE_RANGE, **scene_kw) for _ in range(n_scenes)]
    empties = [compose(rng, bank, negs, SCENE_SIZE, FACE_RANGE, empty=1.0, texture=0.0)[0] for _ in range(len(negs))]
    big = [compose(rng, bank, negs, (1280, 960), (10.0, 400.0), empty=0.0, texture=0.0)[0] for _ in range(20)]
    n_aflw = n_scenes if aflw_scenes is None else aflw_scenes
    if n_aflw:  # their own stream: the 68-point scenes stay those of earlier reports
        aflw = build_aflw_bank(data_root() / "aflw21", "val", limit=limit, patch_max=400)
        rng_a = np.random.default_rng([seed, 2026])
        scenes += [compose(rng_a, aflw, negs, SCENE_SIZE, FACE_RANGE, **scene_kw) for _ in range(n_aflw)]
    w, h = SCENE_SIZE
    n_faces = sum(len(faces_inside(fs, w, h)) for _, fs in scenes)
    report: dict = {"scenes": len(scenes), "scene_size": list(SCENE_SIZE), "face_range_px": list(FACE_RANGE), "negatives": len(negs),
                    "faces": n_faces, "detectors": {}}  # fmt: skip
    for label in names:  # NAME, NAME@MIN_FACE, cnn=DIR
        det = make_labelled(label)
        for img, _ in scenes[:5]:  # warm up (interpreters for each input size, caches)
            det.detect(img, 8)
        groups: dict[str, list[bool]] = {g: [] for g in GROUPS}
        false_scene, ms = 0, []
        for img, faces in scenes:
            boxes, t = timed(det, img, 8)
            ms.append(t)
            found, false = score_scene(boxes, faces, w, h)
            false_scene += false
            for f, ok in zip(faces_inside(faces, w, h), found):
                for g in face_groups(f):
                    groups[g].append(ok)
        fp_native = sum(len(det.detect(cv2.cvtColor(n, cv2.COLOR_GRAY2BGR), 8)) for n in negs)
        fp_scaled = sum(len(det.detect(e, 8)) for e in empties)
        big_ms = []
        large = make_labelled(label.partition("@")[0], large_min_face)
        large.detect(big[0], 8)
        for img in big:
            big_ms.append(timed(large, img, 16)[1])
        r = {
            "recall_pct": {k: round(100 * float(np.mean(v)), 2) if v else float("nan") for k, v in groups.items()},
            "faces": {k: len(v) for k, v in groups.items()},
            "false_per_scene": round(false_scene / len(scenes), 4),
            "false_per_negative_native": round(fp_native / len(negs), 4),
            "false_per_negative_640x480": round(fp_scaled / len(empties), 4),
            "ms_640x480_median": round(float(np.median(ms)), 2),
            "ms_640x480_p95": round(float(np.percentile(ms, 95)), 2),
            f"ms_1280x960_min_face_{large_min_face}_median": round(float(np.median(big_ms)), 1),
        }
        report["detectors"][label] = r
        print(f"{label}: {json.dumps(r)}", file=sys.stderr)
    return report


def format_report(report: dict) -> str:
    names = list(report["detectors"])
    first = report["detectors"][names[0]]
    rows = [("recall " + k, [report["detectors"][n]["recall_pct"].get(k, float("nan")) for n in names], first["faces"][k])
            for k in first["recall_pct"]]  # fmt: skip
    lines = [f"| figure | {' | '.join(names)} |", "|---|" + "---|" * len(names)]
    for label, vals, n in rows:
        lines.append(f"| {label} (% of {n} faces) | " + " | ".join(f"{v:.1f}" for v in vals) + " |")
    for key in [k for k in first if k not in ("recall_pct", "faces")]:
        lines.append(f"| {key} | " + " | ".join(str(report["detectors"][n][key]) for n in names) + " |")
    return "\n".join(lines)


# ---- group photos -----------------------------------------------------------------------


def write_groups(out: Path, n: int, seed: int, size: tuple[int, int] = (1280, 960)) -> None:
    """Composited group photos of 4-8 validation faces on held-out negatives, and truth.json (face centres, sizes)."""
    split = negative_split()
    bank = build_face_bank(training_samples(None, "val"), patch_max=400, progress=False)
    negs = load_negatives(split["val"])
    rng = np.random.default_rng([seed, 77])
    out.mkdir(parents=True, exist_ok=True)
    truth = {}
    for i in range(n):
        n_faces = int(rng.integers(4, 9))
        img, faces = compose(rng, bank, negs, size, (24.0, 260.0), n_faces=n_faces, max_faces=8, empty=0.0, own_background=0.0)
        name = f"group_{i:02d}.png"
        cv2.imwrite(str(out / name), img)
        truth[name] = [[f.box.cx, f.box.cy, f.size, float(np.rad2deg(f.box.angle))] for f in faces
                       if 0 <= f.box.cx < size[0] and 0 <= f.box.cy < size[1]]  # fmt: skip
    (out / "truth.json").write_text(json.dumps(truth, indent=0) + "\n")
    print(f"wrote {n} group photos ({sum(len(v) for v in truth.values())} faces) to {out}", file=sys.stderr)


def score_run(groups: Path, landmarks: Path) -> dict:
    """Faces of the group photos a run's --landmarks-out found: a tracked face whose points' centre is within a
    third of the face's size of a true face's centre."""
    truth = json.loads((groups / "truth.json").read_text())
    names = sorted(truth)
    rows = [json.loads(line) for line in landmarks.read_text().splitlines() if line.strip()]
    found = total = false = 0
    for name, row in zip(names, rows):
        faces = truth[name]
        centres = [np.asarray(f["points"], np.float64).mean(0) for f in row["faces"]]
        used = set()
        for cx, cy, size, _ in faces:
            total += 1
            d = [np.hypot(c[0] - cx, c[1] - cy) if j not in used else np.inf for j, c in enumerate(centres)]
            if d and min(d) < size / 3:
                used.add(int(np.argmin(d)))
                found += 1
        false += len(centres) - len(used)
    return {"photos": len(rows), "faces": total, "found": found, "found_pct": round(100 * found / max(total, 1), 1), "false": false}


def write_synthetic_groups(out: Path, n: int = 2, size: tuple[int, int] = (1280, 720), seed: int = 0) -> None:
    """Group photos of synthetic faces (the mean face of the data, turned and rolled by the synthetic scripts) on
    the synthetic room: for the README, with no image of the data in it."""
    from edge.synth import SyntheticFace
    from edge.synth.background import make_background

    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for g in range(n):
        img = np.ascontiguousarray(make_background(size[0], size[1], seed + g, 0)[: size[1], : size[0]])
        k = int(rng.integers(5, 9))
        xs = np.linspace(0.1, 0.9, k) * size[0] + rng.uniform(-30, 30, k)
        for j in range(k):
            synth = SyntheticFace(320, 240, seed=10 * g + j, scenario="roll")
            rolls = np.array([roll(synth.truth(i)[0].points) for i in range(0, synth.period, 10)])
            want = np.deg2rad(rng.uniform(-45, 45))  # a head rolled anywhere up to 45 degrees
            frame, (t,) = synth.render(10 * int(np.argmin(np.abs(rolls - want))))
            face = cv2.resize(frame, None, fx=(s := rng.uniform(0.35, 1.5)), fy=s, interpolation=cv2.INTER_AREA)
            c = Box.around(t.points * s)
            mask = np.zeros(face.shape[:2], np.float32)
            r = roll(t.points)
            cv2.ellipse(mask, (int(c.cx), int(c.cy - 0.15 * c.h)), (int(0.75 * c.w), int(1.0 * c.h)), np.rad2deg(r), 0, 360, 1.0, -1)
            mask = cv2.GaussianBlur(mask, (0, 0), 0.1 * c.w)[..., None]
            x0, y0 = int(xs[j] - c.cx), int(rng.uniform(0.25, 0.75) * size[1] - c.cy)
            x0, y0 = int(np.clip(x0, 0, size[0] - face.shape[1])), int(np.clip(y0, 0, size[1] - face.shape[0]))
            roi = img[y0 : y0 + face.shape[0], x0 : x0 + face.shape[1]].astype(np.float32)
            img[y0 : y0 + face.shape[0], x0 : x0 + face.shape[1]] = (roi * (1 - mask) + face * mask).astype(np.uint8)
        cv2.imwrite(str(out / f"synthetic_group_{g}.png"), img)


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m convert.detector.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--detector", default="haar,cnn", help="detectors, comma separated; NAME@PX sets its smallest face")
    p.add_argument("--scenes", type=int, default=300)
    p.add_argument("--aflw-scenes", type=int, default=None, help="scenes of aflw21 val faces (default: as many as --scenes; 0 = none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--large-min-face", type=int, default=10, help="smallest face for the 1280x960 timing, px")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--groups", type=Path, default=None, help="write composited group photos here (and nothing else)")
    p.add_argument("--synthetic-groups", type=Path, default=None, help="write synthetic group photos here (and nothing else)")
    p.add_argument("--score-run", nargs=2, type=Path, metavar=("GROUPS", "LANDMARKS_JSONL"), help="score a run on the group photos")
    args = p.parse_args()
    if args.groups:
        write_groups(args.groups, 12, args.seed)
        return 0
    if args.synthetic_groups:
        write_synthetic_groups(args.synthetic_groups)
        return 0
    if args.score_run:
        print(json.dumps(score_run(*args.score_run)))
        return 0
    report = run([n.strip() for n in args.detector.split(",") if n.strip()], args.scenes, args.seed, args.large_min_face, args.limit,
                 args.aflw_scenes)
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
