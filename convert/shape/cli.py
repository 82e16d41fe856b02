"""`edgetrack train shape`: the shape model from the training split of the shared data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from convert.shape.train import train_shape_model
from convert.training_data import training_samples
from edge.data import flip_points
from edge.paths import models_dir
from edge.shape_model import DEFAULT_FILE


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, nargs="*", help="data folders (default: ../shared/data/ytf68 and 300w-train)")
    p.add_argument("--out", type=Path, default=None, help="models folder (default: models/)")
    p.add_argument("--variance", type=float, default=0.97, help="share of shape variance to keep")
    p.add_argument("--max-params", type=int, default=24)


def main(args: argparse.Namespace) -> int:
    samples = training_samples(args.data)
    # mirrored shapes too, so the model has no left/right bias
    shapes = [s.points for s in samples] + [flip_points(s.points, 1000) for s in samples]
    model = train_shape_model(np.stack(shapes), args.variance, args.max_params)
    out = (args.out or models_dir()) / DEFAULT_FILE
    model.save(out)
    frac = model.eigenvalues.sum()
    print(f"shape model: {len(samples)} faces (+ mirrors), {model.n_params} parameters, saved to {out}", file=sys.stderr)
    print(f"  leading std devs: {np.sqrt(model.eigenvalues[:6]).round(4).tolist()} (kept variance {frac:.4g})", file=sys.stderr)
    return 0
