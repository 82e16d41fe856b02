"""The kiosk page in a real headless Chromium, driven over the DevTools protocol: the picture
comes back by itself after the http display's server is stopped and a new one starts on the
same port (a watchdog restart, a replugged camera), and it fills a 1920x1080 window.

The DevTools client is a few lines of stdlib websocket; everything stays on 127.0.0.1.
"""

from __future__ import annotations

import base64
import threading
import time

import cv2
import numpy as np
import pytest
from media import Browser, DevTools, chromium, wait_for

from edge.displays import HttpDisplay

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium() is None, reason="headless Chromium is not installed (make browser: apt-get install chromium)"),
]


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
