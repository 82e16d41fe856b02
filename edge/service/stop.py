"""SIGTERM / SIGINT turn into a flag the main loop checks, so every stop is a clean stop."""

from __future__ import annotations

import signal
import threading


class StopFlag:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name = ""
        self._old: dict[int, object] = {}

    def install(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:  # noqa: ARG002
        self.signal_name = signal.Signals(signum).name
        self.event.set()

    def restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old = {}

    def set(self) -> None:
        self.event.set()

    def __bool__(self) -> bool:
        return self.event.is_set()
