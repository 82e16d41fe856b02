"""sd_notify spoken over systemd's NOTIFY_SOCKET datagram protocol, without libsystemd.

READY=1 once the first frame is shown, WATCHDOG=1 from the main loop (so a hung loop,
not just a dead process, gets the service restarted), STATUS= with the live fps,
STOPPING=1 on the way out. Outside systemd (no NOTIFY_SOCKET) every call is a no-op.
"""

from __future__ import annotations

import os
import socket
import time


class Notifier:
    def __init__(self, address: str | None = None, watchdog_usec: int | None = None) -> None:
        addr = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        self.address: str | bytes | None = None
        if addr:
            if addr.startswith("@"):  # abstract namespace
                self.address = "\0" + addr[1:]
            elif addr.startswith("/"):
                self.address = addr
        if watchdog_usec is None:
            env = os.environ.get("WATCHDOG_USEC", "")
            pid = os.environ.get("WATCHDOG_PID", "")
            ok_pid = not pid or pid == str(os.getpid())
            watchdog_usec = int(env) if env.isdigit() and ok_pid else 0
        # ping at half the timeout, as sd_watchdog_enabled(3) advises
        self.watchdog_interval = watchdog_usec / 2e6 if watchdog_usec else 0.0
        self._last_ping = 0.0
        self.sock: socket.socket | None = None
        if self.address:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @property
    def enabled(self) -> bool:
        return self.sock is not None

    def send(self, *fields: str) -> bool:
        if self.sock is None:
            return False
        try:
            self.sock.sendto("\n".join(fields).encode(), self.address)
            return True
        except OSError:
            return False  # systemd restarting or gone: never take the kiosk down for a status line

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []), f"MAINPID={os.getpid()}")

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def watchdog(self, now: float | None = None) -> bool:
        """Ping if the watchdog is on and half its timeout has passed since the last ping."""
        if not self.watchdog_interval:
            return False
        now = time.monotonic() if now is None else now
        if now - self._last_ping < self.watchdog_interval:
            return False
        self._last_ping = now
        return self.send("WATCHDOG=1")

    def stopping(self, status: str = "") -> bool:
        return self.send("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
