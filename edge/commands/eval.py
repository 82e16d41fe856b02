"""`edgetrack eval`: NME, failure rates, AUC, misses and speed, for one or several landmarkers in one run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from convert.data import load_dataset, load_or_make_split
from edge.detect import make_detector
from edge.evaluate.harness import evaluate
from edge.evaluate.report import format_table, plot_ced, summarise, write_json, write_predictions
from edge.landmarks import make_landmarker


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="folder with landmarks.csv + images/ (or .pts files)")
    p.add_argument("--landmarker", default="mean", help="name, or several joined by commas (mean,dlib,mediapipe)")
    p.add_argument("--box", choices=["gt", "detect"], default="gt", help="start from the annotation's box or a Haar detection")
    p.add_argument("--split", choices=["val", "train", "all"], default="val", help="identity-disjoint part to score (default val)")
    p.add_argument(
        "--model", default=None, help="model file for the landmarkers it fits: cnn and cnn+clm take a .tflite, clm a clm_patches.npz"
    )
    p.add_argument("--detector", default="haar")
    p.add_argument("--limit", type=int, default=0, help="score only the first N faces (quick checks)")
    p.add_argument("--predictions", type=Path, help="CSV of predicted points, one row per input row")
    p.add_argument("--json", type=Path, help="summary as JSON (nme_mean_pct, fail8_pct, auc8, ...)")
    p.add_argument("--plot", type=Path, help="cumulative error distribution as PNG")


# which landmarkers load which kind of model file, so `--model` in a comma list reaches only those
MODEL_SUFFIXES = {"cnn": ".tflite", "cnn+clm": ".tflite", "clm": ".npz"}


def model_takers(names: list[str], model: str | None) -> set[str]:
    """The named landmarkers that `--model` is meant for (by its file type); the others keep their defaults."""
    if not model:
        return set()
    suffix = Path(model).suffix.lower()
    takers = {n for n in names if MODEL_SUFFIXES.get(n) == suffix}
    if not takers:
        fits = ", ".join(f"{n} ({s})" for n, s in MODEL_SUFFIXES.items())
        raise ValueError(f"--model {model} fits none of --landmarker {','.join(names)}; a model file is for {fits}")
    return takers


def main(args: argparse.Namespace) -> int:
    samples, _ = load_dataset(args.data)
    if args.split != "all":
        samples = load_or_make_split(args.data, samples).select(samples, args.split)
    if args.limit:
        samples = samples[: args.limit]
    if not samples:
        raise ValueError(f"{args.data}: no faces in the {args.split} split")
    names = [n.strip() for n in args.landmarker.split(",") if n.strip()]
    takes_model = model_takers(names, args.model)
    detector = make_detector(args.detector) if args.box == "detect" else None
    runs, summaries = [], []
    for name in names:
        kwargs = {"model_path": args.model} if name in takes_model else {}
        landmarker = make_landmarker(name, **kwargs)
        print(f"eval {name} on {len(samples)} faces of {args.data} ({args.split} split, box={args.box})", file=sys.stderr)
        run = evaluate(samples, landmarker, args.box, detector)
        runs.append(run)
        summaries.append(summarise(run))
    print(format_table(summaries))
    if args.predictions:
        if len(runs) > 1:
            for run in runs:
                path = args.predictions.with_name(f"{args.predictions.stem}_{run.landmarker}{args.predictions.suffix}")
                write_predictions(run, path)
        else:
            write_predictions(runs[0], args.predictions)
    if args.json:
        write_json(summaries, args.json)
    if args.plot:
        plot_ced(runs, args.plot)
    return 0
