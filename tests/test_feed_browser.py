"""examples/faces.html in a real headless Chromium: the page, served from this machine, reads the runtime's /faces
feed and draws each face's 68 points over the MJPEG picture, where the face is. The run is the real runtime
(synthetic face, http display); a still of the page is written beside the test's files (page.png)."""

from __future__ import annotations

import base64
import functools
import threading
import time
from dataclasses import replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import Browser, chromium, wait_for

from edge.config import RunConfig
from edge.displays import HttpDisplay

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium() is None, reason="headless Chromium is not installed (make browser: apt-get install chromium)"),
]

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# draw() now, then count the points whose canvas pixel is the face's colour: the dots sit where the record says
CHECK = """(() => {
  const v = document.getElementById('v'), c = document.getElementById('points');
  if (!last || !last.faces.length || !v.naturalWidth) return null;
  draw();
  const p = placement(), g = c.getContext('2d');
  let on = 0;
  for (const [x, y] of last.faces[0].points) {
    const d = g.getImageData(Math.round(p.x + x * p.s), Math.round(p.y + y * p.s), 1, 1).data;
    on += d[3] > 200;  // the canvas is clear but for the dots
  }
  return {on, frame: last.frame, w: v.naturalWidth, h: v.naturalHeight, drawn: +document.body.dataset.drawn,
          label: document.getElementById('label').textContent};
})()"""


class Stop:
    """The runtime's stop flag: true once set."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __bool__(self) -> bool:
        return self.event.is_set()


def test_example_page_draws_the_feed_over_the_picture(tmp_path):
    from edge.service.build import build_pipeline
    from edge.service.feed import faces_feed
    from edge.service.runtime import Runtime
    from edge.sources import SyntheticSource

    deadline = time.monotonic() + 40
    cfg = replace(RunConfig(), source="synthetic", display="http", landmarker="cnn", realtime=True, overlay="none")
    display = HttpDisplay("127.0.0.1", 0)
    feed = faces_feed(cfg, display)
    stop = Stop()
    rt = Runtime(cfg, build_pipeline(cfg), SyntheticSource(640, 480), display, [feed], stop=stop)
    runner = threading.Thread(target=rt.run, daemon=True)
    runner.start()
    pages = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(EXAMPLES)))
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    browser = None
    try:
        wait_for(lambda: display.server is not None, deadline, "the http display")
        url = f"http://127.0.0.1:{pages.server_address[1]}/faces.html?server=http://127.0.0.1:{display.port}"
        browser = Browser(url, tmp_path / "profile", 1024, 768, deadline)
        dt = browser.devtools
        dt.call("Emulation.setDeviceMetricsOverride", width=1024, height=768, deviceScaleFactor=1, mobile=False)
        first = wait_for(lambda: dt.evaluate(CHECK), deadline, "a face drawn from the feed over the picture")
        later = wait_for(lambda: (c := dt.evaluate(CHECK)) and c["frame"] > first["frame"] and c, deadline, "a later frame")
        shot = dt.call("Page.captureScreenshot", format="png")["data"]
    finally:
        if browser is not None:
            browser.close()
        stop.event.set()
        runner.join(timeout=10)
        pages.shutdown()
    (tmp_path / "page.png").write_bytes(base64.b64decode(shot))
    assert (first["w"], first["h"]) == (640, 480), "the MJPEG picture is in the page"
    for check in (first, later):
        assert check["drawn"] >= 68 and check["on"] >= 60, check  # a dot may fall under another face's colour at an edge
        assert check["label"].startswith(f"frame {check['frame']} · 1 face"), check["label"]
    img = cv2.imdecode(np.frombuffer(base64.b64decode(shot), np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[:2] == (768, 1024)
    green = (img[:, :, 1] > 200) & (img[:, :, 0] < 120) & (img[:, :, 2] < 120)
    assert green.sum() > 68 * 4, "the points are in the still"
    ys, xs = np.nonzero(green)
    assert 0 < xs.min() and xs.max() < 1024 and ys.max() < 768
