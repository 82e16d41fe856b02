"""The README's still of the learned detector: a synthetic group photo (no image of the data in it) run through
`edgetrack run --source images:DIR --max-faces 8`, once with --detector haar and once with --detector cnn, side by side.

    .venv/bin/python docs/detector/make_still.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def frames_of(video: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            return out
        out.append(frame)


def main() -> int:
    from convert.detector.evaluate import write_synthetic_groups

    with tempfile.TemporaryDirectory() as tmp:
        photos = Path(tmp) / "groups"
        write_synthetic_groups(photos, n=1)
        shown = {}
        for det in ("haar", "cnn"):
            video = Path(tmp) / f"{det}.avi"
            cmd = [sys.executable, "-m", "edge", "run", "--source", f"images:{photos}", "--max-faces", "8", "--detector", det,
                   "--display", f"file:{video}"]  # fmt: skip
            subprocess.run(cmd, check=True, cwd=REPO, env={**os.environ, "EDGETRACK_NO_SYSTEM_CONFIG": "1", "OMP_NUM_THREADS": "1"})
            shown[det] = frames_of(video)
        for i, (a, b) in enumerate(zip(shown["haar"], shown["cnn"])):
            for img, label in ((a, "--detector haar"), (b, "--detector cnn")):
                cv2.putText(img, label, (20, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 0), 6, cv2.LINE_AA)
                cv2.putText(img, label, (20, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (255, 255, 255), 2, cv2.LINE_AA)
            both = cv2.resize(np.hstack([a, b]), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(HERE / f"group_{i}.jpg"), both, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return 0


if __name__ == "__main__":
    sys.exit(main())
