"""`edgetrack run`: config file and flags, one-line errors naming the key, --landmarks-out, every frame of a
file, and the no-camera / no-screen fallback of `make run`."""

from __future__ import annotations

import glob
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import blank_video, synthetic_video

from edge import config
from edge.cli import main

REPO = Path(__file__).resolve().parents[1]


def one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    errors = [ln for ln in err.splitlines() if ln.startswith("edgetrack run:")]  # info lines may come first
    assert len(errors) == 1, err
    return errors[0]


def test_bad_flag_value_names_the_key(capsys):
    err = one_line_error(capsys, ["run", "--max-faces", "two"])
    assert "max_faces" in err and "two" in err and "integer" in err
    err = one_line_error(capsys, ["run", "--smooth-beta", "-1"])
    assert "smooth_beta" in err and ">= 0" in err


def test_bad_config_file_names_the_key(tmp_path, capsys):
    cfg = tmp_path / "config.toml"
    cfg.write_text('source = "synthetic"\n[http]\nport = 99999\n')
    err = one_line_error(capsys, ["run", "--config", str(cfg)])
    assert "http_port" in err and "99999" in err and str(cfg) in err
    cfg.write_text("max_fces = 2\n")
    assert "max_fces" in one_line_error(capsys, ["run", "--config", str(cfg)])
    cfg.write_text("threads = [1\n")
    assert "not valid TOML" in one_line_error(capsys, ["run", "--config", str(cfg)])
    assert "not found" in one_line_error(capsys, ["run", "--config", str(tmp_path / "missing.toml")])


def test_flags_override_the_file_which_overrides_defaults(tmp_path):
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text('max_faces = 3\ndisplay = "none"\n[smooth]\nmin_cutoff = 0.5\nenabled = false\n')
    import argparse

    p = argparse.ArgumentParser()
    config.add_arguments(p)
    cfg = config.resolve(p.parse_args(["--config", str(cfg_file), "--max-faces", "2", "--effect", "a", "--effect", "b:1"]))
    assert cfg.max_faces == 2 and cfg.display == "none" and cfg.smooth_min_cutoff == 0.5 and cfg.smooth is False
    assert cfg.effect == ("a", "b:1") and cfg.threads == 1


def test_unknown_source_and_display(capsys):
    assert "carrier" in one_line_error(capsys, ["run", "--source", "carrier", "--display", "none", "--landmarker", "mean"])
    err = one_line_error(capsys, ["run", "--source", "file:/nonexistent.mp4", "--display", "none", "--landmarker", "mean"])
    assert "/nonexistent.mp4" in err


def test_landmarks_out_has_a_line_for_every_frame(tmp_path, capsys):
    video = blank_video(tmp_path / "blank.avi", 25)
    out = tmp_path / "x.jsonl"
    assert main(["run", "--source", f"file:{video}", "--display", "none", "--landmarker", "mean", "--landmarks-out", str(out)]) == 0
    lines = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert [ln["frame"] for ln in lines] == list(range(25))
    assert all(ln["faces"] == [] for ln in lines)
    assert lines[10]["t"] == pytest.approx(10 / 25, abs=1e-3)
    assert "end of source" in capsys.readouterr().err


def test_tracks_a_real_video_file(tmp_path):
    video, truths = synthetic_video(tmp_path / "face.avi", 40)
    out = tmp_path / "x.jsonl"
    assert main(["run", "--source", f"file:{video}", "--display", "none", "--landmarks-out", str(out)]) == 0
    lines = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert [ln["frame"] for ln in lines] == list(range(40))
    tracked = [ln for ln in lines if ln["faces"]]
    assert len(tracked) >= 35
    face = tracked[-1]["faces"][0]
    assert set(face) >= {"id", "score", "points"} and len(face["points"]) == 68
    pts = np.array(face["points"])
    gt = truths[tracked[-1]["frame"]][0].points
    iod = np.linalg.norm(gt[36] - gt[45])
    assert np.linalg.norm(pts.mean(0) - gt.mean(0)) < 0.5 * iod  # on the face
    assert len({ln["faces"][0]["id"] for ln in tracked}) <= 2  # one face, one id (at most one re-acquire)


@pytest.mark.slow
def test_make_run_without_camera_or_screen_serves_the_synthetic_face_over_http():
    if glob.glob("/dev/video*") or glob.glob("/dev/dri/card*") or os.path.exists("/dev/fb0"):
        pytest.skip("this machine has a camera or a screen, so `auto` would pick it")
    env = dict(os.environ, EDGETRACK_NO_SYSTEM_CONFIG="1")
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "NOTIFY_SOCKET"):
        env.pop(var, None)
    proc = subprocess.Popen([sys.executable, "-m", "edge", "run", "--http-port", "0"], cwd=REPO, env=env,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    lines: list[str] = []
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            url = m.group(1) if m else None
        assert url, "".join(lines)
        text = "".join(lines)
        assert "source: auto -> synthetic" in text and "display: auto -> http" in text
        with urllib.request.urlopen(url + "frame.jpg", timeout=20) as r:
            img = cv2.imdecode(np.frombuffer(r.read(), np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (480, 640, 3)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
