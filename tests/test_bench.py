"""`edgetrack bench`: the per-stage table and top-level fps in the JSON; `--truth` scoring keys."""

from __future__ import annotations

import json

import pytest
from media import blank_video

from edge.cli import main
from edge.service.runtime import STAGES


def test_bench_json_has_fps_and_every_stage(tmp_path, capsys):
    video = blank_video(tmp_path / "v.avi", 40, fps=30, first=0, step=3)
    out = tmp_path / "b.json"
    assert main(["bench", "--source", f"file:{video}", "--frames", "30", "--warmup", "5", "--landmarker", "mean", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep["fps"] > 0 and rep["frames"] == 30 and rep["threads"] == 1 and rep["landmarker"] == "mean"
    assert set(rep["stages"]) == set(STAGES)
    for s in rep["stages"].values():
        assert 0 <= s["median_ms"] <= s["p95_ms"]
    text = capsys.readouterr().out
    assert "median ms" in text and "end-to-end" in text


def test_bench_counts_short_sources(tmp_path):
    video = blank_video(tmp_path / "v.avi", 1, size=(64, 48), fps=30, first=0)
    assert main(["bench", "--source", f"file:{video}", "--frames", "30", "--landmarker", "mean"]) == 2


@pytest.mark.slow
def test_bench_truth_smoothing_lowers_jitter_and_lags_less_than_a_frame(tmp_path):
    """135 frames of the default synthetic face: 90 still (jitter), then 45 moving (lag). The README's figures are
    jitter 0.565 -> 0.095 / 0.069 % IOD and lag 0.38 frames; a filter that passes the points through, or freezes them,
    fails here."""
    out = tmp_path / "t.json"
    assert main(["bench", "--truth", "--frames", "135", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    for variant in ("1euro", "1euro+flow"):
        r = rep[variant]
        assert r["tracked_share"] > 0.95 and r["still_frames"] >= 60 and r["moving_frames"] >= 12, r
        assert r["still_jitter_smoothed_pct_iod"] < 0.5 * r["still_jitter_raw_pct_iod"], r  # measured ratio 0.19 / 0.14
        assert r["moving_lag_smoothed_frames"] <= 1.0, r  # within a frame of the truth
        assert r["nme_smoothed_pct"] < 1.2 * r["nme_raw_pct"], r  # and no further from the truth than the raw points
