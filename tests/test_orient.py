"""Mirror and rotation: the Orientation against numpy's own rot90/fliplr, and through the runtime
on synthetic faces filmed by a sideways / mirrored camera, where the tracked landmarks and the
picture shown must both be in the coordinates of the upright synthetic frame (its exact truth)."""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
import pytest
from media import write_video

from edge import config
from edge.cli import main
from edge.displays.base import Display
from edge.sources.base import Frame, Source
from edge.sources.orient import Orientation

ALL = [(m, r) for r in (0, 90, 180, 270) for m in (False, True)]


def reference(image: np.ndarray, mirror: bool, rotate: int) -> np.ndarray:
    out = np.rot90(image, -rotate // 90)  # numpy turns counter-clockwise for positive k
    return out[:, ::-1] if mirror else out


def camera_view(shown: np.ndarray, mirror: bool, rotate: int) -> np.ndarray:
    """What a camera mounted that way films, for a wanted picture `shown` (the inverse of the orientation)."""
    out = shown[:, ::-1] if mirror else shown
    return np.ascontiguousarray(np.rot90(out, rotate // 90))


@pytest.mark.parametrize("mirror,rotate", ALL)
@pytest.mark.parametrize("shape", [(48, 64, 3), (48, 64)])
def test_orientation_matches_numpy(mirror, rotate, shape):
    img = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    o = Orientation(mirror, rotate)
    out = o.apply(img)
    np.testing.assert_array_equal(out, reference(img, mirror, rotate))
    assert o.size(64, 48) == (out.shape[1], out.shape[0])
    np.testing.assert_array_equal(o.apply(camera_view(img, mirror, rotate)), img)


def test_orientation_points_are_where_the_pixels_went():
    """A marked pixel at (x, y) lands where a mirror (x -> w-1-x) and a clockwise quarter turn ((x, y) -> (h-1-y, x)) put it."""
    w, h = 64, 48
    img = np.zeros((h, w), np.uint8)
    img[10, 5] = 255  # x=5, y=10
    assert np.argwhere(Orientation(True, 0).apply(img)).tolist() == [[10, w - 1 - 5]]
    assert np.argwhere(Orientation(False, 90).apply(img)).tolist() == [[5, h - 1 - 10]]
    assert np.argwhere(Orientation(False, 180).apply(img)).tolist() == [[h - 1 - 10, w - 1 - 5]]
    assert np.argwhere(Orientation(False, 270).apply(img)).tolist() == [[w - 1 - 5, 10]]


def test_identity_is_free_and_bad_angles_are_refused():
    img = np.zeros((4, 6, 3), np.uint8)
    o = Orientation()
    assert o.identity and o.apply(img) is img and o.size(6, 4) == (6, 4)
    assert not Orientation(mirror=True).identity
    with pytest.raises(ValueError, match="rotate 45 .* 0, 90, 180, 270"):
        Orientation(rotate=45)


def test_mirror_and_rotate_options():
    p = argparse.ArgumentParser()
    config.add_arguments(p)
    cfg = config.resolve(p.parse_args(["--mirror", "--rotate", "270"]))
    assert (cfg.mirror, cfg.rotate) == (True, 270)
    cfg = config.resolve(p.parse_args([]))
    assert (cfg.mirror, cfg.rotate, cfg.overlay) == (False, 0, "points")
    with pytest.raises(ValueError, match="'rotate' must be one of 0, 90, 180, 270, got 45"):
        config.resolve(p.parse_args(["--rotate", "45"]))


def test_overlay_option_takes_modes_and_old_true_false(tmp_path):
    p = argparse.ArgumentParser()
    config.add_arguments(p)
    assert config.resolve(p.parse_args(["--overlay", "debug"])).overlay == "debug"
    assert config.resolve(p.parse_args(["--overlay"])).overlay == "points"
    assert config.resolve(p.parse_args(["--no-overlay"])).overlay == "none"
    assert config.resolve(p.parse_args(["--overlay", "false"])).overlay == "none"
    old = tmp_path / "old.toml"
    old.write_text("overlay = true\n")  # a config file from before the modes
    assert config.resolve(p.parse_args(["--config", str(old)])).overlay == "points"
    old.write_text("overlay = false\n")
    assert config.resolve(p.parse_args(["--config", str(old)])).overlay == "none"
    with pytest.raises(ValueError, match="'overlay' must be one of none, points, debug, got 'all'"):
        config.resolve(p.parse_args(["--overlay", "all"]))


def synthetic(n: int):
    from edge.synth import SyntheticFace

    synth = SyntheticFace(640, 480, seed=3, scenario="default")
    return [synth.render(i) for i in range(n)]


@pytest.mark.slow
@pytest.mark.parametrize("mirror,rotate", [(True, 90), (False, 270)])
def test_sideways_camera_landmarks_out_in_shown_coordinates(tmp_path, mirror, rotate):
    """The camera films the synthetic face turned and/or mirrored; with the matching --rotate/--mirror the runtime
    tracks the upright face and --landmarks-out and the video hold the upright picture's coordinates."""
    frames = synthetic(30)
    filmed = tmp_path / "camera.avi"
    write_video(filmed, (camera_view(img, mirror, rotate) for img, _ in frames))  # the camera's picture is portrait
    out, video = tmp_path / "lm.jsonl", tmp_path / "shown.avi"
    argv = ["run", "--source", f"file:{filmed}", "--display", f"file:{video}", "--overlay", "none",
            "--rotate", str(rotate), "--landmarks-out", str(out)] + (["--mirror"] if mirror else [])  # fmt: skip
    assert main(argv) == 0
    lines = [json.loads(ln) for ln in out.read_text().splitlines()]
    tracked = [ln for ln in lines if ln["faces"]]
    assert len(tracked) >= 25, "the turned face was not tracked: the frames were not turned upright before tracking"
    errs = []
    for ln in tracked[5:]:
        gt = frames[ln["frame"]][1][0].points
        pts = np.array(ln["faces"][0]["points"])
        errs.append(np.linalg.norm(pts - gt, axis=1).mean() / np.linalg.norm(gt[36] - gt[45]))
    assert np.median(errs) < 0.15, f"landmarks not in the shown picture's coordinates (NME {np.median(errs):.3f})"

    cap = cv2.VideoCapture(str(video))
    ok, shown = cap.read()
    assert ok and shown.shape == (480, 640, 3), "the display did not get the turned picture"
    assert np.abs(shown.astype(int) - frames[0][0].astype(int)).mean() < 6  # the upright frame (MJPG-close)


class TwoStreamSource(Source):
    """A camera with a small tracking stream and a 2x display stream (as picamera2 gives), filmed sideways."""

    name = "two-stream"

    def __init__(self, frames, mirror: bool, rotate: int) -> None:
        self.frames, self.mirror, self.rotate, self.i = frames, mirror, rotate, 0

    def read(self) -> Frame | None:
        if self.i >= len(self.frames):
            return None
        img = camera_view(self.frames[self.i][0], self.mirror, self.rotate)
        big = cv2.resize(img, (img.shape[1] * 2, img.shape[0] * 2), interpolation=cv2.INTER_NEAREST)
        self.i += 1
        return Frame(img, self.i - 1, display=big)


class Keep(Display):
    name = "keep"

    def __init__(self) -> None:
        self.shown: list[np.ndarray] = []
        self.opened_with: tuple[int, int] | None = None

    def open(self, width: int, height: int, fps: float = 30.0) -> None:
        self.opened_with = (width, height)

    def show(self, image: np.ndarray) -> None:
        self.shown.append(image.copy())


def test_display_stream_is_turned_too_and_the_overlay_lands_on_the_face(tmp_path):
    from edge.service.build import build_pipeline
    from edge.service.runtime import Runtime

    frames = synthetic(12)
    p = argparse.ArgumentParser()
    config.add_arguments(p)
    cfg = config.resolve(p.parse_args(["--mirror", "--rotate", "90", "--overlay", "points", "--width", "480", "--height", "640"]))
    keep = Keep()
    seen: list[Frame] = []
    rt = Runtime(cfg, build_pipeline(cfg), TwoStreamSource(frames, True, 90), keep, on_frame=lambda f, faces: seen.append(f))
    res = rt.run()
    assert res.frames == 12
    assert keep.opened_with == (640, 480)  # the display is told the turned size
    assert seen[0].image.shape == (480, 640, 3) and seen[0].display.shape == (960, 1280, 3)
    shown = keep.shown[-1]
    assert shown.shape == (960, 1280, 3)
    upright = cv2.resize(frames[-1][0], (1280, 960), interpolation=cv2.INTER_NEAREST)
    differs = np.abs(shown.astype(int) - upright.astype(int)).max(axis=2) > 40  # the overlay's drawings
    gt = frames[-1][1][0].points * 2
    assert differs.any(), "no overlay drawn"
    ys, xs = np.nonzero(differs)
    assert xs.min() > gt[:, 0].min() - 60 and xs.max() < gt[:, 0].max() + 60  # drawn on the face, not elsewhere
    assert ys.min() > gt[:, 1].min() - 60 and ys.max() < gt[:, 1].max() + 60
    assert differs.mean() < 0.05  # everything else is the upright picture itself
