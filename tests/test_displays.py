"""Displays: the framebuffer on a file the size of a real one, http through a real headless Chromium,
SDL with the dummy driver, video files, overlays."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import urllib.request

import cv2
import numpy as np
import pytest
from media import chromium

from edge.displays import FbGeometry, FramebufferDisplay, HttpDisplay, VideoFileDisplay, draw_overlay, make_display, read_geometry
from edge.displays.fb import convert
from edge.faces import TrackedFace
from edge.geometry import Box


def test_pattern(w: int = 640, h: int = 480, i: int = 0) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[:, : w // 3] = (255, 0, 0)  # blue
    img[:, w // 3 : 2 * w // 3] = (0, 255, 0)  # green
    img[:, 2 * w // 3 :] = (0, 0, 255)  # red
    cv2.putText(img, str(i), (40, 200), cv2.FONT_HERSHEY_SIMPLEX, 4, (255, 255, 255), 8)
    return img


test_pattern.__test__ = False  # a helper, not a test


def fake_sysfs(root, name: str, w: int, h: int, bpp: int, stride: int | None = None) -> None:
    d = root / name
    d.mkdir(parents=True)
    (d / "virtual_size").write_text(f"{w},{h}\n")
    (d / "bits_per_pixel").write_text(f"{bpp}\n")
    if stride is not None:
        (d / "stride").write_text(f"{stride}\n")


@pytest.mark.parametrize("bpp", [16, 32, 24, 8])
def test_framebuffer_1080p_file(tmp_path, bpp):
    sysfs = tmp_path / "sys"
    stride = 1920 * bpp // 8 + (64 if bpp == 24 else 0)  # a padded stride, as some drivers report
    fake_sysfs(sysfs, "fb0", 1920, 1080, bpp, stride)
    dev = tmp_path / "fb0"
    dev.write_bytes(b"\xff" * (stride * 1080))  # a regular file the size of the framebuffer
    g = read_geometry(dev, sysfs)
    assert (g.width, g.height, g.bpp, g.stride) == (1920, 1080, bpp, stride)
    disp = FramebufferDisplay(dev, sysfs_root=sysfs)
    disp.open()
    disp.show(test_pattern())
    disp.close()
    assert dev.stat().st_size == stride * 1080
    raw = np.fromfile(dev, np.uint8).reshape(1080, stride)[:, : 1920 * bpp // 8].reshape(1080, 1920, bpp // 8)
    # 640x480 scaled to 1440x1080, centred: bars of 240 px each side
    assert not raw[:, :230].any() and not raw[:, -230:].any()
    left, mid, right = raw[540, 300], raw[540, 960], raw[540, 1600]
    if bpp == 32:
        assert tuple(left[:3]) == (255, 0, 0) and tuple(mid[:3]) == (0, 255, 0) and tuple(right[:3]) == (0, 0, 255)
    elif bpp == 24:
        assert tuple(left) == (255, 0, 0) and tuple(right) == (0, 0, 255)
    elif bpp == 16:
        px = raw[540, :, 0].astype(np.uint16) | (raw[540, :, 1].astype(np.uint16) << 8)
        assert px[300] == 0x001F and px[960] == 0x07E0 and px[1600] == 0xF800  # RGB565: blue, green, red
    else:
        assert left[0] < mid[0] and right[0] < mid[0]  # grey: green is the brightest


def test_framebuffer_geometry_is_checked(tmp_path):
    with pytest.raises(ValueError, match="bit depth 12"):
        FbGeometry(640, 480, 12, 960)
    with pytest.raises(RuntimeError, match="framebuffer"):
        read_geometry(tmp_path / "fb3", tmp_path)
    assert convert(test_pattern(8, 8), 16).shape == (8, 8, 2)


def test_http_stream_and_stats():
    disp = HttpDisplay(port=0)
    disp.open()
    try:
        assert not disp.wants_frames()  # nobody watching: the pipeline skips drawing
        with urllib.request.urlopen(disp.where, timeout=5) as r:
            assert b"stream.mjpg" in r.read()
        assert disp.wants_frames()
        disp.status(fps=42.5, frame=7, faces=1, info="mean / cpu")
        for i in range(3):
            disp.show(test_pattern(i=i))
            time.sleep(0.05)
        with urllib.request.urlopen(disp.where + "frame.jpg", timeout=5) as r:
            jpg = cv2.imdecode(np.frombuffer(r.read(), np.uint8), cv2.IMREAD_COLOR)
        assert jpg.shape == (480, 640, 3)
        with urllib.request.urlopen(disp.where + "stats", timeout=5) as r:
            assert b"42.5" in r.read()
    finally:
        closing = threading.Thread(target=disp.close)
        closing.start()
        closing.join(timeout=60)  # generous: a close that hangs fails, a slow machine does not
        assert not closing.is_alive()
    with pytest.raises(OSError):  # the server is gone, not just forgotten
        urllib.request.urlopen(disp.where + "stats", timeout=5)


def _mjpeg_parts(resp, n: int) -> list[bytes]:
    """The first n JPEGs of a multipart/x-mixed-replace response (each part: headers, a blank line, the bytes)."""
    parts: list[bytes] = []
    while len(parts) < n:
        line = resp.readline()
        assert line, "the stream ended"
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
            assert resp.readline() in (b"\r\n", b"\n")
            parts.append(resp.read(length))
    return parts


def _feed_live(disp: HttpDisplay, frame) -> threading.Event:
    """Calls `frame(i)` at 30 fps on a thread until the returned event is set: a live camera for the viewers."""
    stop = threading.Event()

    def feed() -> None:
        i = 0
        while not stop.is_set():
            frame(i)
            i += 1
            time.sleep(1 / 30)

    threading.Thread(target=feed, daemon=True).start()
    return stop


def test_http_two_clients_both_receive_live_frames():
    """Two viewers of /stream.mjpg at once (a kiosk screen and a phone): each gets decodable live frames, not just
    the headers."""
    import http.client

    disp = HttpDisplay(port=0)
    disp.open()
    stop = _feed_live(disp, lambda i: disp.show(test_pattern(i=i % 100)))
    got: dict[int, list[bytes]] = {}
    conns = [http.client.HTTPConnection("127.0.0.1", disp.port, timeout=60) for _ in range(2)]
    try:
        responses = []
        for c in conns:
            c.request("GET", "/stream.mjpg")
            r = c.getresponse()
            assert r.status == 200 and r.getheader("Content-Type").startswith("multipart/x-mixed-replace")
            responses.append(r)
        readers = [threading.Thread(target=lambda k=k, r=r: got.__setitem__(k, _mjpeg_parts(r, 4))) for k, r in enumerate(responses)]
        for th in readers:
            th.start()
        for th in readers:
            th.join(timeout=60)
        assert disp.clients == 2  # both still connected while they read
    finally:
        stop.set()
        for c in conns:
            c.close()
        disp.close()
    assert sorted(got) == [0, 1], "a client received no frames"
    for k, jpegs in got.items():
        frames = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR) for j in jpegs]
        assert all(f is not None and f.shape == (480, 640, 3) for f in frames), k
        assert len({f.tobytes() for f in frames}) > 1, f"client {k} saw one frame over and over"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(chromium() is None, reason="headless Chromium is not installed (apt-get install -y chromium)")
def test_http_page_in_real_chromium(tmp_path):
    """A real browser loads the page; two screenshots a moment apart show different live frames."""
    disp = HttpDisplay(port=0)
    disp.open()

    def frame(i: int) -> None:
        disp.show(test_pattern(i=i))
        disp.status(fps=30.0, frame=i, faces=1, info="chromium test")

    stop = _feed_live(disp, frame)
    base = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--window-size=800,600", "--hide-scrollbars"]
    env = dict(os.environ, HOME=str(tmp_path))
    try:
        shots = []
        for k in range(2):
            path = tmp_path / f"shot{k}.png"
            subprocess.run([*base, f"--user-data-dir={tmp_path / f'prof{k}'}", f"--screenshot={path}", disp.where],
                           capture_output=True, timeout=60, env=env)  # fmt: skip
            assert path.is_file(), "Chromium wrote no screenshot"
            shots.append(cv2.imread(str(path)))
            time.sleep(0.3)
        dom = subprocess.run([*base, f"--user-data-dir={tmp_path / 'prof2'}", "--virtual-time-budget=2500", "--dump-dom", disp.where],
                             capture_output=True, text=True, timeout=60, env=env).stdout  # fmt: skip
    finally:
        stop.set()
        disp.close()
    for shot in shots:
        # the video is drawn: the page's image area holds the test pattern's three bars
        h, w = shot.shape[:2]
        row = shot[h // 3]
        assert row[:, 0].max() > 200 and row[:, 1].max() > 200 and row[:, 2].max() > 200, "no frame in the page"
    assert np.abs(shots[0].astype(int) - shots[1].astype(int)).sum() > 0, "the picture did not change: not live"
    assert 'data-image="640x480"' in dom, "the page's <img> did not decode a 640x480 frame"
    assert "chromium test" in dom and 'id="fps">30.0<' in dom, "the live fps did not reach the page"


@pytest.fixture
def sdl_window(monkeypatch):
    """Opens a real SDL display on SDL's dummy video driver at the given window size; closes it after the test."""
    pytest.importorskip("pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    opened = []

    def open_window(width: int, height: int):
        disp = make_display("sdl")
        disp.fullscreen = False
        disp.open(width, height)
        opened.append(disp)
        return disp

    yield open_window
    for disp in opened:
        disp.close()


def test_sdl_with_dummy_driver(sdl_window):
    disp = sdl_window(320, 240)
    disp.show(test_pattern())
    surf = disp.screen
    assert surf.get_size() == (320, 240)
    r, g, b, *_ = surf.get_at((300, 120))  # right third of the picture is red
    assert r > 200 and g < 50 and b < 50
    assert not disp.closed_by_user


def test_video_file_display(tmp_path):
    path = tmp_path / "out.avi"
    disp = make_display(f"file:{path}")
    assert isinstance(disp, VideoFileDisplay)
    disp.open(640, 480, 25.0)
    for i in range(10):
        disp.show(test_pattern(i=i))
    disp.close()
    cap = cv2.VideoCapture(str(path))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 10


def test_overlay_draws_points_and_box():
    img = np.zeros((240, 320, 3), np.uint8)
    pts = np.stack([np.linspace(100, 200, 68), np.linspace(80, 160, 68)], 1).astype(np.float32)
    face = TrackedFace(3, pts, 0.9, Box.around(pts))
    draw_overlay(img, [face], "99.0 fps  mean / cpu")
    assert img[int(pts[10, 1]), int(pts[10, 0])].any()
    assert img[80, 150].any()  # top edge of the box
    assert img[20, 20:200].any()  # the info line


def test_bad_display_spec():
    with pytest.raises(ValueError, match="not understood"):
        make_display("hologram")


def fb_pixels(dev, g: FbGeometry) -> np.ndarray:
    return np.fromfile(dev, np.uint8).reshape(g.height, g.stride)[:, : g.width * 4].reshape(g.height, g.width, 4)


def test_framebuffer_letterboxes_a_640x480_frame_on_1920x1080(tmp_path):
    """Scaled to fit with the aspect kept: 1440x1080 centred, black bars of 240 px left and right, nothing cropped;
    a portrait frame afterwards (a turned camera) gets bars top and bottom and the old picture is cleared."""
    g = FbGeometry(1920, 1080, 32, 1920 * 4)
    dev = tmp_path / "fb0"
    dev.write_bytes(b"\x7f" * (g.stride * g.height))  # whatever the console left there
    disp = FramebufferDisplay(dev, geometry=g)
    disp.open()
    frame = np.full((480, 640, 3), (30, 160, 90), np.uint8)
    frame[0, :] = frame[-1, :] = frame[:, 0] = frame[:, -1] = (255, 255, 255)  # a white border: nothing may be cut off
    disp.show(frame)
    disp.mem.flush()
    px = fb_pixels(dev, g)[..., :3]
    lit = np.flatnonzero(px.any(axis=(0, 2)))  # columns with picture
    assert (lit.min(), lit.max()) == (240, 1679), "not 1440 px wide and centred"
    assert not px[:, :240].any() and not px[:, 1680:].any(), "the bars are not black"
    assert px[:, 240:1680].any(axis=2).all(), "the picture does not cover its 1440x1080 box"
    assert px[0, 960].min() > 200 and px[1079, 960].min() > 200 and px[540, 241].min() > 200 and px[540, 1678].min() > 200  # border
    assert tuple(px[540, 700]) == (30, 160, 90)

    disp.show(np.full((640, 480, 3), 200, np.uint8))  # 480x640 portrait -> 810x1080, centred
    disp.close()
    px = fb_pixels(dev, g)[..., :3]
    lit = np.flatnonzero(px.any(axis=(0, 2)))
    assert (lit.min(), lit.max()) == (555, 1364)
    assert not px[:, :555].any() and not px[:, 1365:].any(), "the landscape picture was left behind in the new bars"


def test_sdl_letterboxes_on_a_wider_window(sdl_window):
    disp = sdl_window(400, 200)
    disp.show(np.full((480, 640, 3), 255, np.uint8))  # 640x480 -> 266x200 in the middle of 400x200
    surf = disp.screen
    row = [surf.get_at((x, 100))[0] for x in range(400)]
    lit = [x for x, v in enumerate(row) if v > 200]
    assert (lit[0], lit[-1]) == (67, 332)
    assert max(row[:66]) == 0 and max(row[334:]) == 0
    assert surf.get_at((200, 0))[0] > 200 and surf.get_at((200, 199))[0] > 200  # full height, not cropped


def overlay_face() -> TrackedFace:
    pts = np.stack([np.linspace(100, 200, 68), np.linspace(80, 160, 68)], 1).astype(np.float32)
    return TrackedFace(3, pts, 0.9, Box.around(pts))


@pytest.mark.parametrize("mode", ["none", "points", "debug", False, True])
def test_overlay_modes(mode):
    """none: nothing; points: landmarks and box only (the kiosk); debug: also the id/score label and the info line."""
    img = np.zeros((240, 320, 3), np.uint8)
    face = overlay_face()
    draw_overlay(img, [face], "99.0 fps  mean / cpu", mode=mode)
    drawn = {"none": False, "points": True, "debug": True, False: False, True: True}[mode]
    text = mode == "debug"
    assert bool(img[int(face.points[10, 1]), int(face.points[10, 0])].any()) == drawn
    assert bool(img[80, 150].any()) == drawn  # top edge of the box
    assert bool(img[10:30, 8:60].any()) == text  # the info line, top left
    assert bool(img[60:78, 100:140].any()) == text  # the "#3 0.90" label above the box
    with pytest.raises(ValueError, match="overlay mode"):
        draw_overlay(img, [face], mode="all")


def test_auto_display_says_why_not_sdl(tmp_path, monkeypatch, edge_log):
    """A console Pi with a KMS card (or a desktop) but no pygame: auto takes the framebuffer and says how to get SDL."""
    import edge.displays as displays

    fb = tmp_path / "fb0"
    fb.write_bytes(b"\0" * 16)
    monkeypatch.setenv("DISPLAY", ":0")  # a desktop is there ...
    monkeypatch.setattr(displays, "_has_pygame", lambda: False)  # ... and pygame is not installed
    disp = make_display("auto", fb_device=str(fb))
    assert isinstance(disp, FramebufferDisplay)
    assert edge_log == [f"display: auto -> fb ({fb}); sdl not used: pygame is not installed (pip install 'edgetrack[sdl]')"]
    monkeypatch.delenv("DISPLAY")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert displays._why_not_sdl(False, ["/dev/dri/card0"], False).endswith("pygame is not installed (pip install 'edgetrack[sdl]')")
    assert "card1 is not writable" in displays._why_not_sdl(False, ["/dev/dri/card1"], True)
    assert displays._why_not_sdl(False, [], False) == ""  # no screen SDL could use: nothing to explain


def test_http_counts_streams_from_many_threads_and_a_new_server_has_a_new_boot_id():
    import json
    import socket

    disp = HttpDisplay(port=0)
    disp.open()
    boot = disp.boot
    socks = []
    try:
        for _ in range(8):
            s = socket.create_connection(("127.0.0.1", disp.port), timeout=5)
            s.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        for s in socks:
            assert b"multipart/x-mixed-replace" in s.recv(4096)
        deadline = time.monotonic() + 5
        while disp.clients != 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert disp.clients == 8
        with urllib.request.urlopen(disp.where + "stats", timeout=5) as r:
            stats = json.load(r)
        assert stats["clients"] == 8 and stats["boot"] == boot
        for s in socks:
            s.close()
        disp.show(test_pattern())  # the handlers notice their closed sockets when they write the next frame
        deadline = time.monotonic() + 5
        while disp.clients and time.monotonic() < deadline:
            disp.show(test_pattern())
            time.sleep(0.05)
        assert disp.clients == 0
    finally:
        disp.close()
    again = HttpDisplay(port=0)
    again.open()
    try:
        assert again.boot and again.boot != boot
    finally:
        again.close()
