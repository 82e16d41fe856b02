"""How the pipeline pulls frames: a capture thread that keeps only the newest frame (cameras),
or frame by frame with none dropped (files, image folders, the synthetic face).

Both hand frames through `get(timeout)`, which returns a Frame, None at the end of the
stream, or raises TimeoutError when nothing new arrived in time (camera gone and being
reopened) so the caller can keep its watchdog and signals alive.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from edge.sources.base import Frame, Source, SourceLost


@dataclass
class FeedStats:
    captured: int = 0
    dropped: int = 0  # frames replaced by a newer one before the pipeline took them
    reopens: int = 0  # successful reopens after a loss
    failures: int = 0  # failed opens / lost reads
    last_error: str = ""


class FrameByFrame:
    """Every frame, in order, in the caller's thread; `loop` starts the source again at its end."""

    def __init__(self, source: Source, loop: bool = False) -> None:
        self.source = source
        self.loop = loop
        self.stats = FeedStats()
        self.opened = False

    def start(self) -> FrameByFrame:
        self.source.open()
        self.opened = True
        return self

    def get(self, timeout: float = 1.0) -> Frame | None:
        if not self.opened:
            self.start()
        frame = self.source.read()
        if frame is None and self.loop:
            self.source.close()
            self.source.open()
            frame = self.source.read()
        if frame is not None:
            self.stats.captured += 1
        return frame

    def stop(self) -> None:
        if self.opened:
            self.source.close()
            self.opened = False

    def __enter__(self) -> FrameByFrame:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class LatestFrame:
    """A thread reads the source continuously and keeps the newest frame only: no queue, no growing lag.

    When the source is lost (SourceLost, OSError, a failed open) it is closed and reopened
    with exponential backoff (`backoff` .. `max_backoff` seconds) until it comes back or
    stop() is called. `pace_fps` > 0 paces a non-camera source (file, synthetic) at that rate.
    """

    def __init__(
        self,
        source: Source,
        loop: bool = False,
        pace_fps: float = 0.0,
        backoff: float = 0.05,
        max_backoff: float = 2.0,
    ) -> None:
        self.source = source
        self.loop = loop
        self.pace_fps = pace_fps
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.stats = FeedStats()
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._taken = True
        self._ended = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fatal: BaseException | None = None

    def start(self) -> LatestFrame:
        self._thread = threading.Thread(target=self._run, name=f"capture {self.source.name}", daemon=True)
        self._thread.start()
        return self

    # -- capture thread
    def _open_with_backoff(self, first: bool) -> bool:
        delay = self.backoff
        while not self._stop.is_set():
            try:
                self.source.open()
                if not first:
                    self.stats.reopens += 1
                return True
            except (SourceLost, OSError) as exc:  # FileNotFoundError is an OSError: a file that is not there yet
                self.stats.failures += 1
                self.stats.last_error = str(exc)
            except Exception as exc:  # noqa: BLE001 - a bad spec: give up and tell the caller
                self._fatal = exc
                return False
            self._stop.wait(delay)
            delay = min(delay * 2, self.max_backoff)
        return False

    def _publish(self, frame: Frame | None, ended: bool = False) -> None:
        with self._cond:
            if frame is not None:
                if not self._taken:
                    self.stats.dropped += 1
                    if self._frame is not None:
                        self._frame.done()  # a zero-copy camera buffer nobody will read: back to the camera
                self._frame = frame
                self._taken = False
                self.stats.captured += 1
            self._ended = self._ended or ended
            self._cond.notify_all()

    def _run(self) -> None:
        if not self._open_with_backoff(first=True):
            self._publish(None, ended=True)
            return
        period = 1.0 / self.pace_fps if self.pace_fps > 0 else 0.0
        next_t = time.monotonic()
        while not self._stop.is_set():
            try:
                frame = self.source.read()
            except (SourceLost, OSError) as exc:
                self.stats.failures += 1
                self.stats.last_error = str(exc)
                self._close_quietly()
                if not self._open_with_backoff(first=False):
                    break
                continue
            except Exception as exc:  # noqa: BLE001 - surface it in the main thread
                self._fatal = exc
                break
            if frame is None:
                if self.source.live:  # a camera that returns nothing is a lost camera
                    self._close_quietly()
                    if not self._open_with_backoff(first=False):
                        break
                    continue
                if not self.loop:
                    break
                self._close_quietly()
                if not self._open_with_backoff(first=True):
                    break
                continue
            self._publish(frame)
            if period:
                next_t += period
                delay = next_t - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_t = time.monotonic()
        self._close_quietly()
        self._publish(None, ended=True)

    def _close_quietly(self) -> None:
        try:
            self.source.close()
        except Exception:  # noqa: BLE001 - closing a lost device may fail; it is gone either way
            pass

    # -- pipeline side
    def get(self, timeout: float = 1.0) -> Frame | None:
        """The newest frame not yet taken; None once the stream has ended; TimeoutError if none came in time."""
        with self._cond:
            if not self._cond.wait_for(lambda: not self._taken or self._ended, timeout):
                raise TimeoutError(f"no frame from {self.source.name} for {timeout:.1f} s ({self.stats.last_error or 'waiting'})")
            if self._fatal is not None:
                raise self._fatal
            if self._taken:
                return None
            self._taken = True
            return self._frame

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=1.5)
            self._thread = None

    def __enter__(self) -> LatestFrame:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

