"""The kiosk page in a real headless Chromium, driven over the DevTools protocol: the picture
comes back by itself after the http display's server is stopped and a new one starts on the
same port (a watchdog restart, a replugged camera), and it fills a 1920x1080 window.

The DevTools client is a few lines of stdlib websocket; everything stays on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.displays import HttpDisplay


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


pytestmark = pytest.mark.skipif(chromium() is None, reason="headless Chromium is not installed (make browser: apt-get install chromium)")


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
PROBE = """(() => {
  const v = document.getElementById('v');
  if (!v || !v.complete || !v.naturalWidth) return null;
  const c = document.createElement('canvas'); c.width = v.naturalWidth; c.height = v.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(v, 0, 0);
  const a = g.getImageData(20, 20, 1, 1).data, b = g.getImageData(c.width / 2, c.height / 2, 1, 1).data;
  return {w: v.naturalWidth, h: v.naturalHeight, corner: [a[0], a[1], a[2]], centre: b[0],
          restarts: +(document.body.dataset.restarts || 0), lost: document.body.dataset.lost || ''};
})()"""

BLUE, RED = (220, 40, 40), (40, 40, 220)  # BGR backgrounds: server A, server B


def frame(background: tuple[int, int, int], i: int) -> np.ndarray:
    img = np.empty((480, 640, 3), np.uint8)
    img[:] = background
    img[140:340, 220:420] = 30 + (i * 37) % 190  # a grey block that changes every frame
    return img


def is_colour(rgb, bgr) -> bool:
    return all(abs(int(a) - b) < 40 for a, b in zip(rgb, bgr[::-1]))


class Feeder:
    """A pipeline stand-in: 30 frames a second to whichever display is current."""

    def __init__(self) -> None:
        self.display: HttpDisplay | None = None
        self.background = BLUE
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        i = 0
        while not self.stop.is_set():
            disp = self.display
            if disp is not None:
                disp.show(frame(self.background, i))
                disp.status(fps=30.0, frame=i, faces=0, info="kiosk test")
            i += 1
            self.stop.wait(1 / 30)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)


def live_frames(dt: DevTools, colour, deadline: float, what: str) -> dict:
    """Waits for the page's picture to be `colour` and to change while watched (a live stream, not a still)."""
    first = wait_for(lambda: (p := dt.evaluate(PROBE)) and is_colour(p["corner"], colour) and p, deadline, what)
    wait_for(lambda: (p := dt.evaluate(PROBE)) and is_colour(p["corner"], colour) and p["centre"] != first["centre"],
             deadline, f"{what}: a second, different frame")  # fmt: skip
    return first


@pytest.mark.parametrize("outage_s", [1.2, 0.0], ids=["down-a-while", "instant-restart"])
def test_kiosk_page_reconnects_after_the_server_restarts(tmp_path, outage_s):
    """Down a while: the page's /stats polls fail, then recover. Instant: only the server's boot id tells."""
    deadline = time.monotonic() + 28
    feeder = Feeder()
    first = HttpDisplay("127.0.0.1", port=0)
    first.open()
    port = first.port
    feeder.display = first
    second = None
    browser = None
    try:
        browser = Browser(first.where, tmp_path / "profile", 800, 600, deadline)
        dt = browser.devtools
        before = live_frames(dt, BLUE, deadline, "the first server's frames in the page")
        assert (before["w"], before["h"]) == (640, 480)

        feeder.display = None
        first.close()  # the service stops (watchdog restart, camera replugged) ...
        time.sleep(outage_s)  # nothing listens on the port: the page polls /stats every 0.5 s into a closed port
        second = HttpDisplay("127.0.0.1", port=port)  # ... and a new process serves the same port
        second.open()
        feeder.background = RED
        feeder.display = second

        after = live_frames(dt, RED, deadline, "the new server's frames in the same page, not reloaded")
        assert after["restarts"] >= 1, "the picture came back without the page restarting its stream?"
        assert dt.evaluate("document.getElementById('v').src").startswith(f"http://127.0.0.1:{port}/stream.mjpg?t=")
        assert second.clients >= 1, "the new server has no stream open from the page"
    finally:
        if browser is not None:
            browser.close()
        feeder.close()
        first.close()
        if second is not None:
            second.close()


def test_kiosk_page_fills_a_1920x1080_screen(tmp_path):
    """A 640x480 picture on a 1920x1080 kiosk: scaled to 1440x1080, centred, black bars, no scrollbars, no status bar."""
    deadline = time.monotonic() + 25
    feeder = Feeder()
    disp = HttpDisplay("127.0.0.1", port=0)
    disp.open()
    feeder.display = disp
    browser = None
    try:
        browser = Browser(disp.where, tmp_path / "profile", 1920, 1080, deadline)
        dt = browser.devtools
        dt.call("Emulation.setDeviceMetricsOverride", width=1920, height=1080, deviceScaleFactor=1, mobile=False)  # the kiosk screen
        live_frames(dt, BLUE, deadline, "frames in the page")
        layout = dt.evaluate("""(() => { const r = document.getElementById('v').getBoundingClientRect(),
            s = document.scrollingElement, bar = document.getElementById('bar');
            return {x: r.x, y: r.y, w: r.width, h: r.height, iw: innerWidth, ih: innerHeight,
                    sw: s.scrollWidth, sh: s.scrollHeight, bar: getComputedStyle(bar).display}; })()""")
        shot = dt.call("Page.captureScreenshot", format="png")["data"]
        dt.call("Page.navigate", url=disp.where + "?debug")  # the small status line, on request only
        bar_js = "getComputedStyle(document.getElementById('bar')).display === 'block' && document.getElementById('fps').textContent"
        bar_js += ".replace('-', '')"  # '-' until the first /stats answer
        debug_bar = wait_for(lambda: dt.evaluate(bar_js), deadline, "the ?debug status line")
    finally:
        if browser is not None:
            browser.close()
        feeder.close()
        disp.close()
    assert (layout["iw"], layout["ih"]) == (1920, 1080)
    assert (layout["w"], layout["h"]) == (1920, 1080), "the <img> box does not cover the window"
    assert (layout["sw"], layout["sh"]) == (1920, 1080), "the page scrolls"
    assert layout["bar"] == "none", "the status bar is drawn over the kiosk picture"
    assert debug_bar == "30.0"
    img = cv2.imdecode(np.frombuffer(base64.b64decode(shot), np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[:2] == (1080, 1920)
    cols = np.flatnonzero(np.abs(img[540].astype(int) - BLUE).max(1) < 40)  # where the blue background is on the middle row
    assert abs(cols.min() - 240) <= 2 and abs(cols.max() - 1679) <= 2, (cols.min(), cols.max())  # 1440 wide, centred
    assert img[:, :230].max() < 20 and img[:, -230:].max() < 20, "the bars are not black"
    assert np.abs(img[5, 960].astype(int) - BLUE).max() < 40 and np.abs(img[1074, 960].astype(int) - BLUE).max() < 40  # full height
