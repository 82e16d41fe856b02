"""The Heartbeat against a real sd_notify socket, on a clock the test sets: READY once (after the first frame,
or after READY_WAIT_S waiting for the camera), WATCHDOG pings, one status line and STATUS per interval, and
one 'waiting for' line per interval while no frame comes."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from edge.service import Notifier
from edge.service.heartbeat import READY_WAIT_S, Heartbeat


@pytest.fixture
def systemd(tmp_path: Path):
    """(Notifier with a 2 s watchdog, a function that returns the messages sent since it was last called)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(0.2)
    notifier = Notifier(str(tmp_path / "notify"), watchdog_usec=2_000_000)

    def sent() -> list[str]:
        out = []
        try:
            while True:
                out.append(sock.recv(4096).decode())
        except TimeoutError:
            return out

    yield notifier, sent
    notifier.close()
    sock.close()


def test_ready_with_the_first_frame_then_status_once_per_interval(systemd, edge_log):
    notifier, sent = systemd
    beat = Heartbeat(notifier, every=5.0, source="cam", display="http", now=100.0)
    beat.frame(0, 1, now=100.1)
    first = sent()
    assert first[0].startswith("READY=1\nSTATUS=tracking cam -> http") and first[1:] == ["WATCHDOG=1"]
    for k in range(2, 11):
        beat.frame(k - 1, 1, now=100.0 + 0.1 * k)
    assert beat.fps == pytest.approx(10.0)
    assert sent() == []  # the next ping is due half the 2 s timeout after the last; READY only once
    assert edge_log == []
    beat.frame(10, 2, now=105.5)  # one frame in the 4.5 s since the fps was last worked out
    assert edge_log == ["0.2 fps, frame 10, 2 face(s), cam -> http"]
    assert sent() == ["WATCHDOG=1", "STATUS=0.2 fps, frame 10, 2 face(s), cam -> http"]
    beat.frame(11, 2, now=106.0)
    assert len(edge_log) == 1


def test_waiting_for_the_camera_says_so_once_per_interval_and_is_ready_after_a_while(systemd, edge_log):
    notifier, sent = systemd
    beat = Heartbeat(notifier, every=5.0, source="v4l2:0", display="none", now=0.0)
    beat.waiting("/dev/video0 is not there", now=3.0)
    assert sent() == ["WATCHDOG=1"] and edge_log == []
    beat.waiting("/dev/video0 is not there", now=6.0)
    assert edge_log == ["waiting for v4l2:0 (6 s without a frame: /dev/video0 is not there); retrying"]
    assert "STATUS=waiting for v4l2:0" in sent()
    beat.waiting("", now=READY_WAIT_S + 0.5)  # up and waiting: READY, so systemd does not restart it in a loop
    assert any(m.startswith("READY=1\nSTATUS=waiting for v4l2:0") for m in sent()) and len(edge_log) == 1
    beat.waiting("", now=11.5)
    assert edge_log[-1] == "waiting for v4l2:0 (12 s without a frame: no frame yet); retrying"
    beat.frame(0, 0, now=12.0)
    assert not any(m.startswith("READY=1") for m in sent())  # already said


def test_without_systemd_it_only_logs(edge_log):
    beat = Heartbeat(None, every=1.0, source="synthetic", display="none", now=0.0)
    beat.waiting("", now=2.0)
    beat.frame(0, 1, now=3.5)
    beat.stopping("stopping after 1 frames")
    assert [line.split(" (")[0].split(",")[0] for line in edge_log] == ["waiting for synthetic", "0.3 fps"]
