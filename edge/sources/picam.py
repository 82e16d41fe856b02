"""Raspberry Pi cameras through picamera2 (imported only when asked for, so other machines never need it).

Tracking reads the low-resolution YUV420 stream's Y plane (grey, what the detector and
landmarkers want), the screen gets the main stream. Both are views into the camera's
buffers (no copies): the frame holds its request until the pipeline is done with it
(`Frame.done()`), or until the capture thread replaces it with a newer one. Four buffers
leave the camera two to fill while the pipeline holds one and the thread one.
"""

from __future__ import annotations

import time

from edge.sources.base import Frame, Source, SourceLost


def picamera2_cameras() -> list[dict]:
    try:
        from picamera2 import Picamera2
    except Exception:  # noqa: BLE001 - not a Pi, or libcamera missing: simply no Pi camera
        return []
    try:
        return list(Picamera2.global_camera_info())
    except Exception:  # noqa: BLE001
        return []


class Picamera2Source(Source):
    live = True

    def __init__(self, camera: int = 0, width: int = 640, height: int = 480, fps: int = 30, main_size: tuple[int, int] = (1280, 960)):
        self.camera = camera
        self.name = f"picamera2:{camera}"
        self.width, self.height, self.fps = width, height, float(fps)
        self.main_size = main_size
        self.cam = None
        self.index = 0

    def open(self) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise RuntimeError(f"picamera2 is not installed ({exc}); on Raspberry Pi OS: sudo apt install python3-picamera2") from None
        try:
            cam = Picamera2(self.camera)
            config = cam.create_video_configuration(
                main={"size": self.main_size, "format": "RGB888"},  # RGB888 in libcamera = BGR bytes, OpenCV's order
                lores={"size": (self.width, self.height), "format": "YUV420"},
                buffer_count=4,
                controls={"FrameRate": self.fps},
            )
            cam.configure(config)
            cam.start()
        except Exception as exc:  # noqa: BLE001 - libcamera raises many kinds
            raise SourceLost(f"Pi camera {self.camera} could not be started: {exc}") from None
        self.cam = cam

    def read(self) -> Frame | None:
        if self.cam is None:
            self.open()
        try:
            request = self.cam.capture_request()
        except Exception as exc:  # noqa: BLE001
            raise SourceLost(f"Pi camera {self.camera} stopped: {exc}") from None
        t = time.monotonic()
        from picamera2 import MappedArray

        lores, main = MappedArray(request, "lores"), MappedArray(request, "main")
        try:
            yuv = lores.__enter__().array
            bgr = main.__enter__().array
        except Exception:
            request.release()
            raise

        def release() -> None:
            lores.__exit__(None, None, None)
            main.__exit__(None, None, None)
            request.release()

        grey = yuv[: self.height, : self.width]  # the Y plane: a view into the camera's buffer
        w = self.main_size[0]
        frame = Frame(grey, self.index, t, display=bgr[:, :w, :3], release=release)
        self.index += 1
        return frame

    def close(self) -> None:
        if self.cam is not None:
            try:
                self.cam.stop()
                self.cam.close()
            except Exception:  # noqa: BLE001 - closing a lost camera may fail; it is gone either way
                pass
            self.cam = None
