"""Make the README stills of the emotion directions and of `--effect express`.

    .venv/bin/python docs/emotion/make_stills.py [--clip ../shared/data/videos/clm_changeLighting.avi]

* express_grid.jpg: the mean face (the synthetic face's texture, models/mean_face.png, on its
  reference points) moved by `express:NAME=1` (top row) and `express:NAME=-1` (bottom row) for
  each of the seven learned expressions, through the effect itself (deform's warp path).
* emotion_overlay.jpg: `--effect emotion` on a smiling frame of the synthetic face.
* build/stills/express_clip.jpg: one frame of a real clip through `edgetrack run` with and without
  `--effect express:happiness=1` (the tracked points, not ground truth), cropped to the face.
  The clip is research-use data (../shared/data), so this still is written under build/
  (git-ignored) for a look, never into the repository.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from edge.effects import make_effect
from edge.faces import TrackedFace
from edge.paths import data_root
from edge.synth.texture import MeanFace

OUT = Path(__file__).resolve().parent
EXPRESSIONS = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")
TILE = 190


def label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.putText(out, text, (5, out.shape[0] - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (5, out.shape[0] - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def grid() -> Path:
    tex = MeanFace.load()
    # the texture on a mid-grey background (its feathered alpha), with room around the face for the warp
    pad = 40
    base = np.full((tex.image.shape[0] + 2 * pad, tex.image.shape[1] + 2 * pad, 3), 128, np.uint8)
    a = tex.alpha[..., None]
    roi = base[pad:-pad, pad:-pad]
    roi[:] = (tex.image * a + roi * (1 - a)).astype(np.uint8)
    face = TrackedFace(0, (tex.points + pad).astype(np.float32), 1.0)
    lo, hi = face.points.min(0), face.points.max(0)
    side = int((hi - lo).max() * 1.12)
    cx, cy = (lo + hi) / 2 - [0, 0.08 * side]
    x0, y0 = int(cx - side / 2), int(cy - side / 2)

    def tile(img: np.ndarray, text: str) -> np.ndarray:
        crop = img[max(y0, 0) : y0 + side, max(x0, 0) : x0 + side]
        return label(cv2.resize(crop, (TILE, TILE), interpolation=cv2.INTER_AREA), text)

    rows = []
    for sign in (1, -1):
        tiles = [tile(base, "mean face")]
        for name in EXPRESSIONS:
            effect = make_effect(f"express:{name}={sign}")
            tiles.append(tile(effect.apply(base.copy(), [face]), f"{name}={sign:+d}"))
        rows.append(np.hstack(tiles))
    path = OUT / "express_grid.jpg"
    cv2.imwrite(str(path), np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 88])
    return path


def overlay_still(frame_index: int = 360) -> Path:
    """`--effect emotion` on a smiling frame of the synthetic face (its exact points; no baseline yet: the absolute head)."""
    from edge.synth import SyntheticFace

    frame, truths = SyntheticFace(640, 480, seed=0).render(frame_index)
    out = make_effect("emotion").apply(frame, [TrackedFace(t.id, t.points, 1.0) for t in truths])
    path = OUT / "emotion_overlay.jpg"
    cv2.imwrite(str(path), cv2.resize(out, (480, 360), interpolation=cv2.INTER_AREA), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return path


def clip_still(video: Path, frame_index: int = 60, spec: str = "express:happiness=1") -> Path:
    """Frame `frame_index` of `edgetrack run` with and without `spec`, the face cropped and shrunk."""
    exe = Path(sys.executable).parent / "edgetrack"
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, effect in enumerate(([], ["--effect", spec])):
            out = Path(tmp) / f"{k}.mp4"
            land = Path(tmp) / f"{k}.jsonl"
            cmd = [str(exe), "run", "--source", f"file:{video}", "--no-overlay", "--display", f"file:{out}",
                   "--frames", str(frame_index + 1), "--landmarks-out", str(land), *effect]  # fmt: skip
            subprocess.run(cmd, check=True, capture_output=True)
            cap = cv2.VideoCapture(str(out))
            cap.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
            ok, frame = cap.read()
            if not ok:
                raise RuntimeError(f"could not read frame {frame_index} of {out}")
            frames.append(frame)
            last = json.loads(land.read_text().splitlines()[-1])
            pts = np.array(last["faces"][0]["points"])
    lo, hi = pts.min(0), pts.max(0)
    side = int((hi - lo).max() * 1.3)
    cx, cy = (lo + hi) / 2
    h, w = frames[0].shape[:2]
    x0 = int(np.clip(cx - side / 2, 0, w - side))
    y0 = int(np.clip(cy - side / 2 - 0.05 * side, 0, h - side))
    tiles = [cv2.resize(f[y0 : y0 + side, x0 : x0 + side], (260, 260), interpolation=cv2.INTER_AREA) for f in frames]
    tiles = [label(tiles[0], "no effect"), label(tiles[1], spec)]
    path = OUT.parents[1] / "build" / "stills" / "express_clip.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.hstack(tiles), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return path


def main() -> None:
    print(f"wrote {grid()}")
    print(f"wrote {overlay_still()}")
    video = Path(sys.argv[sys.argv.index("--clip") + 1]) if "--clip" in sys.argv else data_root() / "videos" / "clm_changeLighting.avi"
    if video.is_file():
        print(f"wrote {clip_still(video)}")
    else:
        print(f"{video} not found: express_clip.jpg not made")


if __name__ == "__main__":
    main()
