"""`edgetrack eval`: NME, failure rates, AUC, misses and speed, for one or several landmarkers in one run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.cnn.styles import DEFAULT_STYLE, STYLES, style_of_folder
from edge.config import BY_KEY
from edge.data import load_dataset, recorded_split, split_path
from edge.evaluate.harness import evaluate
from edge.evaluate.report import OFFSET_HEADING, format_offset_table, format_table, plot_ced, summarise, write_json, write_predictions
from edge.landmarks import make_landmarker
from edge.landmarks.base import LANDMARKERS
from edge.tracking import pick_detector

DEFAULT_DETECTOR = BY_KEY["detector"].default  # what `edgetrack run` uses unless told


def box_detector(args: argparse.Namespace):
    """The detector for --box detect (None for gt boxes), chosen as `edgetrack run` chooses it; says which."""
    if args.box != "detect":
        return None
    detector, why = pick_detector(args.detector)
    print(why, file=sys.stderr)
    return detector


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="folder with landmarks.csv + images/ (or .pts files)")
    p.add_argument("--landmarker", default="mean", help="name, or several joined by commas (mean,dlib,mediapipe)")
    p.add_argument("--box", choices=["gt", "detect"], default="gt", help="start from the annotation's box or a detection (--detector)")
    p.add_argument(
        "--split",
        choices=["auto", "val", "train", "all"],
        default="auto",
        help="part to score: auto = the val part of the recorded identity split (models/splits/) when the folder has one, else all faces",
    )
    p.add_argument(
        "--model", default=None, help="model file for the landmarkers it fits: cnn and cnn+clm take a .tflite, clm a clm_patches.npz"
    )
    p.add_argument(
        "--clm-experts",
        default="",
        help="CLM expert types to score, comma list of raw|sobel|lbp|blend|joint|mosse: each clm in --landmarker runs once per type, "
        "named clm:<type> (files: the shipped one when it is that type, else build/clm/ from `edgetrack train clm`)",
    )
    p.add_argument(
        "--style",
        choices=["auto", *STYLES],
        default="auto",
        help="annotation style the cnn landmarkers answer in (their output head): auto = the data folder's own (300w-train -> 300w, "
        f"ytf68 -> ytf68), else {DEFAULT_STYLE}",
    )
    p.add_argument("--detector", default=DEFAULT_DETECTOR, help=f"detector for --box detect (default: the run default, {DEFAULT_DETECTOR})")
    p.add_argument("--limit", type=int, default=0, help="score only the first N faces (quick checks)")
    p.add_argument("--predictions", type=Path, help="CSV of predicted points, one row per input row")
    p.add_argument("--json", type=Path, help="summary as JSON (nme_mean_pct, fail8_pct, auc8, offset_mean_pct, nme_unbiased_pct, ...)")
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


def select_part(data: str, samples: list, part: str) -> tuple[list, str]:
    """The faces to score and a line saying which part they are, so no one mistakes a third of a folder for all of it."""
    split = recorded_split(data, samples) if part != "all" else None
    if part == "auto" and split is None:
        return samples, f"all {len(samples)} faces (no recorded split for this folder)"
    if part == "auto":
        part = "val"
    if part == "all":
        return samples, f"all {len(samples)} faces"
    if split is None:
        raise ValueError(f"{data} has no recorded split at {split_path(data)} covering its faces; score it with --split all (the default)")
    chosen = split.select(samples, part)
    return chosen, f"the {part} part of the recorded identity split {split_path(data)} ({len(chosen)} of {len(samples)} faces)"


def _takes_style(name: str) -> bool:
    """The landmarker has annotation-style heads (its LANDMARKERS entry takes the style option)."""
    return name in LANDMARKERS and "style" in LANDMARKERS.takes(name)


def pick_style(data: str, style: str, names: list[str]) -> str:
    """The CNN head to score with: as asked, or (auto) the data folder's annotators' style, said in one line."""
    if style != "auto":
        return style
    found = style_of_folder(data)
    picked = found or DEFAULT_STYLE
    if any(_takes_style(n) for n in names):
        why = f"the annotators of {Path(data).name}" if found else f"{Path(data).name} is not a known annotation style, the default"
        print(f"cnn style: auto -> {picked} ({why})", file=sys.stderr)
    return picked


def main(args: argparse.Namespace) -> int:
    if (Path(args.data) / "landmarks21.csv").is_file():
        return main_aflw(args)
    samples, _ = load_dataset(args.data)
    samples, part = select_part(args.data, samples, args.split)
    if args.limit:
        samples = samples[: args.limit]
    if not samples:
        raise ValueError(f"{args.data}: no faces to score in {part}")
    names = [n.strip() for n in args.landmarker.split(",") if n.strip()]
    takes_model = model_takers(names, args.model)
    detector = box_detector(args)
    runs, summaries = [], []
    clm_types = [t.strip() for t in getattr(args, "clm_experts", "").split(",") if t.strip()]
    if clm_types and "clm" not in names:
        raise ValueError("--clm-experts picks the expert types of the clm landmarker; add clm to --landmarker")
    if clm_types and "clm" in takes_model:
        raise ValueError("--clm-experts and a clm --model both say which experts to use; pass one")
    # clm once per expert type (clm:raw, clm:lbp, ...), every other name once
    plan = [(n, {"experts": t} if t else {}) for n in names for t in (clm_types if n == "clm" and clm_types else [""])]
    style = pick_style(args.data, getattr(args, "style", "auto"), names)
    for landmarker in _landmarkers(plan, takes_model, args.model, style):
        print(f"eval {landmarker.name} on {len(samples)} faces of {args.data}: {part}, box={args.box}", file=sys.stderr)
        run = evaluate(samples, landmarker, args.box, detector)
        runs.append(run)
        summaries.append(summarise(run))
    print(format_table(summaries))
    print(f"\n{OFFSET_HEADING}")
    print(format_offset_table(summaries))
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


def _landmarkers(plan: list[tuple[str, dict]], takes_model: set[str], model: str | None, style: str):
    """Each planned landmarker, built when its turn comes (one in memory at a time)."""
    for name, extra in plan:
        kwargs = {"model_path": model} if name in takes_model else extra
        if _takes_style(name):
            kwargs = {**kwargs, "style": style}
        yield make_landmarker(name, **kwargs)


def main_aflw(args: argparse.Namespace) -> int:
    """An aflw21 folder: its val part scored in AFLW's own markup per yaw bin (edge/evaluate/aflw.py)."""
    from edge.data.aflw21 import load_aflw21, load_aflw21_part
    from edge.evaluate.aflw import evaluate_aflw, format_aflw_table, summarise_aflw

    if args.split == "all":
        faces = load_aflw21(args.data)
    else:
        faces = load_aflw21_part(args.data, "val" if args.split == "auto" else args.split)
    if args.limit:
        faces = faces[: args.limit]
    if args.clm_experts or args.predictions or args.plot:
        raise ValueError("--clm-experts, --predictions and --plot are for 68-point folders; an aflw21 folder gets the per-yaw table")
    names = [n.strip() for n in args.landmarker.split(",") if n.strip()]
    takes_model = model_takers(names, args.model)
    detector = box_detector(args)
    style = pick_style(args.data, args.style, names)
    summaries = []
    for landmarker in _landmarkers([(n, {}) for n in names], takes_model, args.model, style):
        print(f"eval {landmarker.name} on {len(faces)} aflw21 faces ({args.split} part), box={args.box}", file=sys.stderr)
        summaries.append(summarise_aflw(evaluate_aflw(Path(args.data), faces, landmarker, args.box, detector)))
    print(format_aflw_table(summaries))
    if args.json:
        write_json(summaries, args.json)
    return 0
