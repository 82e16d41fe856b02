"""Displays by spec: auto, fb[:/dev/fbN], sdl, http[:PORT], file:PATH, none.

`auto` picks a desktop window when there is a desktop, SDL on KMS/DRM when there is a
GPU card and pygame, the framebuffer when /dev/fb0 is writable, else the http page,
and says which.
"""

from __future__ import annotations

import glob
import importlib.util
import ipaddress
import logging
import os

from edge.displays.base import Display, NoDisplay
from edge.displays.fb import FbGeometry, FramebufferDisplay, read_geometry
from edge.displays.http import HttpDisplay
from edge.displays.overlay import draw_overlay
from edge.displays.sdl import SdlDisplay, desktop_present
from edge.displays.video import VideoFileDisplay
from edge.registry import Registry

logger = logging.getLogger(__name__)

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


def _warn_if_exposed(host: str, port: int) -> None:
    if not is_loopback(host):
        logger.warning(f"display: WARNING http on {host or 'every interface'}:{port} is not loopback: the camera picture is visible "
                       "to the network; use --http-host 127.0.0.1 (and ssh -L) unless that is meant")  # fmt: skip


def _auto(rest: str | None, *, http_host: str, http_port: int, fb_device: str) -> Display:
    """A desktop window, SDL on KMS/DRM, the framebuffer, else the http page; says which, and why not SDL."""
    has_pygame = _has_pygame()
    if desktop_present() and has_pygame:
        logger.info("display: auto -> sdl (desktop window)")
        return SdlDisplay(fullscreen=False)
    cards = sorted(glob.glob("/dev/dri/card*"))
    if cards and has_pygame and os.access(cards[0], os.W_OK):
        logger.info("display: auto -> sdl (KMS/DRM full screen)")
        return SdlDisplay(fullscreen=True)
    why_not_sdl = _why_not_sdl(desktop_present(), cards, has_pygame)
    if os.path.exists(fb_device) and os.access(fb_device, os.W_OK):
        logger.info(f"display: auto -> fb ({fb_device}){why_not_sdl}")
        return FramebufferDisplay(fb_device)
    logger.info(f"display: auto -> http (no writable framebuffer{why_not_sdl})" if why_not_sdl else
                "display: auto -> http (no desktop, no KMS/DRM screen, no writable framebuffer)")  # fmt: skip
    _warn_if_exposed(http_host, http_port)
    return HttpDisplay(http_host, http_port, port_tries=10)


def _none(rest: str | None, *, http_host: str, http_port: int, fb_device: str) -> Display:
    return NoDisplay()


def _sdl(rest: str | None, *, http_host: str, http_port: int, fb_device: str) -> Display:
    return SdlDisplay()


def _fb(rest: str | None, *, http_host: str, http_port: int, fb_device: str) -> Display:
    return FramebufferDisplay(fb_device if rest is None else rest)


def _http(rest: str | None, *, http_host: str, http_port: int, fb_device: str) -> Display:
    port = str(http_port) if rest is None else rest
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        spec = "http" if rest is None else f"http:{rest}"
        raise ValueError(f"display {spec!r}: the port must be a number 0-65535; use http or http:PORT, e.g. http:8080")
    _warn_if_exposed(http_host, int(port))
    return HttpDisplay(http_host, int(port))


def _file(rest: str | None, *, http_host: str, http_port: int, fb_device: str) -> Display:
    return VideoFileDisplay(rest or "")


# scheme -> (factory(rest, http_host=, http_port=, fb_device=), form); the form says whether the scheme takes ':rest'
DISPLAYS = Registry(
    "display",
    {
        "auto": ("edge.displays:_auto", "auto"),
        "fb": ("edge.displays:_fb", "fb[:/dev/fbN]"),
        "sdl": ("edge.displays:_sdl", "sdl"),
        "http": ("edge.displays:_http", "http[:PORT]"),
        "file": ("edge.displays:_file", "file:PATH"),
        "none": ("edge.displays:_none", "none"),
    },
)


def make_display(spec: str, http_host: str = "127.0.0.1", http_port: int = 8080, fb_device: str = "/dev/fb0") -> Display:
    """A Display from 'scheme[:rest]'; `auto` says what it picked through logging."""
    spec = spec.strip()
    found = DISPLAYS.split(spec)
    if found is None:
        raise ValueError(f"display {spec!r} not understood; use {DISPLAYS.forms()}")
    name, rest = found
    return DISPLAYS.make(name, rest, http_host=http_host, http_port=http_port, fb_device=fb_device)
