"""`edgetrack synth`: render the synthetic face to a video plus its exact ground truth.

DIR/synth.mp4 (mp4v), DIR/landmarks.csv (the ../shared/data format: one row per face
per frame, image column frame_NNNNNN.png), DIR/truth.jsonl (every SynthTruth field per
frame) and, with --images, DIR/images/frame_NNNNNN.png so `edgetrack eval --data DIR`
and `edge.data.load_dataset(DIR)` read it like any annotated folder.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from edge.data.matching import MATCH_IOU, box_iou, greedy_pairs
from edge.detect import make_detector
from edge.geometry import Box
from edge.landmarks68 import N_POINTS
from edge.synth.scenarios import SCENARIOS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--frames", type=int, required=True, help="number of frames to render")
    p.add_argument("--out", type=Path, required=True, help="output folder (created)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scenario", default="default", help=f"one of: {', '.join(SCENARIOS)}")
    p.add_argument("--size", default="640x480", help="WIDTHxHEIGHT")
    p.add_argument("--start", type=int, default=0, help="first frame index (the script loops, any index is valid)")
    p.add_argument("--images", action="store_true", help="also write every frame as DIR/images/frame_NNNNNN.png")
    p.add_argument("--detect", metavar="DETECTOR", default=None,
                   help="also run this face detector (e.g. haar) on every frame and report how often it finds the faces")


class DetectionCheck:
    """How often a detector finds the synthetic faces: a face counts when fully inside the frame, and is
    found when a detected box is that face by `edge.data.matching`'s rule (each box one face, IoU >= MATCH_IOU
    with its landmark box); a box that is no face is a false one."""

    def __init__(self, name: str, width: int, height: int) -> None:
        self.detector = make_detector(name)
        self.name, self.width, self.height = name, width, height
        self.faces = self.found = self.false = self.frames = 0

    def add(self, frame, truths) -> None:
        boxes = self.detector.detect(frame, max_faces=5)  # best first
        truth_boxes = [Box.around(t.points) for t in truths]
        pairs = greedy_pairs(boxes, truth_boxes, box_iou, MATCH_IOU)
        for i, t in enumerate(truths):
            lo, hi = t.points.min(0), t.points.max(0)
            if lo[0] < 0 or lo[1] < 0 or hi[0] >= self.width or hi[1] >= self.height:
                continue
            self.faces += 1
            self.found += i in pairs
        self.false += pairs.count(-1)
        self.frames += 1

    def summary(self) -> str:
        rate = 100.0 * self.found / max(self.faces, 1)
        return (f"detector {self.name}: found {self.found}/{self.faces} fully visible faces ({rate:.1f}%), "
                f"{self.false} boxes on no face over {self.frames} frames")


def frame_name(i: int) -> str:
    return f"frame_{i:06d}.png"


def _check(args: argparse.Namespace) -> tuple[int, int]:
    if args.frames < 1:
        raise ValueError(f"--frames {args.frames}: need at least 1 frame")
    if args.start < 0:
        raise ValueError(f"--start {args.start}: frame indices start at 0")
    if args.scenario not in SCENARIOS:
        raise ValueError(f"--scenario {args.scenario!r} unknown; choose one of: {', '.join(SCENARIOS)}")
    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out} is a file; pass a folder path")
    taken = [n for n in OUTPUT_NAMES if (args.out / n).exists()]
    if taken:
        raise ValueError(f"--out {args.out} already holds {', '.join(taken)}; give a new folder (a run never overwrites earlier output)")
    from edge.synth.render import parse_size

    return parse_size(args.size)


OUTPUT_NAMES = ("synth.mp4", "landmarks.csv", "truth.jsonl", "images")


def main(args: argparse.Namespace) -> int:
    from edge.synth.render import SyntheticFace

    width, height = _check(args)
    synth = SyntheticFace(width, height, args.seed, args.scenario)
    check = DetectionCheck(args.detect, width, height) if args.detect else None
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.images:
        (out / "images").mkdir(exist_ok=True)
    video_path = out / "synth.mp4"
    writer = cv2.VideoWriter(str(video_path), cv2.VideoWriter_fourcc(*"mp4v"), float(synth.fps), (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {video_path} with the mp4v codec; check the folder is writable")
    t0 = time.monotonic()
    rows = faces = 0
    render_ms: list[float] = []
    with open(out / "landmarks.csv", "w", newline="") as fcsv, open(out / "truth.jsonl", "w") as fjson:
        w = csv.writer(fcsv)
        w.writerow(["image"] + [f"{a}{k}" for k in range(N_POINTS) for a in ("x", "y")])
        for n in range(args.frames):
            i = args.start + n
            tr0 = time.perf_counter()
            frame, truths = synth.render(i)
            render_ms.append(1000 * (time.perf_counter() - tr0))
            if check:
                check.add(frame, truths)
            writer.write(frame)
            name = frame_name(i)
            if args.images:
                cv2.imwrite(str(out / "images" / name), frame)
            for t in truths:
                w.writerow([name] + [f"{v:.3f}" for v in t.points.reshape(-1)])
                rows += 1
            faces += len(truths)
            record = {
                "frame": i,
                "image": name,
                "events": synth.events(i),
                "faces": [
                    {"id": t.id, "blink": round(t.blink, 4), "smile": round(t.smile, 4), "mouth_open": round(t.mouth_open, 4),
                     "moving": t.moving, "points": [[round(float(x), 3), round(float(y), 3)] for x, y in t.points]}
                    for t in truths
                ],
            }
            fjson.write(json.dumps(record) + "\n")
            if (n + 1) % max(1, args.frames // 10) == 0 or n + 1 == args.frames:
                print(f"  synth: {n + 1}/{args.frames} frames ({time.monotonic() - t0:.1f}s)", file=sys.stderr)
    writer.release()
    cap = cv2.VideoCapture(str(video_path))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
    cap.release()
    if count != args.frames:
        raise RuntimeError(f"{video_path} reads back with {count} frames, expected {args.frames}; the mp4v encoder may be missing")
    print(
        f"wrote {video_path} ({args.frames} frames, {width}x{height}, {synth.fps} fps, scenario {args.scenario}, seed {args.seed}), "
        f"{out / 'landmarks.csv'} ({rows} faces) and {out / 'truth.jsonl'}" + (f", {out / 'images'}/" if args.images else ""),
        file=sys.stderr,
    )
    ms = np.asarray(render_ms)
    print(f"render: median {np.median(ms):.2f} ms/frame, p95 {np.percentile(ms, 95):.2f} ms (wall clock, this process)", file=sys.stderr)
    if check:
        print(check.summary(), file=sys.stderr)
    return 0
