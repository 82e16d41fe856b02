"""Displays by spec: auto, fb[:/dev/fbN], sdl, http[:PORT], file:PATH, none.

`auto` picks a desktop window when there is a desktop, SDL on KMS/DRM when there is a
GPU card and pygame, the framebuffer when /dev/fb0 is writable, else the http page,
and says which.
"""

from __future__ import annotations

import glob
import importlib.util
import ipaddress
import os
import sys

from edge.displays.base import Display, NoDisplay
from edge.displays.fb import FbGeometry, FramebufferDisplay, read_geometry
from edge.displays.http import HttpDisplay
from edge.displays.overlay import draw_overlay
from edge.displays.sdl import SdlDisplay, desktop_present
from edge.displays.video import VideoFileDisplay

__all__ = [
    "Display",
    "FbGeometry",
    "FramebufferDisplay",
    "HttpDisplay",
    "NoDisplay",
    "SdlDisplay",
    "VideoFileDisplay",
    "draw_overlay",
    "make_display",
    "read_geometry",
]


def _has_pygame() -> bool:
    return importlib.util.find_spec("pygame") is not None


def _why_not_sdl(desktop: bool, cards: list[str], has_pygame: bool) -> str:
    """Why `auto` passed over a screen SDL could drive, and the fix ('' when there is no such screen)."""
    if not (desktop or cards):
        return ""
    if not has_pygame:
        return "; sdl not used: pygame is not installed (pip install 'edgetrack[sdl]')"
    return f"; sdl not used: {cards[0]} is not writable (add the user to the video and render groups)"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and localhost; '' and 0.0.0.0 mean every interface."""
    host = host.strip().strip("[]").lower()
    if host in ("localhost", "localhost.", "ip6-localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def _warn_if_exposed(host: str, port: int, log) -> None:
    if not is_loopback(host):
        log(f"display: WARNING http on {host or 'every interface'}:{port} is not loopback: the camera picture is visible "
            "to the network; use --http-host 127.0.0.1 (and ssh -L) unless that is meant")  # fmt: skip


def make_display(spec: str, http_host: str = "127.0.0.1", http_port: int = 8080, fb_device: str = "/dev/fb0", log=None) -> Display:
    log = log or (lambda msg: print(msg, file=sys.stderr))
    spec = spec.strip()
    if spec == "auto":
        has_pygame = _has_pygame()
        if desktop_present() and has_pygame:
            log("display: auto -> sdl (desktop window)")
            return SdlDisplay(fullscreen=False)
        cards = sorted(glob.glob("/dev/dri/card*"))
        if cards and has_pygame and os.access(cards[0], os.W_OK):
            log("display: auto -> sdl (KMS/DRM full screen)")
            return SdlDisplay(fullscreen=True)
        why_not_sdl = _why_not_sdl(desktop_present(), cards, has_pygame)
        if os.path.exists(fb_device) and os.access(fb_device, os.W_OK):
            log(f"display: auto -> fb ({fb_device}){why_not_sdl}")
            return FramebufferDisplay(fb_device)
        log(f"display: auto -> http (no writable framebuffer{why_not_sdl})" if why_not_sdl else
            "display: auto -> http (no desktop, no KMS/DRM screen, no writable framebuffer)")  # fmt: skip
        _warn_if_exposed(http_host, http_port, log)
        return HttpDisplay(http_host, http_port, port_tries=10)
    if spec == "none":
        return NoDisplay()
    if spec == "sdl":
        return SdlDisplay()
    if spec == "fb" or spec.startswith("fb:"):
        return FramebufferDisplay(spec[3:] if spec.startswith("fb:") else fb_device)
    if spec == "http" or spec.startswith("http:"):
        port = spec[5:] if spec.startswith("http:") else str(http_port)
        if not (port.isascii() and port.isdigit()) or int(port) > 65535:
            raise ValueError(f"display {spec!r}: the port must be a number 0-65535; use http or http:PORT, e.g. http:8080")
        _warn_if_exposed(http_host, int(port), log)
        return HttpDisplay(http_host, int(port))
    if spec.startswith("file:"):
        return VideoFileDisplay(spec[5:])
    raise ValueError(f"display {spec!r} not understood; use auto, fb[:/dev/fbN], sdl, http[:PORT], file:PATH or none")
