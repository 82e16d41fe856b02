"""`edgetrack train TARGET`: workstation training; each target's code lives in convert/."""

from __future__ import annotations

import argparse
import importlib

# target -> module with add_arguments(parser) and main(args)
TARGETS: dict[str, tuple[str, str]] = {
    "shape": ("convert.shape.cli", "Procrustes + PCA shape model"),
    "boxmap": ("convert.boxmap", "mapping from detector boxes to landmark boxes"),
    "texture": ("convert.texture", "mean face texture for the synthetic face"),
    "peers": ("convert.peers", "box mapping and point correspondence for the reference landmarkers"),
    "expressions": ("convert.expressions", "expression signal thresholds, calibrated on the data"),
    "masks": ("convert.masks", "procedurally drawn masks (glasses, moustache, hat)"),
    "clm": ("convert.patches.cli", "CLM patch experts and face score model"),
    "cnn": ("convert.cnn.cli", "CNN landmark regressor"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="target", required=True)
    for name, (module_name, help_text) in TARGETS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("convert."):
                continue
            raise
        sp = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sp)
        sp.set_defaults(_target_main=module.main)


def main(args: argparse.Namespace) -> int:
    return int(args._target_main(args) or 0)
