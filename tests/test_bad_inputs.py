"""Inputs a user can hold wrong: they end in one line, never an OpenCV traceback or a silent exit 0."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import pytest

from edge.cli import main
from edge.sources import ImageFolderSource
from edge.synth.render import SyntheticFace

REPO = Path(__file__).resolve().parents[1]


def _photos(folder: Path, sizes: list[tuple[int, int]]) -> list[Path]:
    """Synthetic faces rendered at several frame sizes, as a folder of photos."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, (w, h) in enumerate(sizes):
        image, _ = SyntheticFace(w, h, seed=i, scenario="still").render(5)
        path = folder / f"{i:02d}.png"
        cv2.imwrite(str(path), image)
        out.append(path)
    return out


@pytest.mark.slow
def test_folder_of_images_of_different_sizes_runs_and_tracks_each(tmp_path, capsys):
    folder = tmp_path / "photos"
    _photos(folder, [(640, 480), (320, 240), (800, 600), (480, 640)])
    (folder / "01b.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "l.jsonl"
    rc = main(["run", "--source", f"images:{folder}", "--display", "none", "--landmarks-out", str(out)])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "Traceback" not in err
    assert err.count("01b.jpg") == 1 and "1 unreadable image(s) skipped" in err
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [d["frame"] for d in lines] == [0, 1, 3, 4]  # the unreadable file keeps its place in the numbering
    assert all(len(d["faces"]) == 1 for d in lines), [len(d["faces"]) for d in lines]


def test_unreadable_image_is_named_once_across_loops(tmp_path, caplog):
    folder = tmp_path / "p"
    _photos(folder, [(320, 240)])
    (folder / "zz.png").write_bytes(b"\x89PNG broken")
    src = ImageFolderSource(folder)
    src.open()
    for _ in range(3):  # three passes, as --loop does
        while src.read() is not None:
            pass
        src.open()
    assert src.unreadable == {folder / "zz.png"}
    assert sum("zz.png" in r.getMessage() for r in caplog.records) == 1


def test_folder_with_no_readable_image_exits_non_zero(tmp_path, capsys):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"x")
    (folder / "b.png").write_bytes(b"y")
    rc = main(["run", "--source", f"images:{folder}", "--display", "none"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "none of the 2 image file(s)" in err and "Traceback" not in err


def test_missing_camera_says_so_once_per_status_interval_without_opencv_warnings(tmp_path):
    """`v4l2:N` with no such device: one line per status interval, none of OpenCV's own warnings."""
    n = next(i for i in range(90, 200) if not Path(f"/dev/video{i}").exists())
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "run", "--source", f"v4l2:{n}", "--display", "none", "--status-every", "1"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "EDGETRACK_NO_SYSTEM_CONFIG": "1", "HOME": str(tmp_path)},
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)  # every line as it comes
    reader.start()
    try:
        # Wait for the third 'waiting for' line (a generous deadline: start-up alone took 4 s on a busy machine);
        # it must still be running then: it keeps waiting for a camera that may still be plugged in.
        deadline = time.monotonic() + 120
        while sum("waiting for" in ln for ln in lines) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "gave up on a camera that may still be plugged in"
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        lived = time.monotonic() - t0  # at least as long as the process ran
    reader.join(timeout=30)
    err = "".join(lines)
    assert proc.returncode == 0  # SIGTERM is a clean stop
    assert "WARN" not in err and "VIDEOIO" not in err, err
    waiting = [ln for ln in err.splitlines() if "waiting for" in ln]
    # one line per status interval (1 s): at least 2, no more than the seconds it lived (+1) allow, and by the
    # process's own clock (each line says how long it has waited) at least a second apart
    assert 2 <= len(waiting) <= lived + 1, (lived, err)
    waited = [int(re.search(r"\((\d+) s without a frame", ln).group(1)) for ln in waiting]
    assert all(b > a for a, b in zip(waited, waited[1:])), waiting
    assert all(f"/dev/video{n} is not there" in ln for ln in waiting)
