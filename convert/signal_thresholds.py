"""Calibrate the expression signals on the annotated data -> models/expressions.json.

Measures (edge.signals.raw_measures) are taken on every annotated face of the train
split of each dataset, then:
  * blink: a two-component Gaussian mixture over the eye aspect ratio (closed eyes are a
    small, separate mode near 0); the threshold is halfway between the two modes (a
    half-closed eye is a blink; the posterior crossing sits right against the tight closed
    mode and would miss the partly closed lids a tracker reports);
  * mouth open, smile, brow raise: 0..1 scores running from a "neutral" percentile to a
    "full" percentile of the data; mouth open and smile fire where Otsu's split of the
    measure (the data's two-class boundary: open/closed, smiling/not) falls on that scale;
    brow raise (one mode, no natural split) fires halfway to "full".

    python -m convert.signal_thresholds [--data DIR ...] [--out models/expressions.json]
    (also `edgetrack train expressions`)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from edge.data.readers import load_dataset
from edge.data.split import load_or_make_split
from edge.paths import data_root, model_path
from edge.signals import CALIBRATION_FILE, Calibration, raw_measures

DATASETS = ("300w-train", "ytf68")


def gmm_modes(x: np.ndarray, lo_init: float, hi_init: float, n_iter: int = 200) -> dict[str, float]:
    """Two-Gaussian EM in 1-D: the closed and open modes, their spread and the posterior crossing."""
    mu = np.array([lo_init, hi_init], dtype=np.float64)
    sd = np.array([0.05, float(x.std())])
    w = np.array([0.05, 0.95])
    for _ in range(n_iter):
        lik = w / (sd * np.sqrt(2 * np.pi)) * np.exp(-0.5 * ((x[:, None] - mu) / sd) ** 2)
        r = lik / np.maximum(lik.sum(1, keepdims=True), 1e-300)
        n = r.sum(0)
        w = n / n.sum()
        mu = (r * x[:, None]).sum(0) / n
        sd = np.sqrt((r * (x[:, None] - mu) ** 2).sum(0) / n) + 1e-4
    grid = np.linspace(mu[0], mu[1], 2001)
    lik = w / (sd * np.sqrt(2 * np.pi)) * np.exp(-0.5 * ((grid[:, None] - mu) / sd) ** 2)
    cross = grid[np.argmax(lik[:, 1] >= lik[:, 0])]
    return {
        "closed_mean": float(mu[0]),
        "closed_sd": float(sd[0]),
        "open_mean": float(mu[1]),
        "open_sd": float(sd[1]),
        "closed_weight": float(w[0]),
        "posterior_crossing": float(cross),
    }


def otsu(x: np.ndarray, bins: int = 256) -> float:
    """The split of `x` into two classes with the largest between-class variance."""
    hist, edges = np.histogram(x, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    p = hist / hist.sum()
    w0 = np.cumsum(p)
    m = np.cumsum(p * centres)
    mt = m[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mt * w0 - m) ** 2 / (w0 * (1 - w0))
    return float(centres[np.nanargmax(between[:-1])])


def collect(folders: list[Path]) -> dict[str, np.ndarray]:
    """Raw measures of every face in the train split of each folder."""
    rows: list[dict[str, float]] = []
    for folder in folders:
        samples, _ = load_dataset(folder, check_images=False)
        train = set(load_or_make_split(folder, samples).train)
        rows += [raw_measures(s.points) for s in samples if s.name in train]
        print(f"{folder.name}: {sum(1 for s in samples if s.name in train)} train faces")
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def calibrate(m: dict[str, np.ndarray]) -> tuple[Calibration, dict]:
    ear = 0.5 * (m["ear_left"] + m["ear_right"])
    ear_info = gmm_modes(ear, 0.02, float(np.median(ear)))
    ear_thr = 0.5 * (ear_info["closed_mean"] + ear_info["open_mean"])
    measures: dict[str, dict[str, float]] = {
        "ear": {"neutral": ear_info["open_mean"], "full": ear_info["closed_mean"], "threshold": ear_thr},
    }
    width0 = float(np.median(m["mouth_width"]))
    smile = m["mouth_lift"] + 0.5 * (m["mouth_width"] - width0)
    for name, x, lo_pct, hi_pct in (("mouth_gap", m["mouth_gap"], 10, 95), ("smile", smile, 25, 95), ("brow", m["brow"], 50, 97.5)):
        neutral, full = (float(v) for v in np.percentile(x, [lo_pct, hi_pct]))
        split = otsu(x) if name != "brow" else 0.5 * (neutral + full)
        score = float(np.clip((split - neutral) / (full - neutral), 0.2, 0.9))
        measures[name] = {"neutral": neutral, "full": full, "threshold": score, "split_raw": split}
    measures["smile"]["width_neutral"] = width0
    info = {
        "n_faces": len(ear),
        "ear_mixture": ear_info,
        "fraction_blink": float((ear < ear_thr).mean()),
        "fraction_mouth_open": float((m["mouth_gap"] >= measures["mouth_gap"]["split_raw"]).mean()),
        "fraction_smile": float((smile >= measures["smile"]["split_raw"]).mean()),
        "fraction_brow_raise": float((m["brow"] >= measures["brow"]["split_raw"]).mean()),
    }
    return Calibration(measures), info


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, nargs="*", help=f"annotated folders (default: {', '.join(DATASETS)} in the data root)")
    p.add_argument("--out", type=Path, default=None, help=f"output JSON (default models/{CALIBRATION_FILE})")


def main(args: argparse.Namespace) -> int:
    folders = args.data or [data_root() / d for d in DATASETS]
    missing = [str(f) for f in folders if not Path(f).is_dir()]
    if missing:
        raise FileNotFoundError(f"annotated data not found: {', '.join(missing)}; set EDGETRACK_DATA or pass --data")
    cal, info = calibrate(collect([Path(f) for f in folders]))
    out = args.out or model_path(CALIBRATION_FILE)
    cal.save(out, {"calibration": info, "source": [Path(f).name for f in folders], "split": "train (models/splits)"})
    print(f"wrote {out}: blink below EAR {cal.measures['ear']['threshold']:.3f} ({info['fraction_blink']:.1%} of faces)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="calibrate expression signal thresholds on annotated faces")
    add_arguments(parser)
    raise SystemExit(main(parser.parse_args()))
