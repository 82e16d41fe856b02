"""GET /faces: Server-Sent Events, each event one --landmarks-out record as written to the file; served by the http
display and, with --faces-feed, beside any other display; readable cross-origin only by pages of this machine."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from edge.service.feed import KEEP, FacesFeed

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_run(args: list[str], port: int, tmp_path: Path) -> subprocess.Popen:
    env = dict(os.environ, EDGETRACK_NO_SYSTEM_CONFIG="1")
    cmd = [sys.executable, "-m", "edge.cli", "run", "--source", "synthetic", "--realtime", "--landmarker", "mean",
           "--http-port", str(port), *args]  # fmt: skip
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "run.log", "w"))


def read_events(port: int, n: int, origin: str = "", deadline_s: float = 60.0) -> tuple[list[str], dict[str, str]]:
    """The first n `data:` payloads of /faces (retrying until the server is up) and the response headers."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}/faces", headers={"Origin": origin} if origin else {})
    for _ in range(int(deadline_s * 10)):
        try:
            resp = urllib.request.urlopen(req, timeout=deadline_s)
            break
        except (urllib.error.URLError, ConnectionError):
            threading.Event().wait(0.1)
    else:
        raise AssertionError(f"nothing listened on port {port}")
    with resp:
        headers = {k.lower(): v for k, v in resp.headers.items()}
        events: list[str] = []
        while len(events) < n:
            line = resp.readline().decode()
            assert line, "the feed ended early"
            if line.startswith("data: "):
                events.append(line[len("data: ") :].rstrip("\n"))
    return events, headers


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def test_each_event_is_one_landmarks_out_line_on_the_http_display(tmp_path):
    port, out = free_port(), tmp_path / "faces.jsonl"
    proc = start_run(["--display", "http", "--landmarks-out", str(out)], port, tmp_path)
    try:
        events, headers = read_events(port, 20)
    finally:
        stop(proc)
    assert headers["content-type"] == "text/event-stream"
    lines = {json.loads(s)["frame"]: s for s in out.read_text().splitlines()}
    frames = [json.loads(e)["frame"] for e in events]
    assert frames == sorted(frames) and len(set(frames)) == len(frames), "each frame once, in order"
    for event, frame in zip(events, frames):
        assert event == lines[frame], "the event is the file's line for that frame, character for character"
    assert any(json.loads(e)["faces"] for e in events), "the synthetic face is in the feed"


def test_faces_feed_beside_another_display_serves_faces_only(tmp_path):
    port = free_port()
    proc = start_run(["--display", "none", "--faces-feed"], port, tmp_path)
    try:
        events, _ = read_events(port, 3, origin="http://127.0.0.1:8000")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/stream.mjpg", timeout=10)
    finally:
        stop(proc)
    assert all({"frame", "t", "faces"} == set(json.loads(e)) for e in events)
    assert err.value.code == 404
    assert "faces feed: http://127.0.0.1:" in (tmp_path / "run.log").read_text()


def test_no_feed_and_no_port_without_http_or_faces_feed(tmp_path):
    port = free_port()
    env = dict(os.environ, EDGETRACK_NO_SYSTEM_CONFIG="1")
    cmd = [sys.executable, "-m", "edge.cli", "run", "--source", "synthetic", "--display", "none", "--landmarker", "mean",
           "--frames", "5", "--http-port", str(port)]  # fmt: skip
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "faces feed" not in done.stderr


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [("http://127.0.0.1:8000", True), ("http://localhost:8080", True), ("https://example.com", False), ("null", False)],
)
def test_only_pages_of_this_machine_may_read_the_feed(tmp_path, origin, allowed):
    from edge.displays.http import FeedServer

    feed = FacesFeed()
    feed.server = FeedServer("127.0.0.1", 0, feed)
    feed.open()
    try:
        got: dict = {}

        def read() -> None:
            got["events"], got["headers"] = read_events(feed.server.port, 1, origin=origin)

        th = threading.Thread(target=read, daemon=True)
        th.start()
        while feed.readers == 0 and th.is_alive():
            threading.Event().wait(0.01)
        feed.write({"frame": 0, "t": 0.0, "faces": []})
        th.join(timeout=30)
    finally:
        feed.close()
    assert got["events"] == ['{"frame":0,"t":0.0,"faces":[]}']
    assert (got["headers"].get("access-control-allow-origin") == origin) is allowed


def test_a_reader_that_falls_behind_keeps_only_the_newest_events():
    feed = FacesFeed()
    release, sent = threading.Event(), []

    def send(data: bytes) -> None:
        if not sent:
            release.wait(30)  # the reader is stuck on its first write while the loop goes on
        sent.append(data)

    th = threading.Thread(target=feed.stream, args=(send,), daemon=True)
    th.start()
    while feed.readers == 0:
        threading.Event().wait(0.01)
    assert feed.active
    for i in range(50):
        feed.write({"frame": i, "t": i / 30, "faces": []})
    release.set()
    while not any(b'"frame":49' in s for s in sent) and th.is_alive():
        threading.Event().wait(0.01)
    feed.close()
    th.join(timeout=10)
    events = [e for s in sent[1:] for e in s.decode().split("\n\n") if e.startswith("data: ")]
    assert len(events) == KEEP and json.loads(events[-1][6:])["frame"] == 49
    assert not feed.active, "the reader is gone once its stream ends"


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed (the MagicMirror² module's side)")
def test_the_magicmirror_module_follows_the_feed_and_passes_on_changes_only():
    """examples/MMM-EdgeTrack/feed.js (what node_helper.js runs) against a real feed server: one summary per change
    of face count or emotion, not one per frame."""
    from edge.displays.http import FeedServer

    feed = FacesFeed()
    feed.server = FeedServer("127.0.0.1", 0, feed)
    feed.open()
    face = {"id": 1, "score": 0.9, "points": [[0.0, 0.0]] * 68, "emotion": {"label": "happiness", "scores": {"happiness": 0.8}}}
    script = (f"const f = require('./feed'); const stop = f.follow('http://127.0.0.1:{feed.server.port}/faces', "
              "s => { console.log(JSON.stringify(s)); if (s.frame === 3) { stop(); } }, st => console.error(st));")  # fmt: skip
    node = subprocess.Popen(["node", "-e", script], cwd=REPO / "examples" / "MMM-EdgeTrack", stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        while feed.readers == 0 and node.poll() is None:
            threading.Event().wait(0.05)
        for i, faces in enumerate([[], [face], [face], [face, {**face, "id": 2}]]):
            feed.write({"frame": i, "t": i / 30, "faces": faces})
        out, err = node.communicate(timeout=30)
    finally:
        node.kill()
        feed.close()
    assert [json.loads(s) for s in out.splitlines()] == [
        {"faces": 0, "emotion": None, "frame": 0},
        {"faces": 1, "emotion": "happiness", "frame": 1},
        {"faces": 2, "emotion": "happiness", "frame": 3},
    ], err
    assert err.splitlines()[0] == "live"
