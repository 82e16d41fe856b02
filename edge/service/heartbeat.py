"""What a running service tells systemd and the journal: READY once the first frame is through (or after
READY_WAIT_S waiting for the camera), WATCHDOG pings from the loop, and every `every` seconds a status
line with the live fps (also sent as sd_notify STATUS) or, while no frame comes, one 'waiting for'
line saying why.

Each method takes `now` (time.monotonic()) for tests; the loop leaves it out.
"""

from __future__ import annotations

import logging
import time

from edge.service.notify import Notifier

log = logging.getLogger(__name__)

READY_WAIT_S = 10.0  # READY=1 comes with the first frame, or after this long waiting for one


class Heartbeat:
    def __init__(self, notifier: Notifier | None, every: float, source: str, display: str, now: float | None = None) -> None:
        self.notifier, self.every = notifier, every
        self.source, self.display = source, display
        self.started = time.monotonic() if now is None else now
        self.fps = 0.0  # frames through the pipeline per second, over the last second or so
        self.ready = False
        self._last_status = self._last_frame = self._since = self.started
        self._frames_since = 0

    def waiting(self, why: str = "", now: float | None = None) -> None:
        """No frame came in time (camera gone, being reopened): keep the watchdog fed, and say so once per interval."""
        now = time.monotonic() if now is None else now
        if self.notifier is not None:
            if not self.ready and now - self.started > READY_WAIT_S:
                self.ready = True  # up and waiting for the camera: better than a start timeout and a restart loop
                self.notifier.ready(f"waiting for {self.source}")
            self.notifier.watchdog(now)
        if now - self._last_status > self.every:
            self._last_status = now
            log.info(f"waiting for {self.source} ({now - self._last_frame:.0f} s without a frame: {why or 'no frame yet'}); retrying")
            if self.notifier is not None:
                self.notifier.status(f"waiting for {self.source}")

    def frame(self, index: int, faces: int, now: float | None = None) -> None:
        """A frame went through: the fps, READY after the first, the watchdog, and the status line once per interval."""
        now = time.monotonic() if now is None else now
        self._last_frame = now
        self._frames_since += 1
        if now - self._since >= 1.0:
            self.fps = self._frames_since / (now - self._since)
            self._frames_since, self._since = 0, now
        if self.notifier is not None:
            if not self.ready:
                self.ready = True
                self.notifier.ready(f"tracking {self.source} -> {self.display}")
            self.notifier.watchdog(now)
        if now - self._last_status >= self.every:
            self._last_status = now
            text = f"{self.fps:.1f} fps, frame {index}, {faces} face(s), {self.source} -> {self.display}"
            log.info(text)
            if self.notifier is not None:
                self.notifier.status(text)

    def stopping(self, text: str) -> None:
        if self.notifier is not None:
            self.notifier.stopping(text)
