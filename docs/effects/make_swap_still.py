"""Make the README's swap still on real video: a webcam frame, the same frame through
`--effect swap:DONOR`, and the donor beside them (build/stills/swap_real.jpg).

The frame and the donor are research-use data (../shared/data): the still is written under
build/ (git-ignored) for a look, never into the repository.

    .venv/bin/python docs/effects/make_swap_still.py [--video nrc_06-1.avi] [--frame 289] [--donor lfpw_image_0147.jpg]

The clip is tracked by the runtime (`edgetrack run --source file:VIDEO --landmarks-out`, the
default landmarker and smoothing); the swap is applied to every frame up to the one shown, so
the effect is in its steady state, exactly as `edgetrack run --effect swap:DONOR` would. The
donor is a 300-W photo written with its annotated points as DONOR.pts (iBUG, 1-based) in a
temporary folder, so the effect reads them as a user's PHOTO.pts. Data: `edge.paths.data_root()`.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from edge.effects import make_effect
from edge.faces import TrackedFace
from edge.landmarks68 import interocular
from edge.paths import data_root

OUT = Path(__file__).resolve().parents[2] / "build" / "stills" / "swap_real.jpg"
SIDE = 288  # px: the before and after panels
THUMB = 144  # px: the donor's column


def write_donor(name: str, folder: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """The 300-W photo `name` and its points as PHOTO.png + PHOTO.pts (1-based) in `folder`."""
    data = data_root() / "300w-train"
    with open(data / "landmarks.csv", newline="") as f:
        row = next(r for r in csv.reader(f) if r[0] == name)
    pts = np.asarray(row[1:], dtype=np.float64).reshape(68, 2)
    image = cv2.imread(str(data / "images" / name), cv2.IMREAD_COLOR)
    path = folder / Path(name).with_suffix(".png").name
    cv2.imwrite(str(path), image)
    lines = ["version: 1", "n_points: 68", "{"] + [f"{x + 1:.3f} {y + 1:.3f}" for x, y in pts] + ["}"]
    path.with_suffix(".pts").write_text("\n".join(lines) + "\n")
    return path, image, pts


def track(video: Path, folder: Path, frames: int) -> list[np.ndarray | None]:
    """Each frame's tracked points (first face), from the runtime's --landmarks-out."""
    out = folder / "points.jsonl"
    exe = Path(sys.executable).parent / "edgetrack"
    cmd = [str(exe), "run", "--source", f"file:{video}", "--display", "none", "--no-overlay",
           "--landmarks-out", str(out), "--frames", str(frames)]
    subprocess.run(cmd, check=True, capture_output=True)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    return [np.asarray(r["faces"][0]["points"], np.float64) if r["faces"] else None for r in lines]


def label(tile: np.ndarray, text: str) -> np.ndarray:
    h = 18
    tile[-h:] = (tile[-h:].astype(np.float32) * 0.35).astype(np.uint8)
    cv2.putText(tile, text, (5, tile.shape[0] - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def crop(image: np.ndarray, centre: np.ndarray, half: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """The (2 half_w x 2 half_h) box around `centre`, edges replicated past the image, resized to `size`."""
    hw, hh = half
    pad = cv2.copyMakeBorder(image, hh, hh, hw, hw, cv2.BORDER_REPLICATE)
    x, y = np.round(centre).astype(int)
    return cv2.resize(pad[y : y + 2 * hh, x : x + 2 * hw], size, interpolation=cv2.INTER_AREA if 2 * hw > size[0] else cv2.INTER_CUBIC)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default="nrc_06-1.avi")
    ap.add_argument("--frame", type=int, default=289)
    ap.add_argument("--donor", default="lfpw_image_0147.jpg")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    video = data_root() / "videos" / args.video
    with tempfile.TemporaryDirectory() as tmp:
        donor_path, donor, donor_pts = write_donor(args.donor, Path(tmp))
        effect = make_effect(f"swap:{donor_path}")
        points = track(video, Path(tmp), args.frame + 1)
    cap = cv2.VideoCapture(str(video))
    for i in range(args.frame + 1):
        ok, frame = cap.read()
        if not ok:
            raise SystemExit(f"{video} has no frame {i}")
        before = frame.copy()
        if points[i] is not None:
            frame = effect.apply(frame, [TrackedFace(0, points[i].astype(np.float32), 1.0)])
    pts = points[args.frame]
    if pts is None:
        raise SystemExit(f"no face tracked in frame {args.frame} of {video}")
    centre, radius = pts.mean(0) - [0, 0.15 * interocular(pts)], int(1.5 * interocular(pts))
    tiles = [
        label(crop(before, centre, (radius, radius), (SIDE, SIDE)), f"{args.video}, frame {args.frame}"),
        label(crop(frame, centre, (radius, radius), (SIDE, SIDE)), "--effect swap:donor.png"),
    ]
    # the donor with its hair, collar and background: none of them reaches the swapped face
    d_iod = interocular(donor_pts)
    half = (int(1.6 * d_iod), int(1.6 * d_iod * SIDE / THUMB))
    tiles.append(label(crop(donor, donor_pts.mean(0) + [0, 0.8 * d_iod], half, (THUMB, SIDE)), "donor (300-W)"))
    still = np.hstack(tiles)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(OUT), still, [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
