"""Sources: files frame by frame with none dropped, the newest-frame capture thread, reopening a lost camera."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import numbered_frame, read_index, write_video

from edge.evaluate.flaky import FlakySource
from edge.sources import (
    FrameByFrame,
    ImageFolderSource,
    LatestFrame,
    SourceLost,
    SyntheticSource,
    VideoFileSource,
    make_feed,
    make_source,
)


def _poll(done, deadline_s: float = 60.0) -> None:
    """Wait until `done()` holds; the deadline is generous (it only stops a hang), so a busy machine cannot fail it."""
    end = time.monotonic() + deadline_s
    while not done():
        assert time.monotonic() < end, f"not reached in {deadline_s:.0f} s"
        time.sleep(0.01)


def numbered_video(path: Path, n: int) -> Path:
    return write_video(path, (numbered_frame(i) for i in range(n)))


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return numbered_video(tmp_path_factory.mktemp("src") / "clip.avi", 60)


def test_file_source_gives_every_frame_in_order(video):
    with FrameByFrame(VideoFileSource(video)) as feed:
        idx = []
        while (f := feed.get()) is not None:
            idx.append((f.index, read_index(f.image)))
    assert [i for i, _ in idx] == list(range(60))
    assert [k for _, k in idx] == list(range(60))


def test_file_source_loops(video):
    feed = FrameByFrame(VideoFileSource(video), loop=True).start()
    frames = [feed.get() for _ in range(150)]
    feed.stop()
    assert all(f is not None for f in frames)
    assert [read_index(f.image) for f in frames[58:62]] == [58, 59, 0, 1]


def test_image_folder_in_name_order(tmp_path):
    for i in (3, 1, 2):
        cv2.imwrite(str(tmp_path / f"img_{i:03d}.png"), numbered_frame(i))
    (tmp_path / "notes.txt").write_text("not an image")
    with FrameByFrame(ImageFolderSource(tmp_path)) as feed:
        got = []
        while (f := feed.get()) is not None:
            got.append(read_index(f.image))
    assert got == [1, 2, 3]


def test_missing_inputs_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="file:PATH"):
        VideoFileSource(tmp_path / "nope.mp4").open()
    with pytest.raises(FileNotFoundError, match="images:DIR"):
        ImageFolderSource(tmp_path / "nope").open()
    with pytest.raises(ValueError, match="no images"):
        ImageFolderSource(tmp_path).open()
    with pytest.raises(ValueError, match="not understood"):
        make_source("carrier-pigeon")


def test_specs_pick_the_right_source(video, tmp_path):
    assert isinstance(make_source(f"file:{video}"), VideoFileSource)
    assert isinstance(make_source(str(video)), VideoFileSource)
    assert isinstance(make_source(f"images:{tmp_path}"), ImageFolderSource)
    cam = make_source("v4l2:3")
    assert cam.live and cam.device == 3
    assert make_source("/dev/video7").device == "/dev/video7"


def test_realtime_file_keeps_only_the_newest_frame(video):
    """A slow consumer never sees a queue of old frames: it gets the latest, the rest are dropped."""
    feed = make_feed(VideoFileSource(video), realtime=True)
    assert isinstance(feed, LatestFrame)
    with feed:
        seen = []
        while (f := feed.get(timeout=30.0)) is not None:
            seen.append(f.index)
            # slow: each frame takes as long as 3 new ones take to arrive (counted, not timed, so a busy machine
            # cannot change the outcome)
            _poll(lambda n=feed.stats.captured: feed.stats.captured >= min(n + 3, 60))
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert len(seen) <= 22 and feed.stats.dropped == 60 - len(seen)  # every frame not taken was dropped, not queued
    assert feed.stats.captured == 60


def test_camera_that_is_not_there_yet_is_opened_when_it_appears(tmp_path):
    """A 'camera' (a video file read as a live device) missing at start, then plugged in."""
    path = tmp_path / "late.avi"
    src = VideoFileSource(path)
    src.live = True
    feed = LatestFrame(src, backoff=0.02, max_backoff=0.1).start()
    try:
        _poll(lambda: feed.stats.failures >= 2)
        with pytest.raises(TimeoutError):
            feed.get(timeout=0.05)
        numbered_video(tmp_path / "tmp.avi", 30).rename(path)
        frame = feed.get(timeout=3.0)
        assert frame is not None
    finally:
        feed.stop()


def test_camera_that_disappears_is_reopened(tmp_path):
    """The file is deleted while being read as a live camera; when it comes back, frames flow again."""
    path = numbered_video(tmp_path / "cam.avi", 30)
    backup = tmp_path / "cam.bak"
    backup.write_bytes(path.read_bytes())
    src = VideoFileSource(path)
    src.live = True  # end of data = device lost, as with a camera
    feed = LatestFrame(src, backoff=0.02, max_backoff=0.1).start()
    try:
        assert feed.get(timeout=3.0) is not None
        path.unlink()  # unplugged: the reader hits the end, fails to reopen, backs off
        _poll(lambda: feed.stats.failures >= 2)
        path.write_bytes(backup.read_bytes())  # plugged back in
        _poll(lambda: feed.stats.reopens >= 1)
        assert feed.get(timeout=30.0) is not None
    finally:
        feed.stop()


def test_flaky_camera_drops_out_and_comes_back(video):
    src = FlakySource(VideoFileSource(video), every=10, down_opens=2)
    src.inner.live = True
    feed = LatestFrame(src, loop=True, backoff=0.01, max_backoff=0.02).start()
    got = 0
    try:
        deadline = time.monotonic() + 60  # generous: the outcome is counted, the deadline only stops a hang
        while (feed.stats.reopens < 3 or got <= 5) and time.monotonic() < deadline:
            try:
                if feed.get(timeout=0.5) is not None:
                    got += 1
            except TimeoutError:
                pass
    finally:
        feed.stop()
    assert src.drops >= 3 and feed.stats.reopens >= 3 and got > 5


def test_stop_is_prompt_even_while_backing_off(tmp_path):
    src = VideoFileSource(tmp_path / "never.avi")
    src.live = True
    feed = LatestFrame(src, backoff=600.0, max_backoff=600.0).start()
    _poll(lambda: feed.stats.failures >= 1)  # backing off now: the next try is 10 minutes away
    feed.stop()  # joins the thread for at most 1.5 s: a stop that waited for the backoff would leave it running
    assert not any(t.name.startswith("capture") and t.is_alive() for t in threading.enumerate() if "never" in t.name)


def test_source_lost_is_a_runtime_error():
    assert issubclass(SourceLost, RuntimeError)


def test_synthetic_source_keeps_the_truth_of_the_frames_it_rendered():
    from edge.sources.synthetic import KEEP_TRUTH

    src = SyntheticSource(320, 240)
    frames = [src.read() for _ in range(KEEP_TRUTH + 5)]
    assert not hasattr(frames[0], "truth")  # ground truth does not ride on every frame
    last = frames[-1].index
    kept = src.truth_of(last)
    assert kept and kept is src.truth_of(last)  # the truth rendered with that frame, not worked out again
    for index in (last, 0, 2 * KEEP_TRUTH):  # just rendered, dropped from the cache, never rendered
        want = src.synth.truth(index)
        got = src.truth_of(index)
        assert [t.id for t in got] == [t.id for t in want]
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.points, w.points)
