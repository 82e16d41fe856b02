"""What several test modules share, one copy each (importable as `media`: pytest puts tests/ on sys.path): generated
videos and pictures, the synthetic points of a face, the val faces of a folder, and a headless Chromium driven over
DevTools. Fixtures live in conftest.py. A test module never imports another test module."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

# ---- videos -------------------------------------------------------------------------------------------------


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float = 30.0) -> Path:
    """An MJPG .avi of BGR frames (all one size): a real file for `--source file:`."""
    w = None
    for frame in frames:
        if w is None:
            h, wd = frame.shape[:2]
            w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (wd, h))
        w.write(frame)
    assert w is not None, "no frames to write"
    w.release()
    assert path.stat().st_size > 0
    return path


def synthetic_video(path: Path, n: int, width: int = 640, height: int = 480, start: int = 0, fps: float = 30.0) -> tuple[Path, list]:
    """Frames start..start+n of the default synthetic face as a video, and the truth of each frame."""
    from edge.synth import SyntheticFace

    synth = SyntheticFace(width, height, seed=0, scenario="default")
    rendered = [synth.render(i) for i in range(start, start + n)]
    return write_video(path, (f for f, _ in rendered), fps), [t for _, t in rendered]


def numbered_frame(i: int, w: int = 160, h: int = 120) -> np.ndarray:
    """A frame whose index can be read back from its pixels even after lossy video coding."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 0] = (i % 36) * 7
    img[:, :, 1] = (i // 36) * 7 % 256
    return img


def read_index(img: np.ndarray) -> int:
    b, g = float(img[:, :, 0].mean()), float(img[:, :, 1].mean())
    return int(round(b / 7)) + 36 * int(round(g / 7))


def blank_video(path: Path, n: int = 20, size: tuple[int, int] = (320, 240), fps: float = 25.0, first: int = 60, step: int = 4) -> Path:
    """An MJPG .avi of n faceless frames, each `step` grey levels lighter than the one before."""
    w, h = size
    return write_video(path, (np.full((h, w, 3), (first + step * i) % 256, np.uint8) for i in range(n)), fps)


# ---- pictures and points ------------------------------------------------------------------------------------


def textured(seed: int, size: int, blur: float) -> np.ndarray:
    """Blurred noise stretched to 0..255 (uint8): a picture with detail everywhere, for trackers and correlators."""
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 255, (size, size), dtype=np.uint8), (0, 0), blur)
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)


def face_points(scale: float = 80.0, angle: float = 0.0, centre=(120.0, 100.0)) -> np.ndarray:
    """The mean shape as 68 points (float32): `scale` px across, turned by `angle` radians about `centre`."""
    from edge.geometry import Similarity
    from edge.shape_model import ShapeModel

    mean = ShapeModel.load().mean
    mean = mean / np.ptp(mean, axis=0).mean()
    return Similarity(scale * np.cos(angle), scale * np.sin(angle), *centre).apply(mean).astype(np.float32)


def val_samples(folder: Path, n: int) -> list:
    """The first n faces of the folder's val part (its recorded identity split)."""
    from edge.data import load_dataset, load_or_make_split

    samples, _ = load_dataset(folder, quiet=True)
    return load_or_make_split(folder, samples).select(samples, "val")[:n]


# ---- headless Chromium --------------------------------------------------------------------------------------


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


class DevTools:
    """Just enough of a websocket client for DevTools calls: text frames out (masked), replies in."""

    def __init__(self, ws_url: str, timeout: float = 10.0) -> None:
        u = urllib.parse.urlparse(ws_url)
        assert u.hostname == "127.0.0.1", ws_url
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the websocket handshake")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        assert b" 101 " in head.split(b"\r\n", 1)[0], head
        self.next_id = 0

    def _send(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        if n < 126:
            size = bytes([0x80 | n])
        elif n < 65536:
            size = bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            size = bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        body = (np.frombuffer(payload, np.uint8) ^ np.resize(np.frombuffer(mask, np.uint8), n)).tobytes()
        self.sock.sendall(bytes([0x80 | opcode]) + size + mask + body)

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("DevTools closed the websocket")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _message(self) -> dict:
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)  # server frames are not masked
            opcode = b0 & 0x0F
            if opcode == 9:
                self._send(10, payload)  # ping -> pong
                continue
            if opcode == 8:
                raise ConnectionError("DevTools closed the websocket")
            parts.append(payload)
            if b0 & 0x80:
                return json.loads(b"".join(parts))

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self._send(1, json.dumps({"id": self.next_id, "method": method, "params": params}).encode())
        while True:
            msg = self._message()
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    def evaluate(self, js: str):
        return self.call("Runtime.evaluate", expression=js, returnByValue=True)["result"].get("value")

    def close(self) -> None:
        self.sock.close()


class Browser:
    """Headless Chromium on a page, its DevTools on a port it picks itself (read from DevToolsActivePort)."""

    def __init__(self, url: str, profile: Path, width: int, height: int, deadline: float) -> None:
        args = [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--hide-scrollbars", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                f"--user-data-dir={profile}", f"--window-size={width},{height}", url]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                     env=dict(os.environ, HOME=str(profile)))  # fmt: skip
        port_file = profile / "DevToolsActivePort"
        port = wait_for(lambda: port_file.is_file() and port_file.read_text().split("\n", 1)[0].strip(), deadline, "DevTools port")
        base = f"http://127.0.0.1:{int(port)}"

        def page_ws():
            with urllib.request.urlopen(base + "/json/list", timeout=2) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            return pages[0]["webSocketDebuggerUrl"] if pages else None

        self.devtools = DevTools(wait_for(page_ws, deadline, "a DevTools page target"))

    def close(self) -> None:
        try:
            self.devtools.close()
        finally:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # Chromium and the helpers it started, by its own group id
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


def wait_for(fn, deadline: float, what: str, pause: float = 0.1):
    """fn() until it gives something truthy; a failure names what never came (no timing is asserted)."""
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except (OSError, ValueError, ConnectionError):
            last = None
        if last:
            return last
        time.sleep(pause)
    raise AssertionError(f"{what} never came (last seen: {last!r})")


# the page's <img> drawn on a canvas: size, the corner colour (which server) and the centre (which frame)
