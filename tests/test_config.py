"""RunConfig: one typed, frozen field per option of the one OPTIONS table, each option read by the code
that uses it (`cfg.<key>`), and `bench` taking every option `run` takes."""

from __future__ import annotations

import argparse
import ast
import dataclasses
from pathlib import Path

import pytest

from edge import config
from edge.config import OPTIONS, RunConfig

EDGE = Path(__file__).resolve().parents[1] / "edge"


def test_run_config_has_one_typed_field_per_option():
    fields = {f.name: f for f in dataclasses.fields(RunConfig)}
    assert list(fields) == [o.key for o in OPTIONS] + ["config_path"]
    for opt in OPTIONS:
        f = fields[opt.key]
        assert f.type == (tuple[str, ...] if opt.kind is list else opt.kind), opt.key
        assert f.default == (tuple(opt.default) if opt.kind is list else opt.default), opt.key


def test_run_config_is_frozen_and_changed_by_replace():
    cfg = RunConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.max_faces = 2
    two = dataclasses.replace(cfg, max_faces=2)
    assert (cfg.max_faces, two.max_faces) == (1, 2)


def test_resolve_gives_a_run_config_of_checked_values(tmp_path):
    p = argparse.ArgumentParser()
    config.add_arguments(p)
    toml = tmp_path / "c.toml"
    toml.write_text('effect = ["mask:glasses"]\n[smooth]\nbeta = 2\n')
    cfg = config.resolve(p.parse_args(["--config", str(toml), "--threads", "2", "--no-smooth-flow"]))
    assert isinstance(cfg, RunConfig)
    assert (cfg.threads, cfg.smooth_flow, cfg.smooth_beta, cfg.effect) == (2, False, 2.0, ("mask:glasses",))
    assert type(cfg.smooth_beta) is float and cfg.config_path == str(toml)
    assert config.resolve(p.parse_args([])).config_path == ""


def _cfg_reads() -> set[str]:
    """Attribute names read off a `cfg` (`cfg.x`, `self.cfg.x`) anywhere in edge/ except config.py itself."""
    seen: set[str] = set()
    for path in EDGE.rglob("*.py"):
        if path.name == "config.py" and path.parent == EDGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute):
                owner = node.value
                name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
                if name == "cfg":
                    seen.add(node.attr)
    return seen


def test_every_option_is_read_by_the_code_that_uses_it():
    reads = _cfg_reads()
    unread = [o.key for o in OPTIONS if o.key not in reads]
    assert not unread, f"options nothing reads as cfg.<key>: {unread}"
    unknown = reads - {f.name for f in dataclasses.fields(RunConfig)}
    assert not unknown, f"cfg.<name> read but not a RunConfig field: {sorted(unknown)}"


def test_bench_takes_every_run_option():
    from edge.commands import bench

    p = argparse.ArgumentParser()
    bench.add_arguments(p)
    flags = {a for action in p._actions for a in action.option_strings}
    assert {config.flag(o.key) for o in OPTIONS} <= flags
    cfg = config.resolve(p.parse_args(["--max-faces", "3", "--no-smooth"]), bench.BENCH_DEFAULTS)
    assert (cfg.max_faces, cfg.smooth, cfg.source, cfg.display, cfg.frames) == (3, False, "synthetic", "none", 1000)


def test_options_reach_the_parts_they_set():
    from edge.displays import NoDisplay
    from edge.service.build import build_pipeline
    from edge.service.runtime import Runtime
    from edge.sources import SyntheticSource

    cfg = dataclasses.replace(
        RunConfig(), landmarker="mean", max_faces=3, redetect_score=0.5, detect_every=7, verify_every=4, smooth_flow=False,
        smooth_beta=2.5, smooth_pose_min_cutoff=2.0, mirror=True, rotate=90, overlay="debug", effect=("caricature:1.5",),
        frames=3, width=320, height=240,
    )  # fmt: skip
    rt = Runtime(cfg, build_pipeline(cfg), SyntheticSource(320, 240), NoDisplay())
    tracker, pipe = rt.tracker, rt.pipeline
    assert (tracker.max_faces, tracker.redetect_score, tracker.detect_every, tracker.verify_every) == (3, 0.5, 7, 4)
    assert pipe.smoothing.flow is None
    assert (pipe.smoothing.filter.params.beta, pipe.smoothing.filter.params.pose_min_cutoff) == (2.5, 2.0)
    assert (pipe.orient.mirror, pipe.orient.rotate, pipe.overlay) == (True, 90, "debug")
    assert [e.name for e in pipe.effects] == ["caricature"]
    res = rt.run()
    assert (res.frames, res.ended_by) == (3, "--frames 3")
    assert build_pipeline(dataclasses.replace(cfg, smooth=False)).smoothing is None


def test_threads_setting_reaches_the_blas_numpy_already_loaded():
    """`threads` is read after numpy has loaded its BLAS, which an environment variable no longer changes."""
    import cv2
    from threadpoolctl import threadpool_info, threadpool_limits

    from edge.service.build import set_threads

    before = {i["filepath"]: i["num_threads"] for i in threadpool_info()}
    cv2_before = cv2.getNumThreads()
    try:
        set_threads(1)
        blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
        assert blas, "numpy reports no BLAS library"
        assert all(i["num_threads"] == 1 for i in blas)
    finally:
        for info in threadpool_info():
            threadpool_limits(limits=before.get(info["filepath"], info["num_threads"]), user_api=info["user_api"])
        cv2.setNumThreads(cv2_before)
