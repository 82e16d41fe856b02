"""sd_notify against a real AF_UNIX datagram socket; `edgetrack run` under a fake systemd: READY,
WATCHDOG, STATUS with fps, and a clean stop on SIGTERM within 2 s. The http display warns when it
is not on loopback. (The unit file itself: tests/test_systemd_unit.py.)"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.displays import HttpDisplay, is_loopback, make_display
from edge.service import Notifier

REPO = Path(__file__).resolve().parents[1]


def listen(path: Path) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    s.settimeout(5)
    return s


def test_notify_messages_on_a_real_socket(tmp_path):
    sock = listen(tmp_path / "notify")
    n = Notifier(str(tmp_path / "notify"), watchdog_usec=2_000_000)
    try:
        assert n.enabled and n.watchdog_interval == 1.0
        assert n.ready("tracking")
        msg = sock.recv(4096).decode()
        assert msg.splitlines()[0] == "READY=1" and "STATUS=tracking" in msg and f"MAINPID={os.getpid()}" in msg
        assert n.status("31.0 fps")
        assert sock.recv(4096) == b"STATUS=31.0 fps"
        assert n.watchdog(now=100.0)
        assert sock.recv(4096) == b"WATCHDOG=1"
        assert not n.watchdog(now=100.5)  # half the timeout has not passed
        assert n.watchdog(now=101.1)
        assert sock.recv(4096) == b"WATCHDOG=1"
        assert n.stopping()
        assert sock.recv(4096) == b"STOPPING=1"
    finally:
        n.close()
        sock.close()


def test_abstract_socket_and_no_systemd(tmp_path):
    name = f"edgetrack-test-{os.getpid()}"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + name)
    s.settimeout(5)
    n = Notifier("@" + name, watchdog_usec=0)
    try:
        assert n.ready()
        assert s.recv(4096).startswith(b"READY=1")
        assert not n.watchdog()  # watchdog off
    finally:
        n.close()
        s.close()
    off = Notifier("", watchdog_usec=0)
    assert not off.enabled and not off.ready() and not off.status("x")


def test_gone_systemd_never_raises(tmp_path):
    n = Notifier(str(tmp_path / "nobody-listens"), watchdog_usec=1000)
    assert not n.ready()
    n.close()


def write_video(path: Path, n: int = 30) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (320, 240))
    for i in range(n):
        img = np.full((240, 320, 3), 40 + i * 3, np.uint8)
        w.write(img)
    w.release()
    return path


def test_run_under_fake_systemd_stops_on_sigterm_within_2s(tmp_path):
    video = write_video(tmp_path / "loop.avi")
    sock = listen(tmp_path / "notify")
    env = dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify"), WATCHDOG_USEC="400000", EDGETRACK_NO_SYSTEM_CONFIG="1")
    env.pop("WATCHDOG_PID", None)
    cmd = [sys.executable, "-m", "edge", "run", "--source", f"file:{video}", "--loop", "--realtime", "--display", "none",
           "--landmarker", "mean", "--status-every", "0.3"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            any(m.startswith("READY=1") for m in got) and "WATCHDOG=1" in got and any("fps" in m for m in got if m.startswith("STATUS="))
        ):
            try:
                got.extend(sock.recv(4096).decode().splitlines())
            except TimeoutError:
                break
        assert any(m.startswith("READY=1") for m in got), f"no READY=1; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
        assert "WATCHDOG=1" in got
        assert any(m.startswith("STATUS=") and "fps" in m for m in got)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=5)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    sock.settimeout(1)
    rest = []
    try:
        while True:
            rest.extend(sock.recv(4096).decode().splitlines())
    except TimeoutError:
        pass
    sock.close()
    assert rc == 0, proc.stderr.read()
    assert took < 2.0, f"SIGTERM took {took:.2f} s"
    assert "STOPPING=1" in rest
    assert "stopped (SIGTERM)" in proc.stderr.read()


# -- the http display off loopback

EXPOSED = "visible to the network"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1"])
def test_loopback_hosts(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.168.1.20", "10.0.0.1", "::ffff:192.168.1.20", "mirror.local", "128.0.0.1"])
def test_hosts_that_are_not_loopback(host):
    assert not is_loopback(host)


def test_http_display_warns_off_loopback_only():
    for host in ("127.0.0.1", "localhost", "::1"):
        lines: list[str] = []
        assert isinstance(make_display("http:0", http_host=host, log=lines.append), HttpDisplay)
        assert not any(EXPOSED in ln for ln in lines), (host, lines)
    lines = []
    make_display("http", http_host="0.0.0.0", http_port=8081, log=lines.append)
    warned = [ln for ln in lines if EXPOSED in ln]
    assert len(warned) == 1 and "0.0.0.0:8081" in warned[0], lines


def test_run_with_a_network_http_host_warns_once_at_start():
    env = dict(os.environ, EDGETRACK_NO_SYSTEM_CONFIG="1")
    cmd = [sys.executable, "-m", "edge", "run", "--source", "synthetic", "--frames", "3", "--landmarker", "mean",
           "--display", "http:0", "--http-host", "0.0.0.0"]  # fmt: skip
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    warned = [ln for ln in r.stderr.splitlines() if EXPOSED in ln]
    assert len(warned) == 1, r.stderr
    assert r.stderr.index(EXPOSED) < r.stderr.index("stopped"), "the warning comes at start"
