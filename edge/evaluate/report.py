"""Summaries, tables, prediction files and CED plots of evaluation runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np

from edge.evaluate.harness import EvalRun
from edge.evaluate.metrics import auc, ced, failure_rate, mean_offset_by_region, nme_by_region, nme_interocular, nme_unbiased
from edge.landmarks68 import N_POINTS

OFFSET_HEADING = "systematic error (mean offset per point, % IOD, face-aligned)"


def summarise(run: EvalRun) -> dict:
    found = [i for i, p in enumerate(run.predictions) if p is not None]
    missing = len(run.predictions) - len(found)
    pred = np.stack([run.predictions[i] for i in found]) if found else np.zeros((0, N_POINTS, 2))
    gt = np.stack([run.samples[i].points for i in found]).astype(np.float64) if found else np.zeros((0, N_POINTS, 2))
    nme = nme_interocular(pred, gt) if found else np.zeros(0)
    regions = nme_by_region(pred, gt) if found else {}
    offsets = mean_offset_by_region(pred, gt) if found else {}
    ms = np.asarray(run.ms_per_face) if run.ms_per_face else np.full(1, np.nan)
    out = {
        "landmarker": run.landmarker,
        "box": run.box_mode,
        "n": len(run.predictions),
        "missing": missing,
        "missing_pct": 100.0 * missing / max(len(run.predictions), 1),
        "nme_mean_pct": 100.0 * float(nme.mean()) if found else float("nan"),
        "nme_median_pct": 100.0 * float(np.median(nme)) if found else float("nan"),
        "fail8_pct": 100.0 * failure_rate(nme, 0.08, missing),
        "fail10_pct": 100.0 * failure_rate(nme, 0.10, missing),
        "auc8": auc(nme, 0.08, missing),
        "ms_per_face_median": float(np.median(ms)),
        "ms_per_face_p95": float(np.percentile(ms, 95)),
        "nme_region_mean_pct": {k: 100.0 * float(v.mean()) for k, v in regions.items()},
        # the constant per-point part of the error (annotation style, box framing) and what is left without it
        "offset_mean_pct": 100.0 * offsets.pop("all") if found else float("nan"),
        "offset_region_pct": {k: 100.0 * v for k, v in offsets.items()},
        "nme_unbiased_pct": 100.0 * float(nme_unbiased(pred, gt).mean()) if found else float("nan"),
    }
    if run.ms_detect:
        out["ms_detect_median"] = float(np.median(run.ms_detect))
        out["ms_detect_p95"] = float(np.percentile(run.ms_detect, 95))
    return out


def format_table(summaries: list[dict]) -> str:
    cols = [
        ("landmarker", "{}"), ("box", "{}"), ("n", "{}"), ("missing", "{}"),
        ("nme_mean_pct", "{:.2f}"), ("nme_median_pct", "{:.2f}"), ("fail8_pct", "{:.1f}"),
        ("fail10_pct", "{:.1f}"), ("auc8", "{:.3f}"), ("ms_per_face_median", "{:.2f}"), ("ms_per_face_p95", "{:.2f}"),
    ]
    regions = list(summaries[0]["nme_region_mean_pct"]) if summaries and summaries[0]["nme_region_mean_pct"] else []
    header = [c for c, _ in cols] + [f"nme_{r}" for r in regions]
    rows = [header]
    for s in summaries:
        row = [fmt.format(s[c]) for c, fmt in cols]
        row += ["{:.2f}".format(s["nme_region_mean_pct"].get(r, float("nan"))) for r in regions]
        rows.append(row)
    return markdown_table(rows)


def format_offset_table(summaries: list[dict]) -> str:
    """The systematic-error table (`edgetrack eval` prints it under OFFSET_HEADING, after `format_table`):
    mean offset over all points, the NME without it, and the mean offset per region, all % IOD."""
    regions = next((list(s["offset_region_pct"]) for s in summaries if s.get("offset_region_pct")), [])
    rows = [["landmarker", "box", "offset_mean_pct", "nme_unbiased_pct"] + [f"offset_{r}" for r in regions]]
    for s in summaries:
        rows.append([str(s["landmarker"]), str(s["box"]), f"{s['offset_mean_pct']:.2f}", f"{s['nme_unbiased_pct']:.2f}"]
                    + ["{:.2f}".format(s["offset_region_pct"].get(r, float("nan"))) for r in regions])  # fmt: skip
    return markdown_table(rows)


def markdown_table(rows: list[list[str]]) -> str:
    """Rows of cells (the first the header) as a markdown table with padded columns, readable raw in a terminal."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def write_predictions(run: EvalRun, path: Path) -> None:
    """One row per input row, same order and columns as landmarks.csv; empty where no face was found."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image"] + [f"{a}{i}" for i in range(N_POINTS) for a in "xy"])
        for sample, pred in zip(run.samples, run.predictions):
            if pred is None:
                w.writerow([sample.name] + [""] * (2 * N_POINTS))
            else:
                w.writerow([sample.name] + [f"{v:.2f}" for v in pred.ravel()])


def write_json(summaries: list[dict], path: Path) -> None:
    """A single run's summary at the top level (scripts read `nme_mean_pct` directly); several under `runs`."""
    data = summaries[0] if len(summaries) == 1 else {**summaries[0], "runs": summaries}
    Path(path).write_text(json.dumps(data, indent=2) + "\n")


_COLOURS = [(200, 80, 0), (0, 140, 255), (40, 160, 40), (0, 0, 220), (160, 0, 160), (120, 120, 0)]


def plot_ced(runs: list[EvalRun], path: Path, limit: float = 0.10) -> None:
    """CED curves drawn with OpenCV, so the device install needs no plotting library."""
    w, h, m = 640, 480, 60
    img = np.full((h, w, 3), 255, np.uint8)
    x0, y0, x1, y1 = m, h - m, w - 20, 20
    cv2.rectangle(img, (x0, y1), (x1, y0), (0, 0, 0), 1)
    for k in range(0, 11):
        fx = x0 + (x1 - x0) * k / 10
        fy = y0 - (y0 - y1) * k / 10
        cv2.line(img, (int(fx), y0), (int(fx), y0 + 4), (0, 0, 0), 1)
        cv2.putText(img, f"{limit * 100 * k / 10:.0f}", (int(fx) - 6, y0 + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
        cv2.line(img, (x0 - 4, int(fy)), (x0, int(fy)), (0, 0, 0), 1)
        cv2.putText(img, f"{k / 10:.1f}", (x0 - 34, int(fy) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    cv2.putText(img, "NME (inter-ocular) %", (w // 2 - 80, h - 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.putText(img, "share of faces", (5, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
    for j, run in enumerate(runs):
        s = summarise(run)
        found = [i for i, p in enumerate(run.predictions) if p is not None]
        if found:
            pred = np.stack([run.predictions[i] for i in found])
            nme = nme_interocular(pred, np.stack([run.samples[i].points for i in found]))
        else:
            nme = np.zeros(0)
        t, share = ced(nme, limit, s["missing"], steps=200)
        pts = np.stack([x0 + (x1 - x0) * t / limit, y0 - (y0 - y1) * share], 1).astype(np.int32)
        colour = _COLOURS[j % len(_COLOURS)]
        cv2.polylines(img, [pts], False, colour, 2, cv2.LINE_AA)
        label = f"{run.landmarker} ({run.box_mode}) AUC8={s['auc8']:.3f}"
        cv2.putText(img, label, (x0 + 10, y1 + 20 + 18 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    cv2.imwrite(str(path), img)
