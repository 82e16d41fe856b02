"""Make the README stills of every face effect on the synthetic face (ground-truth landmarks).

    .venv/bin/python docs/effects/make_stills.py          # stills on the ground-truth points
    .venv/bin/python docs/effects/make_stills.py --runs   # + run_sheet.jpg: frame 160 of each
        `edgetrack run --source synthetic --effect E --no-overlay --display file:E.mp4 --frames 300`
        (the tracked points of whichever landmarker `auto` picks)

Writes docs/effects/*.jpg, plus the synthetic donor used by the swap still
(docs/effects/donor.png + donor.pts: a synthetic face with face paint, so the swap is
visible; nothing here comes from the annotated data).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from edge.effects import make_effects
from edge.faces import TrackedFace
from edge.synth import SyntheticFace

OUT = Path(__file__).resolve().parent
CROP = 240  # pixels around the face, shown at 1.5x
STILLS = {
    "caricature": (["caricature:2.5"], 30),
    "deform_smile": (["deform:smile=1.5"], 30),
    "deform_wide_eyes": (["deform:wide_eyes"], 30),
    "deform_long_chin": (["deform:long_chin,slim"], 30),
    "swap": (["swap:{donor}"], 30),
    "mask_glasses": (["mask:glasses"], 30),
    "mask_moustache_hat": (["mask:moustache", "mask:hat"], 30),
    "signals_blink": (["signals"], 69),  # a blink cue frame
    "signals_smile": (["signals"], 360),
    "landmarks": (["landmarks"], 30),
}


def write_donor() -> Path:
    """A synthetic face with face paint (a star over one eye, a red nose, cheek marks) and its exact points."""
    frame, truths = SyntheticFace(640, 480, seed=2).render(0)
    p = truths[0].points.astype(np.float64)
    iod = float(np.linalg.norm(p[45] - p[36]))
    c = p[42:48].mean(0)
    star = np.array([[np.cos(a), np.sin(a)] for a in np.linspace(-np.pi / 2, 1.5 * np.pi, 11)[:-1]])
    star *= np.where(np.arange(10) % 2 == 0, 0.42, 0.18)[:, None] * iod
    cv2.fillPoly(frame, [np.round((c + star) * 16).astype(np.int32)], (200, 80, 30), cv2.LINE_AA, 4)
    cv2.circle(frame, tuple(np.round(p[30] * 16).astype(int)), int(0.14 * iod * 16), (40, 40, 210), -1, cv2.LINE_AA, 4)
    for side in (p[2] * 0.6 + p[31] * 0.4, p[14] * 0.6 + p[35] * 0.4):
        for k in range(3):
            a = side + [0, (k - 1) * 0.09 * iod]
            cv2.line(frame, tuple(np.round((a - [0.1 * iod, 0]) * 16).astype(int)), tuple(np.round((a + [0.1 * iod, 0]) * 16).astype(int)),
                     (60, 140, 40), max(1, int(0.03 * iod)), cv2.LINE_AA, 4)
    # keep only the head: a small file, and the points shifted to match
    x0, y0 = np.maximum(p.min(0) - 0.8 * iod, 0).astype(int)
    x1, y1 = (p.max(0) + 0.8 * iod).astype(int)
    frame, p = frame[y0:y1, x0:x1], p - [x0, y0]
    path = OUT / "donor.png"
    cv2.imwrite(str(path), frame)
    lines = ["version: 1", "n_points: 68", "{"] + [f"{x + 1:.3f} {y + 1:.3f}" for x, y in p] + ["}"]  # iBUG .pts: 1-based
    path.with_suffix(".pts").write_text("\n".join(lines) + "\n")
    return path


def crop(frame: np.ndarray, centre: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    x0 = int(np.clip(centre[0] - CROP / 2, 0, w - CROP))
    y0 = int(np.clip(centre[1] - CROP / 2 - 15, 0, h - CROP))
    return cv2.resize(frame[y0 : y0 + CROP, x0 : x0 + CROP], None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)


RUNS = ["caricature:2.5", "deform:smile=1.5,wide_eyes", "swap:{donor}", "mask:glasses", "mask:moustache", "signals"]


def run_sheet(donor: Path, frame_index: int = 160) -> None:
    """Frame `frame_index` of each effect's `edgetrack run` video, 3 x 2 at half size."""
    exe = Path(sys.executable).parent / "edgetrack"
    tiles = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, spec in enumerate(RUNS):
            video = Path(tmp) / f"{k}.mp4"
            cmd = [str(exe), "run", "--source", "synthetic", "--effect", spec.format(donor=donor), "--no-overlay",
                   "--display", f"file:{video}", "--frames", "300"]
            subprocess.run(cmd, check=True, capture_output=True)
            cap = cv2.VideoCapture(str(video))
            cap.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
            ok, frame = cap.read()
            if not ok:
                raise RuntimeError(f"could not read frame {frame_index} of {video}")
            tile = cv2.resize(frame, (320, 240), interpolation=cv2.INTER_AREA)
            label = spec.replace("{donor}", "donor.png")
            cv2.putText(tile, label, (6, 232), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
            tiles.append(tile)
    sheet = np.vstack([np.hstack(tiles[:3]), np.hstack(tiles[3:])])
    cv2.imwrite(str(OUT / "run_sheet.jpg"), sheet, [cv2.IMWRITE_JPEG_QUALITY, 85])


def main() -> None:
    donor = write_donor()
    synth = SyntheticFace(640, 480, seed=0)
    for name, (specs, index) in STILLS.items():
        effects = make_effects([s.format(donor=donor) for s in specs])
        # run a few frames first so stateful effects (swap's gain map refresh) are in their steady state
        for i in range(index - 3, index + 1):
            frame, truths = synth.render(i)
            faces = [TrackedFace(t.id, t.points, 1.0) for t in truths]
            out = frame.copy()
            for e in effects:
                out = e.apply(out, faces)
        centre = truths[0].points.mean(0)
        # the signals panel sits beside the face, wherever there is room: show the whole frame
        shown = cv2.resize(out, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA) if name.startswith("signals") else crop(out, centre)
        pair = np.hstack([crop(frame, centre), shown])
        label = " ".join(f"--effect {s}" for s in specs).replace("{donor}", "donor.png")
        cv2.putText(pair, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
        cv2.imwrite(str(OUT / f"{name}.jpg"), pair, [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {len(STILLS)} stills to {OUT}")
    if "--runs" in sys.argv:
        run_sheet(donor)
        print(f"wrote {OUT / 'run_sheet.jpg'}")


if __name__ == "__main__":
    main()
