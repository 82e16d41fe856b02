"""`edgetrack train TARGET [OPTIONS]`: workstation training; each target's code lives in convert/.

The target's module (and with it PyTorch, SciPy, ...) is imported only when that target
runs, so the device install can build the command line without the workstation stack.
"""

from __future__ import annotations

import argparse

from edge.commands.workstation import import_workstation
from edge.registry import Registry

# target -> (module with add_arguments(parser) and main(args), one-line help); a missing workstation
# package is named with its extra when the target runs
TARGETS = Registry(
    "target",
    {
        "shape": ("convert.shape.cli", "Procrustes + PCA shape model"),
        "boxmap": ("convert.boxmap", "mapping from detector boxes to landmark boxes"),
        "texture": ("convert.texture", "mean face texture for the synthetic face"),
        "peers": ("convert.peers", "box mapping and point correspondence for the reference landmarkers"),
        "expressions": ("convert.signal_thresholds", "expression signal thresholds, calibrated on the data"),
        "masks": ("convert.masks", "procedurally drawn masks (glasses, moustache, hat)"),
        "clm": ("convert.patches.cli", "CLM patch experts and face score model"),
        "teacher": ("convert.cnn.teacher", "dlib's 68 points on aflw21 and KDEF faces, gated, for the CNN (needs [peers])"),
        "cnn": ("convert.cnn.cli", "CNN landmark regressor"),
        "detector": ("convert.detector.cli", "learned face detector (`--detector cnn`), int8 TFLite"),
        "emotion": ("convert.emotion", "emotion classifier on shape parameters (KDEF + CK+)"),
    },
    importer=import_workstation,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    listing = "\n".join(f"  {n:12s} {TARGETS.help(n)}" for n in TARGETS)
    p.epilog = f"targets:\n{listing}\n\n`edgetrack train TARGET --help` lists its options."
    p.add_argument("target", choices=TARGETS.names(), metavar="TARGET", help="what to train: " + ", ".join(TARGETS))
    p.add_argument("options", nargs=argparse.REMAINDER, help="the target's own options")


def main(args: argparse.Namespace) -> int:
    module = TARGETS.load(args.target)
    parser = argparse.ArgumentParser(prog=f"edgetrack train {args.target}", description=TARGETS.help(args.target))
    module.add_arguments(parser)
    target_args = parser.parse_args(args.options)
    return int(module.main(target_args) or 0)
