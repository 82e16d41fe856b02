"""Nothing a user feeds `edgetrack run` loses data: outputs that would write over an input, folders given as
files, an existing video, bad ports each end in one line (exit 2) with the input byte-for-byte unchanged;
--landmarks-out appends whole JSON lines, rotates by size and stops cleanly on a full disk."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import blank_video

from edge.cli import main

REPO = Path(__file__).resolve().parents[1]
FAST = ["--landmarker", "mean", "--width", "320", "--height", "240"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refused(capsys, argv: list[str]) -> str:
    """Exit 2 and exactly one `edgetrack run:` line on stderr, no traceback; returns that line."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [ln for ln in err.splitlines() if ln.startswith("edgetrack run:")]
    assert len(errors) == 1, err
    return errors[0]


def jsonl(path: Path) -> list[dict]:
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "the file must end on a whole line"
    return [json.loads(ln) for ln in text.splitlines()]


@pytest.fixture
def video(tmp_path) -> Path:
    return blank_video(tmp_path / "in.avi")


# --- an output that is an input ------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--display", "--landmarks-out"])
@pytest.mark.parametrize("spelling", ["file:", ""])
def test_output_onto_the_source_video_is_refused(video, capsys, flag, spelling):
    before = sha(video)
    outputs = ["--display", f"file:{video}"] if flag == "--display" else ["--display", "none", "--landmarks-out", str(video)]
    err = refused(capsys, ["run", "--source", f"{spelling}{video}", *outputs, *FAST])
    assert "is the source video" in err and str(video) in err and "new file name" in err
    assert sha(video) == before


def test_output_through_a_symlink_or_hard_link_to_the_source_is_refused(video, tmp_path, capsys):
    before = sha(video)
    (tmp_path / "sym.jsonl").symlink_to(video)
    os.link(video, tmp_path / "hard.avi")
    err = refused(capsys, ["run", "--source", f"file:{video}", "--display", "none", "--landmarks-out", str(tmp_path / "sym.jsonl"), *FAST])
    assert "is the source video" in err
    err = refused(capsys, ["run", "--source", f"file:{tmp_path / 'hard.avi'}", "--display", "none", "--landmarks-out", str(video), *FAST])
    assert "is the source video" in err
    assert sha(video) == before


def test_output_onto_the_config_file_is_refused(tmp_path, capsys):
    cfg = tmp_path / "config.toml"
    cfg.write_text('source = "synthetic"\ndisplay = "none"\nlandmarker = "mean"\nframes = 5\n')
    before = sha(cfg)
    err = refused(capsys, ["run", "--config", str(cfg), "--landmarks-out", str(cfg)])
    assert "--config file" in err and str(cfg) in err
    err = refused(capsys, ["run", "--config", str(cfg), "--display", f"file:{cfg}"])
    assert "--config file" in err
    assert sha(cfg) == before


def test_output_onto_the_model_file_is_refused(tmp_path, capsys):
    model = tmp_path / "cnn.tflite"
    model.write_bytes(b"TFL3" + bytes(range(256)))
    before = sha(model)
    err = refused(
        capsys, ["run", "--source", "synthetic", "--display", "none", "--model", str(model), "--landmarks-out", str(model), *FAST]
    )
    assert "--model file" in err
    assert sha(model) == before


def test_output_onto_an_image_of_the_source_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.full((240, 320, 3), 40 * i, np.uint8))
    before = {p.name: sha(p) for p in folder.iterdir()}
    err = refused(capsys, ["run", "--source", f"images:{folder}", "--display", "none", "--landmarks-out", str(folder / "001.png"), *FAST])
    assert "image of the source" in err
    err = refused(capsys, ["run", "--source", str(folder), "--display", "none", "--landmarks-out", str(folder / "new.png"), *FAST])
    assert "image of the source" in err
    assert {p.name: sha(p) for p in folder.iterdir()} == before


# --- folders, missing folders, existing files ----------------------------------------------------


def test_a_folder_given_as_an_output_file(tmp_path, capsys):
    err = refused(capsys, ["run", "--source", "synthetic", "--frames", "5", "--display", "none", "--landmarks-out", str(tmp_path), *FAST])
    assert "is a folder" in err and str(tmp_path / "landmarks.jsonl") in err
    err = refused(capsys, ["run", "--source", "synthetic", "--frames", "5", "--display", f"file:{tmp_path}", *FAST])
    assert "is a folder" in err and "out.mp4" in err
    assert list(tmp_path.iterdir()) == []


def test_an_output_in_a_missing_folder(tmp_path, capsys):
    for flag, value in (("--landmarks-out", str(tmp_path / "no" / "x.jsonl")), ("--display", f"file:{tmp_path / 'no' / 'x.avi'}")):
        argv = ["run", "--source", "synthetic", "--frames", "5", *FAST, flag, value]
        if flag != "--display":
            argv += ["--display", "none"]
        err = refused(capsys, argv)
        assert "does not exist; create it first" in err and str(tmp_path / "no") in err
    assert not (tmp_path / "no").exists()


def test_an_output_name_the_system_cannot_take(capsys):
    long = "x" * 300  # over NAME_MAX (255): the old code raised OSError with a traceback
    for out in (["--display", "none", "--landmarks-out", f"{long}.jsonl"], ["--display", f"file:{long}.avi"]):
        err = refused(capsys, ["run", "--source", "synthetic", "--frames", "5", *FAST, *out])
        assert "as an output (" in err and "give another file name" in err


def test_an_empty_video_name(capsys):
    assert "needs a file name" in refused(capsys, ["run", "--source", "synthetic", "--frames", "5", "--display", "file:", *FAST])


def test_an_existing_video_is_never_overwritten(video, tmp_path, capsys):
    out = tmp_path / "out.avi"
    assert main(["run", "--source", f"file:{video}", "--display", f"file:{out}", *FAST]) == 0
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 20
    cap.release()
    before = sha(out)
    err = refused(capsys, ["run", "--source", f"file:{video}", "--display", f"file:{out}", *FAST])
    assert "already exists" in err and "new --display file:PATH" in err
    assert sha(out) == before


def test_the_video_display_claims_its_name_at_the_first_frame(tmp_path):
    """A file that appears after open() (another process) is not overwritten either."""
    from edge.displays import make_display

    out = tmp_path / "late.avi"
    disp = make_display(f"file:{out}")
    disp.open(320, 240, 25.0)
    out.write_bytes(b"someone else's file")
    with pytest.raises(ValueError, match="already exists"):
        disp.show(np.zeros((240, 320, 3), np.uint8))
    disp.close()
    assert out.read_bytes() == b"someone else's file"


def test_video_and_landmarks_on_the_same_name(tmp_path, capsys):
    same = tmp_path / "both.avi"
    err = refused(
        capsys, ["run", "--source", "synthetic", "--frames", "5", "--display", f"file:{same}", "--landmarks-out", str(same), *FAST]
    )
    assert "both name" in err
    assert not same.exists()


def test_landmarks_out_onto_a_file_that_is_not_landmarks(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    before = sha(notes)
    err = refused(capsys, ["run", "--source", "synthetic", "--frames", "5", "--display", "none", "--landmarks-out", str(notes), *FAST])
    assert "not a landmarks file" in err
    assert sha(notes) == before


# --- ports ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--display", "http:99999"], ["http:99999", "0-65535"]),
        (["--display", "http:abc"], ["http:abc", "0-65535"]),
        (["--display", "http:-1"], ["http:-1", "0-65535"]),
        (["--display", "http", "--http-port", "70000"], ["http_port", "70000", "0-65535"]),
        (["--display", "http", "--http-port", "eighty"], ["http_port", "eighty"]),
    ],
)
def test_a_bad_port_is_one_line(capsys, argv, words):
    err = refused(capsys, ["run", "--source", "synthetic", "--frames", "5", *FAST, *argv])
    assert all(w in err for w in words), err


# --- --landmarks-out: append, whole lines, rotation, full disk -----------------------------------


def test_landmarks_append_across_runs(video, tmp_path):
    out = tmp_path / "lm.jsonl"
    argv = ["run", "--source", f"file:{video}", "--display", "none", "--landmarks-out", str(out), *FAST]
    assert main(argv) == 0
    first = out.read_bytes()
    assert main(argv) == 0
    assert out.read_bytes().startswith(first), "a second run must not change the first run's lines"
    assert [ln["frame"] for ln in jsonl(out)] == list(range(20)) * 2


def test_landmarks_after_a_partial_last_line_start_on_a_new_line(video, tmp_path):
    out = tmp_path / "lm.jsonl"
    earlier = b'{"frame":0,"t":0.0,"faces":[]}\n{"frame":1,"t":0.03'  # a power cut mid-line
    out.write_bytes(earlier)
    assert main(["run", "--source", f"file:{video}", "--display", "none", "--landmarks-out", str(out), *FAST]) == 0
    data = out.read_bytes()
    assert data.startswith(earlier + b"\n")
    lines = data.decode().splitlines()
    assert lines[1] == '{"frame":1,"t":0.03'  # kept, on a line of its own
    assert [json.loads(ln)["frame"] for ln in lines[2:]] == list(range(20))


def test_landmarks_rotate_by_size_keeping_n_files(tmp_path):
    video = blank_video(tmp_path / "in.avi", 60)
    out = tmp_path / "lm.jsonl"
    max_mb = 300 / 2**20  # ~300 bytes: about 9 lines of a faceless frame per file
    argv = ["run", "--source", f"file:{video}", "--display", "none", "--landmarks-out", str(out),
            "--landmarks-out-max-mb", str(max_mb), "--landmarks-out-keep", "2", *FAST]  # fmt: skip
    assert main(argv) == 0
    rotated = sorted(tmp_path.glob("lm.jsonl.*"))
    assert [p.name for p in rotated] == ["lm.jsonl.1", "lm.jsonl.2"]  # keep 2: the oldest were dropped
    frames = []
    for p in (tmp_path / "lm.jsonl.2", tmp_path / "lm.jsonl.1", out):  # oldest first
        assert 0 < p.stat().st_size <= 300
        frames += [ln["frame"] for ln in jsonl(p)]
    assert frames == list(range(60 - len(frames), 60)) and len(frames) < 60  # contiguous up to the last frame


def test_landmarks_out_on_dev_full_is_one_line(video, capsys):
    if not os.path.exists("/dev/full"):
        pytest.skip("/dev/full (always ENOSPC) is Linux-only")
    err = refused(capsys, ["run", "--source", f"file:{video}", "--display", "none", "--landmarks-out", "/dev/full", *FAST])
    assert "disk full writing /dev/full: 0 lines written; free space or point --landmarks-out elsewhere" in err
    assert sha(video)  # the input is still readable


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 16 KiB tmpfs (root only): a real full disk."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


@pytest.mark.slow
def test_a_full_disk_ends_the_run_with_one_line_and_whole_lines(video, tiny_tmpfs, capsys):
    out = tiny_tmpfs / "lm.jsonl"
    earlier = b'{"frame":0,"t":0.0,"faces":[]}\n' * 3
    out.write_bytes(earlier)
    argv = ["run", "--source", f"file:{video}", "--loop", "--frames", "5000", "--display", "none", "--landmarks-out", str(out), *FAST]
    err = refused(capsys, argv)
    assert f"disk full writing {out}:" in err and "free space or point --landmarks-out elsewhere" in err
    written = int(err.split(": ")[-1].split(" lines written")[0].rsplit(" ", 1)[-1])
    data = out.read_bytes()
    assert data.startswith(earlier) and data.endswith(b"\n")
    lines = jsonl(out)
    assert len(lines) == 3 + written and written > 100
    assert [ln["frame"] for ln in lines[3:]] == [i % 20 for i in range(written)]
    with pytest.raises(OSError) as exc:  # it really was full
        with (tiny_tmpfs / "more").open("wb") as f:
            f.write(b"x" * 8192)
    assert exc.value.errno == errno.ENOSPC


def test_a_file_size_limit_cuts_back_to_the_last_whole_line(video, tmp_path):
    """RLIMIT_FSIZE makes the kernel write part of a line, then fail (EFBIG): portable, no root needed."""
    out = tmp_path / "lm.jsonl"
    limit = 1000  # not a multiple of a line's length: the last write is cut mid-line
    env = dict(os.environ, EDGETRACK_NO_SYSTEM_CONFIG="1", PYTHONDONTWRITEBYTECODE="1", NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    cmd = [sys.executable, "-m", "edge", "run", "--source", f"file:{video}", "--loop", "--frames", "5000", "--display", "none",
           "--landmarks-out", str(out), *FAST]  # fmt: skip
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("edgetrack run:")]
    assert len(errors) == 1 and "file size limit reached writing" in errors[0], r.stderr
    data = out.read_bytes()
    assert 0 < len(data) <= limit and data.endswith(b"\n")
    lines = jsonl(out)
    assert f"{len(lines)} lines written" in errors[0]
