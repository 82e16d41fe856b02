"""A camera that drops out on purpose: the soak's stand-in for a cable pulled and put back.

Not a source a user picks (it is not in `make_source`); `edgetrack bench --soak` wraps the
synthetic face in it to drive the capture thread's reopen path.
"""

from __future__ import annotations

from edge.sources.base import Frame, Source, SourceLost


class FlakySource(Source):
    """Wraps a source and makes it drop out: every `every` frames the device is lost and refuses to
    open `down_opens` times."""

    def __init__(self, inner: Source, every: int = 500, down_opens: int = 3, pace_fps: float = 0.0) -> None:
        self.inner = inner
        self.pace_fps = pace_fps  # a camera's own frame rate, for inner sources that are not cameras
        self.every, self.down_opens = every, down_opens
        self.name = f"flaky({inner.name})"
        self.live = True
        self.fps = inner.fps
        self._reads = 0
        self._refuse = 0
        self.drops = 0

    def open(self) -> None:
        if self._refuse > 0:
            self._refuse -= 1
            raise SourceLost(f"{self.inner.name} is unplugged")
        self.inner.open()
        self.fps = self.inner.fps

    def read(self) -> Frame | None:
        self._reads += 1
        if self.every and self._reads % self.every == 0:
            self._refuse = self.down_opens
            self.drops += 1
            raise SourceLost(f"{self.inner.name} went away")
        return self.inner.read()

    def close(self) -> None:
        self.inner.close()
