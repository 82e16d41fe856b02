"""`http`: an MJPEG stream, a small page with live fps and the /faces landmark feed, on 127.0.0.1 by default.

For browser kiosks (Chromium in kiosk mode pointed at the page) and for checking a
headless box from another room over an SSH tunnel. JPEG encoding happens in one
encoder thread and only while someone is watching, so an unwatched stream costs the
tracking loop nothing but a reference swap.

`GET /faces` (edge/service/feed.py) streams each frame's --landmarks-out record as a
Server-Sent Event; `FeedServer` serves it alone when another display draws the picture.
A page from another origin may read /faces and /stats only when that origin is this machine
(http://127.0.0.1:PORT, http://localhost:PORT): a web page from elsewhere open in the same
browser cannot read the landmarks of the person facing the camera.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import cv2
import numpy as np

from edge.displays.base import Display

if TYPE_CHECKING:
    from edge.service.feed import FacesFeed

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>EdgeTrack</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 html,body{margin:0;width:100%;height:100%;overflow:hidden;background:#000;color:#ccc;font:12px sans-serif}
 #v{display:block;width:100vw;height:100vh;object-fit:contain}
 #bar{display:none;position:fixed;left:0;bottom:0;padding:2px 6px;background:rgba(0,0,0,.55)}
 body.debug #bar{display:block}
</style></head>
<body><img id="v" src="/stream.mjpg" alt="live video">
<div id="bar">fps <span id="fps">-</span> &middot; frame <span id="frame">-</span>
 &middot; faces <span id="faces">-</span> &middot; <span id="info"></span> &middot; <span id="link">-</span></div>
<script>
// The picture fills the window, aspect kept. The status bar shows only with ?debug in the address.
// The MJPEG <img> does not come back by itself when the server restarts (watchdog, camera
// replugged), so /stats is polled: a failed poll, a new server `boot` id, an <img> error or no
// stream open on the server for two polls starts the stream again with a fresh URL.
const v = document.getElementById('v'), ds = document.body.dataset;
if (new URLSearchParams(location.search).has('debug')) document.body.classList.add('debug');
let boot = null, lost = false, broken = false, idle = 0, since = 0, restarts = 0;
function restart(){
  restarts += 1; ds.restarts = restarts; since = Date.now(); idle = 0; broken = false;
  v.src = '/stream.mjpg?t=' + Date.now();
}
v.onerror = () => { broken = true; };
v.onload = () => { ds.image = v.naturalWidth + 'x' + v.naturalHeight; };
function text(id, t){ document.getElementById(id).textContent = t; }
async function poll(){
  try{
    const s = await (await fetch('/stats?t=' + Date.now(), {cache:'no-store'})).json();
    text('fps', s.fps.toFixed(1)); text('frame', s.frame); text('faces', s.faces); text('info', s.info || '');
    idle = s.clients > 0 ? 0 : idle + 1;
    const fresh = boot !== null && s.boot !== boot;
    if (fresh || lost || broken || (idle >= 2 && Date.now() - since > 2000)) restart();
    boot = s.boot; ds.boot = boot; lost = false; ds.lost = '0'; text('link', 'live');
    if (v.naturalWidth) ds.image = v.naturalWidth + 'x' + v.naturalHeight;
  }catch(e){ lost = true; ds.lost = '1'; text('link', 'reconnecting'); }
  setTimeout(poll, 500);
}
poll();
</script></body></html>
"""

BOUNDARY = "edgetrackframe"


class HttpDisplay(Display):
    name = "http"

    def __init__(self, host: str = "127.0.0.1", port: int = 8080, quality: int = 80, max_fps: float = 30.0, port_tries: int = 1) -> None:
        self.host, self.port, self.quality, self.max_fps = host, port, quality, max_fps
        self.port_tries = port_tries  # `auto` takes the next free port when the asked one is busy
        self.server: ThreadingHTTPServer | None = None
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._frame_seq = 0
        self._jpeg: bytes | None = None
        self._jpeg_seq = 0
        self._stats: dict = {"fps": 0.0, "frame": 0, "faces": 0, "info": ""}
        self._watch_until = 0.0
        self._clients = 0  # open /stream.mjpg connections, one handler thread each: counted under the lock
        self._clients_lock = threading.Lock()
        self.boot = ""  # new at every open(): the page restarts its stream when it changes
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.jpegs_encoded = 0
        self.feed: FacesFeed | None = None  # GET /faces, when the runtime hands one over

    @property
    def where(self) -> str:  # type: ignore[override]
        return f"http://{self.host}:{self.port}/"

    def open(self, width: int = 640, height: int = 480, fps: float = 30.0) -> None:
        self.server = listen(self.host, self.port, self.port_tries, _make_handler(self, None), "http display")
        self.port = self.server.server_address[1]
        self.boot = f"{os.getpid()}-{time.time_ns()}"
        for target, name in ((self.server.serve_forever, "http display"), (self._encode_loop, "jpeg encoder")):
            th = threading.Thread(target=target, name=name, daemon=True)
            th.start()
            self._threads.append(th)

    # -- pipeline side
    @property
    def clients(self) -> int:
        with self._clients_lock:
            return self._clients

    def _add_client(self, n: int) -> None:
        with self._clients_lock:
            self._clients += n

    def wants_frames(self) -> bool:
        return self.clients > 0 or time.monotonic() < self._watch_until

    def show(self, image: np.ndarray) -> None:
        with self._cond:
            self._frame = image
            self._frame_seq += 1
            self._cond.notify_all()

    def status(self, **stats) -> None:
        self._stats.update(stats)

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        for th in self._threads:
            th.join(timeout=1.0)
        self._threads = []

    # -- encoder thread: newest frame -> JPEG, at most max_fps, only while watched
    def _encode_loop(self) -> None:
        seen = 0
        min_gap = 1.0 / self.max_fps if self.max_fps > 0 else 0.0
        last = 0.0
        while not self._stop.is_set():
            with self._cond:
                self._cond.wait_for(lambda s=seen: self._frame_seq != s or self._stop.is_set(), timeout=0.5)
                if self._stop.is_set():
                    return
                if self._frame_seq == seen:
                    continue
                frame, seen = self._frame, self._frame_seq
            wait = last + min_gap - time.monotonic()
            if wait > 0:
                self._stop.wait(wait)
            ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
            last = time.monotonic()
            if not ok:
                continue
            with self._cond:
                self._jpeg = buf.tobytes()
                self._jpeg_seq += 1
                self.jpegs_encoded += 1
                self._cond.notify_all()

    def _next_jpeg(self, after: int, timeout: float = 1.0) -> tuple[bytes | None, int]:
        with self._cond:
            self._cond.wait_for(lambda: self._jpeg_seq != after or self._stop.is_set(), timeout=timeout)
            return self._jpeg, self._jpeg_seq

    def _touch(self) -> None:
        self._watch_until = time.monotonic() + 2.0


def listen(host: str, port: int, tries: int, handler: type[BaseHTTPRequestHandler], what: str) -> ThreadingHTTPServer:
    """A threaded server on host:port (port 0: any free one; `tries` > 1: the next ports when it is taken)."""
    tries = tries if port else 1
    for k in range(tries):
        try:
            server = ThreadingHTTPServer((host, port + k if port else 0), handler)
            break
        except OSError as exc:
            if k == tries - 1:
                raise RuntimeError(f"{what} cannot listen on {host}:{port} ({exc.strerror}); pass another --http-port") from None
    server.daemon_threads = True
    return server


class FeedServer:
    """/faces alone, on its own port: the feed when the picture goes to another display (sdl, fb, none)."""

    def __init__(self, host: str, port: int, feed: FacesFeed) -> None:
        self.host, self.port, self.feed = host, port, feed
        self.server: ThreadingHTTPServer | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def where(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def open(self) -> None:
        self._stop.clear()
        self.server = listen(self.host, self.port, 1, _make_handler(None, self.feed, self._stop), "faces feed")
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="faces feed", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None


def local_origin(origin: str) -> bool:
    """A page served from this machine (http(s)://127.x.y.z, localhost or [::1], any port): the only other origin
    allowed to read /faces and /stats. 'null' (a file:// page, a sandboxed frame of any site) is not."""
    from edge.displays import is_loopback

    u = urllib.parse.urlsplit(origin)
    return u.scheme in ("http", "https") and bool(u.hostname) and is_loopback(u.hostname or "")


def _make_handler(display: HttpDisplay | None, feed: FacesFeed | None, stop: threading.Event | None = None):
    """Routes: the page, /stats, /frame.jpg and /stream.mjpg of a display (when there is one), /faces of a feed
    (the display's own, or the one given)."""
    stop = stop if stop is not None else (display._stop if display is not None else threading.Event())

    class Handler(BaseHTTPRequestHandler):
        server_version = "EdgeTrack"

        def log_message(self, *args) -> None:  # quiet: a kiosk's journal is not a web log
            pass

        def _allow_origin(self) -> None:
            origin = self.headers.get("Origin", "")
            if origin and local_origin(origin):
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Vary", "Origin")

        def _send(self, body: bytes, ctype: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self._allow_origin()
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if path == "/faces":
                self._faces()
            elif display is None:
                self.send_error(404, "this server has only /faces (the picture goes to another display)")
            elif path in ("/", "/index.html"):
                display._touch()
                self._send(PAGE.encode(), "text/html; charset=utf-8")
            elif path == "/stats":
                display._touch()
                stats = dict(display._stats, boot=display.boot, clients=display.clients)
                self._send(json.dumps(stats).encode(), "application/json")
            elif path == "/frame.jpg":
                display._touch()
                jpeg, _ = display._next_jpeg(display._jpeg_seq, timeout=2.0)  # a fresh one: the pipeline draws once watched
                if jpeg is None:
                    self.send_error(503, "no frame yet")
                else:
                    self._send(jpeg, "image/jpeg")
            elif path == "/stream.mjpg":
                self._stream()
            else:
                self.send_error(404)

        def _faces(self) -> None:
            current = feed if feed is not None else (display.feed if display is not None else None)
            if current is None:
                self.send_error(404, "no faces feed on this server")
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self._allow_origin()
            self.end_headers()

            def send(data: bytes) -> None:
                self.wfile.write(data)
                self.wfile.flush()

            try:
                current.stream(send, stop.is_set)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            display._add_client(1)
            seq = -1
            try:
                while not display._stop.is_set():
                    jpeg, new_seq = display._next_jpeg(seq)
                    if jpeg is None or new_seq == seq:
                        continue
                    seq = new_seq
                    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                    self.wfile.write(head + jpeg + b"\r\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass
            finally:
                display._add_client(-1)

    return Handler
