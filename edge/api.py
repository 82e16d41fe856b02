"""EdgeTrack from Python: `FaceTracker` turns BGR images into typed `Face`s, with the pipeline `edgetrack run` runs.

    from edge import FaceTracker

    with FaceTracker(max_faces=2, landmarker="cnn") as tracker:
        faces = tracker.process(image_bgr)          # list[Face]: id, score, box, points (68, 2), signals, emotion
        picture = tracker.render(image_bgr, faces)  # the effects and the overlay drawn on a copy

The options are the run options by their config keys (`edge/config.py` OPTIONS, the TOML keys and
the flags without `--`): `landmarker`, `model`, `detector`, `max_faces`, `threads`, `smooth*`,
`effect` (also `effects`), `overlay`, `mirror`, `rotate`, ... The pipeline is made by the same
`build_pipeline` that `edgetrack run`, `bench`, `stability`, the soak and the tracking evaluation use,
so a program gets what the command line gets: `process(image, timestamp=t)` with t = frame number / fps
gives the points `edgetrack run --landmarks-out` writes for the same video.
The options about where frames come from and go (source, display, frames, loop, landmarks_out, http_*,
...) belong to `edgetrack run`: the program hands `process` its images and keeps the results; naming one
is a one-line error, as is an unknown key.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge import config
from edge.faces import TrackedFace
from edge.geometry import Box

log = logging.getLogger(__name__)

# run options with no meaning for a program that hands over its own images and keeps the results
NOT_FOR_THE_API = {
    "source": "hand process() the images",
    "display": "draw with render() and show the picture yourself",
    "frames": "call process() as often as you like",
    "width": "images of any size are taken as they are",
    "height": "images of any size are taken as they are",
    "camera_fps": "pass each image's time as timestamp=",
    "loop": "call reset() when your frames start again",
    "realtime": "pace your own calls",
    "landmarks_out": "write the faces you get (Face.to_json() is one --landmarks-out face)",
    "landmarks_out_max_mb": "write the faces you get",
    "landmarks_out_keep": "write the faces you get",
    "http_host": "serve what you like",
    "http_port": "serve what you like",
    "faces_feed": "serve what you like",
    "fb_device": "draw with render() and show the picture yourself",
    "status_every": "log what you like",
}
ALIASES = {"effects": "effect"}  # a list of effects reads better plural; the config key is `effect`


@dataclass(frozen=True)
class Emotion:
    """The face's emotion (edge/emotion.py): the label shown (the --landmarks-out `label`: a class, or what the
    emotion stage says when it is unsure) and every class's probability."""

    label: str
    scores: dict[str, float]


@dataclass(frozen=True)
class Face:
    """One tracked face in one image. `points` are in the image's pixels (after mirror / rotate, when asked),
    smoothed over time when `smooth` is on (the default); `raw_points` are the landmarker's own."""

    id: int  # stays the same while the face is tracked from image to image
    score: float  # the landmarker's face confidence
    box: Box | None  # the tight box of the points (x, y, w, h, score, angle)
    points: np.ndarray  # (68, 2) float32, iBUG 68-point markup (edge.landmarks68 names the groups)
    signals: dict[str, float] = field(default_factory=dict)  # blink, mouth open, smile, brow, roll, yaw (edge/signals.py)
    emotion: Emotion | None = None  # None when models/emotion.json is absent
    raw_points: np.ndarray | None = None

    def to_json(self) -> dict[str, Any]:
        """The face as a --landmarks-out line (and a /faces event) writes it."""
        return _tracked(self).to_json()


def options_config(options: dict[str, Any], base: Any = None) -> Any:
    """A RunConfig from keyword options (config keys, checked as a config file's are); one-line ValueError otherwise."""
    values: dict[str, Any] = {}
    for key, value in options.items():
        key = ALIASES.get(key, key)
        if key in NOT_FOR_THE_API:
            raise ValueError(f"FaceTracker option {key!r} is for `edgetrack run`, not the API: {NOT_FOR_THE_API[key]}; drop it")
        if key not in config.BY_KEY:
            known = ", ".join(k for k in config.BY_KEY if k not in NOT_FOR_THE_API)
            raise ValueError(f"FaceTracker: unknown option {key!r}; the options are the config keys: {known}")
        value = config.coerce(key, value, "FaceTracker")
        values[key] = tuple(value) if isinstance(value, list) else value
    return dataclasses.replace(base if base is not None else config.RunConfig(), **values)


def check_image(image: Any) -> np.ndarray:
    """The image as an (H, W, 3) BGR or (H, W) grey uint8 array, or a one-line ValueError naming what it is."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"process() takes a numpy image (H, W, 3) BGR uint8, got {type(image).__name__}; e.g. cv2.imread(path)")
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"process() takes an (H, W, 3) BGR or (H, W) grey uint8 image, got {image.shape} {image.dtype}; "
                         "convert it (cv2.cvtColor, astype(np.uint8))")  # fmt: skip
    if image.shape[0] < 16 or image.shape[1] < 16:
        raise ValueError(f"process() image {image.shape[1]}x{image.shape[0]} is too small to hold a face; give at least 16x16")
    return image


class FaceTracker:
    """Faces from images, one image at a time, with the tracking and smoothing of `edgetrack run`.

    Consecutive images are taken as video: a face found once is followed, not searched for again,
    and its points are smoothed over time. Call `reset()` between unrelated images (photos, a cut)."""

    def __init__(self, **options: Any) -> None:
        from edge.service.build import build_pipeline

        self.config = options_config(options)
        self._pipeline = build_pipeline(self.config)
        self._landmarker = self._pipeline.landmarker.name
        self._index = 0
        self._closed = False

    @property
    def landmarker(self) -> str:
        """The landmarker in use (what `landmarker="auto"` picked)."""
        return self._landmarker

    def process(self, image: np.ndarray, timestamp: float | None = None) -> list[Face]:
        """The faces in a BGR uint8 image of any size. `timestamp`: the image's time in seconds (smoothing reads
        speeds from it); default the monotonic clock now, as a live camera's frames are timed. Your image is not
        changed. A timestamp that goes back starts the smoothing afresh."""
        from edge.service.clock import StageClock
        from edge.sources.base import Frame

        if self._closed:
            raise ValueError("FaceTracker is closed; make a new one (or use it inside its `with` block)")
        image = check_image(image)
        t = time.monotonic() if timestamp is None else float(timestamp)
        frame = Frame(image, self._index, t)
        self._index += 1
        return [_face(f) for f in self._pipeline.track(frame, t, StageClock())]

    def render(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        """A copy of `image` with the effects (`effect=[...]`) and the overlay (`overlay=`) drawn for `faces`
        (as `process` returned them for this image, mirrored / turned as asked)."""
        from edge.sources.base import Frame

        image = check_image(image)
        frame = Frame(self._pipeline.orient.apply(image) if not self._pipeline.orient.identity else image.copy(), 0)
        picture = self._pipeline.draw(frame, [_tracked(f) for f in faces], show=True)
        return picture if picture is not None else frame.image

    def reset(self) -> None:
        """The next image is unrelated to the last (another photo, a cut): tracks and smoothing start afresh."""
        self._pipeline.new_scene()

    def close(self) -> None:
        """Let go of the models (a closed tracker refuses to process)."""
        self._closed = True
        self._pipeline = None  # type: ignore[assignment]

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _face(f: TrackedFace) -> Face:
    emotion = Emotion(f.emotion["label"], dict(f.emotion["scores"])) if f.emotion else None
    raw = None if f.raw_points is None else np.asarray(f.raw_points, dtype=np.float32)
    return Face(int(f.id), float(f.score), f.box, np.asarray(f.points, dtype=np.float32), dict(f.signals), emotion, raw)


def _tracked(f: Face) -> TrackedFace:
    emotion = {"label": f.emotion.label, "scores": dict(f.emotion.scores)} if f.emotion is not None else None
    return TrackedFace(f.id, f.points, f.score, f.box, f.raw_points, dict(f.signals), emotion)
