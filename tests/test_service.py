"""sd_notify against a real AF_UNIX datagram socket; `edgetrack run` under a fake systemd: READY,
WATCHDOG, STATUS with fps, and a clean stop on SIGTERM within 2 s. The http display warns when it
is not on loopback. The sample config systemd/config.toml lists exactly the options there are.
(The unit file itself: tests/test_systemd_unit.py.)"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from media import blank_video

from edge.config import BY_KEY, _flatten, coerce, load_file
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


def test_run_under_fake_systemd_stops_on_sigterm_within_the_units_stop_timeout(tmp_path):
    """READY, WATCHDOG and STATUS reach the notify socket; SIGTERM stops the run cleanly before systemd would kill it
    (the unit's TimeoutStopSec; 2 s was asserted before and failed on a busy machine)."""
    video = blank_video(tmp_path / "loop.avi", 30, fps=30, first=40, step=3)
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
        rc = proc.wait(timeout=60)
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
    stop_timeout = float(re.search(r"^TimeoutStopSec=(\d+)", (REPO / "systemd" / "edgetrack.service").read_text(), re.M).group(1))
    assert took < stop_timeout, f"SIGTERM took {took:.2f} s; systemd kills the kiosk after {stop_timeout:.0f} s"
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


def test_http_display_warns_off_loopback_only(edge_log):
    for host in ("127.0.0.1", "localhost", "::1"):
        assert isinstance(make_display("http:0", http_host=host), HttpDisplay)
        assert not any(EXPOSED in ln for ln in edge_log), (host, edge_log)
    make_display("http", http_host="0.0.0.0", http_port=8081)
    warned = [ln for ln in edge_log if EXPOSED in ln]
    assert len(warned) == 1 and "0.0.0.0:8081" in warned[0], edge_log


@pytest.mark.slow
def test_run_with_a_network_http_host_warns_once_at_start():
    env = dict(os.environ, EDGETRACK_NO_SYSTEM_CONFIG="1")
    cmd = [sys.executable, "-m", "edge", "run", "--source", "synthetic", "--frames", "3", "--landmarker", "mean",
           "--display", "http:0", "--http-host", "0.0.0.0"]  # fmt: skip
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    warned = [ln for ln in r.stderr.splitlines() if EXPOSED in ln]
    assert len(warned) == 1, r.stderr
    assert r.stderr.index(EXPOSED) < r.stderr.index("stopped"), "the warning comes at start"


# -- the sample config

SAMPLE = REPO / "systemd" / "config.toml"
UNIT = REPO / "systemd" / "edgetrack.service"


def sample_keys(path: Path = SAMPLE) -> list[tuple[str, Any, str, bool]]:
    """(option key, value, line, commented) for every key line, `# key = value` lines included;
    a line under `[smooth]` is `smooth_<key>`, and `enabled` the table's own option."""
    out = []
    table = ""
    for line in path.read_text().splitlines():
        text = line.strip()
        if text.startswith("[") and text.endswith("]"):
            table = text[1:-1].strip()
            continue
        commented = text.startswith("#")
        body = text.lstrip("#").strip()
        try:
            parsed = tomllib.loads(body)
        except tomllib.TOMLDecodeError:
            assert commented, f"{path}: uncommented line is not TOML: {line!r}"
            continue  # prose
        if not parsed:
            continue
        assert len(parsed) == 1, line
        flat = _flatten({table: parsed} if table else parsed)
        ((key, value),) = flat.items()
        out.append((key, value, line, commented))
    return out


def test_sample_config_lists_every_option_once():
    keys = [k for k, *_ in sample_keys()]
    assert len(keys) == len(set(keys)), f"listed twice: {sorted(k for k in set(keys) if keys.count(k) > 1)}"
    assert set(keys) == set(BY_KEY), f"missing: {sorted(set(BY_KEY) - set(keys))}; unknown: {sorted(set(keys) - set(BY_KEY))}"


def test_sample_config_loads_as_it_is_and_uncommented(tmp_path):
    cfg = load_file(SAMPLE)
    assert cfg["source"] == "auto" and cfg["http_host"] == "127.0.0.1" and cfg["smooth"] is True
    assert is_loopback(cfg["http_host"])
    # every commented line is a valid value too: uncomment them all and load again
    found = {line for *_, line, commented in sample_keys() if commented}
    text = "\n".join(ln.strip().lstrip("#").strip() if ln in found else ln for ln in SAMPLE.read_text().splitlines())
    full = tmp_path / "config.toml"
    full.write_text(text + "\n")
    assert set(load_file(full)) == set(BY_KEY)


def test_sample_commented_lines_show_the_default_unless_an_example():
    for key, value, line, commented in sample_keys():
        if commented and "example" not in line:
            assert coerce(key, value, "sample") == BY_KEY[key].default, f"{line!r}: the default of {key} is {BY_KEY[key].default!r}"


def test_sample_paths_exist_or_are_marked_examples():
    unit = UNIT.read_text()
    writable = [f"/var/lib/{d}/" for d in re.findall(r"^StateDirectory=(\S+)", unit, re.M)]
    writable += [f"/var/cache/{d}/" for d in re.findall(r"^CacheDirectory=(\S+)", unit, re.M)]
    assert writable
    paths = 0
    for _key, value, line, commented in sample_keys():
        for v in value if isinstance(value, list) else [value]:
            if not (isinstance(v, str) and v.startswith("/")):
                continue
            paths += 1
            assert commented and "example" in line, f"{line!r}: a path must be a commented example"
            if v.startswith("/opt/edgetrack/"):  # the checkout as the README installs it
                assert (REPO / v.removeprefix("/opt/edgetrack/")).exists(), f"{line!r}: no such file in the repository"
            elif v.startswith("/var/"):  # the service writes only where the unit lets it (ProtectSystem=strict)
                assert v.startswith(tuple(writable)), f"{line!r}: not under {writable}"
            else:
                assert v.startswith("/dev/"), f"{line!r}: a path outside /opt/edgetrack, /var and /dev"
    assert paths >= 3
