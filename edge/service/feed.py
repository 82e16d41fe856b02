"""`GET /faces`: the live landmark feed, Server-Sent Events on the local http server.

Each event is one frame's record, the very text of its --landmarks-out line
(`edge.service.landmarks_out.record_line`): `data: {"frame":..,"t":..,"faces":[..]}` then a blank line.
A web page reads it with `new EventSource("http://127.0.0.1:8080/faces")`; a program with any
HTTP client that reads a response as it comes (`curl -N`).

Where it is served: on the http display's own server when the display is http, else (with
`--faces-feed`, e.g. a kiosk drawing with SDL that also feeds a MagicMirror² module) on a small
server of its own at --http-host:--http-port that serves /faces and nothing else. Both stay on
127.0.0.1 unless --http-host says otherwise.

What it costs the loop: nothing while no one reads (the runtime skips building the record);
with readers, one JSON encoding a frame. A reader that falls behind loses its oldest events
(each keeps the newest KEEP), so a stalled browser never slows tracking or grows memory.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from edge.service.landmarks_out import record_line

if TYPE_CHECKING:
    from edge.config import RunConfig
    from edge.displays import Display

log = logging.getLogger(__name__)

KEEP = 8  # events a slow reader may be behind before its oldest are dropped
KEEPALIVE_S = 15.0  # a comment line this often while no frame comes, so a dead reader is noticed
RETRY_MS = 1000  # EventSource's reconnect delay after the server went away (a restart)


class _Reader:
    def __init__(self) -> None:
        self.events: deque[bytes] = deque(maxlen=KEEP)
        self.dropped = 0


class FacesFeed:
    """The records of the frames, to every reader of /faces; a runtime record output (open / write / close)."""

    def __init__(self, server: Any = None) -> None:
        self.server = server  # its own http server (open / close / where), or None when the display serves it
        self._readers: set[_Reader] = set()
        self._cond = threading.Condition()
        self._closed = False
        self.events_sent = 0

    @property
    def active(self) -> bool:
        """Someone reads /faces: only then does the runtime build the record."""
        return bool(self._readers)

    @property
    def readers(self) -> int:
        with self._cond:
            return len(self._readers)

    def open(self) -> FacesFeed:
        self._closed = False
        if self.server is not None:
            self.server.open()
            log.info(f"faces feed: {self.server.where}faces (Server-Sent Events, one --landmarks-out record each)")
        return self

    def write(self, record: dict[str, Any]) -> None:
        """Queue the record for every reader (the oldest event of a reader that fell KEEP behind goes)."""
        event = f"data: {record_line(record)}\n\n".encode()
        with self._cond:
            for r in self._readers:
                if len(r.events) == KEEP:
                    r.dropped += 1
                r.events.append(event)
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self.server is not None:
            self.server.close()

    def stream(self, send: Callable[[bytes], None], stopped: Callable[[], bool] = lambda: False) -> None:
        """Send events to one reader until it goes away, the feed closes or `stopped()`; `send` writes and flushes."""
        reader = _Reader()
        with self._cond:
            self._readers.add(reader)
        try:
            send(f"retry: {RETRY_MS}\n\n".encode())
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: reader.events or self._closed or stopped(), timeout=KEEPALIVE_S)
                    if self._closed or stopped():
                        return
                    events = list(reader.events)
                    reader.events.clear()
                if not events:
                    send(b": keep-alive\n\n")
                    continue
                send(b"".join(events))
                self.events_sent += len(events)
        finally:
            with self._cond:
                self._readers.discard(reader)


def faces_feed(cfg: RunConfig, display: Display) -> FacesFeed | None:
    """The /faces feed for a run: on the http display's server when the display is http (always there), on a server
    of its own when `cfg.faces_feed` asks for it with another display, else None."""
    from edge.displays import is_loopback
    from edge.displays.http import FeedServer, HttpDisplay

    if isinstance(display, HttpDisplay):
        feed = FacesFeed()
        display.feed = feed
        return feed
    if not cfg.faces_feed:
        return None
    if not is_loopback(cfg.http_host):
        log.warning(f"faces feed: WARNING on {cfg.http_host or 'every interface'}:{cfg.http_port} is not loopback: the landmarks "
                    "of whoever faces the camera are readable from the network; use --http-host 127.0.0.1 unless that is meant")
    feed = FacesFeed()
    feed.server = FeedServer(cfg.http_host, cfg.http_port, feed)
    return feed
