"""`sdl`: pygame / SDL2 full screen through KMS/DRM with no desktop, or a window on a desktop.

pygame is imported only here. Without DISPLAY or WAYLAND_DISPLAY the KMS/DRM driver is
asked for (a Pi kiosk booting to console); SDL_VIDEODRIVER set by the caller wins (tests
use `dummy`).
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from edge.displays.base import Display
from edge.displays.overlay import to_bgr


def desktop_present() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class SdlDisplay(Display):
    name = "sdl"

    def __init__(self, fullscreen: bool | None = None) -> None:
        self.fullscreen = (not desktop_present()) if fullscreen is None else fullscreen
        self.pg = None
        self.screen = None
        self._closed = False
        self.where = "screen"
        self._layout: tuple[int, int, int, int] | None = None  # screen size, picture size: bars are painted when it changes

    def open(self, width: int = 640, height: int = 480, fps: float = 30.0) -> None:
        if "SDL_VIDEODRIVER" not in os.environ and not desktop_present():
            os.environ["SDL_VIDEODRIVER"] = "kmsdrm"
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        try:
            import pygame
        except ImportError:
            raise RuntimeError("the sdl display needs pygame (pip install 'edgetrack[sdl]'); or use --display fb/http") from None
        try:
            pygame.display.init()
            if self.fullscreen:
                self.screen = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
            else:
                self.screen = pygame.display.set_mode((width, height))
            pygame.display.set_caption("EdgeTrack")
            pygame.mouse.set_visible(False)
        except pygame.error as exc:
            pygame.display.quit()
            raise RuntimeError(
                f"SDL could not open a screen with driver {os.environ.get('SDL_VIDEODRIVER', 'default')} ({exc}); "
                "check /dev/dri permissions (render/video groups) or use --display fb/http"
            ) from None
        self.pg = pygame
        self.where = f"screen {self.screen.get_width()}x{self.screen.get_height()} via {pygame.display.get_driver()}"

    def show(self, image: np.ndarray) -> None:
        pg = self.pg
        for event in pg.event.get():
            if event.type == pg.QUIT or (event.type == pg.KEYDOWN and event.key in (pg.K_ESCAPE, pg.K_q)):
                self._closed = True
        sw, sh = self.screen.get_size()
        h, w = image.shape[:2]
        s = min(sw / w, sh / h)  # scale to fit, aspect kept: black bars, never stretched or cropped
        ow, oh = max(1, int(w * s)), max(1, int(h * s))
        if self._layout != (sw, sh, ow, oh):
            self._layout = (sw, sh, ow, oh)
            self.screen.fill((0, 0, 0))
        rgb = cv2.cvtColor(to_bgr(image), cv2.COLOR_BGR2RGB)
        if (ow, oh) != (w, h):
            rgb = cv2.resize(rgb, (ow, oh), interpolation=cv2.INTER_LINEAR)
        surf = pg.image.frombuffer(rgb.tobytes(), (ow, oh), "RGB")
        self.screen.blit(surf, ((sw - ow) // 2, (sh - oh) // 2))
        pg.display.flip()

    @property
    def closed_by_user(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self.pg is not None:
            self.pg.display.quit()
            self.pg = None
