"""`edgetrack` command line: each subcommand lives in its own module under edge/commands/."""

from __future__ import annotations

import argparse
import logging
import sys

from edge.registry import Registry

# name -> (module with add_arguments(parser) and main(args) -> int, one-line help)
COMMANDS = Registry(
    "command",
    {
        "run": ("edge.commands.run", "track faces from a source and show them on a display"),
        "bench": ("edge.commands.bench", "per-stage timing and end-to-end fps"),
        "eval": ("edge.commands.eval", "accuracy and speed of a landmarker on annotated faces"),
        "stability": ("edge.commands.stability", "how much the points shake on real video (no labels): RMS acceleration, raw and smoothed"),
        "eval-emotion": ("edge.commands.eval_emotion", "emotion accuracy on labelled photos (images/ + labels.csv)"),
        "synth": ("edge.commands.synth", "render the synthetic face to a video with ground truth"),
        "train": ("edge.commands.train", "train a model from annotated data (workstation)"),
        "export": ("edge.commands.export", "convert trained models to TFLite (workstation)"),
    },
)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = argparse.ArgumentParser(prog="edgetrack", description="Offline face landmark tracking and effects.")
    sub = parser.add_subparsers(dest="command", required=True)
    modules: dict[str, object] = {}
    for name in COMMANDS:
        module = COMMANDS.load(name)
        p = sub.add_parser(name, help=COMMANDS.help(name), description=COMMANDS.help(name))
        module.add_arguments(p)
        modules[name] = module
    return parser, modules


class _StderrLines(logging.Handler):
    """`edgetrack: message` on whatever sys.stderr is now (the journal under systemd, a test's capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"edgetrack: {record.getMessage()}", file=sys.stderr, flush=True)


def setup_logging() -> None:
    """Modules log through logging.getLogger(__name__); the command line shows INFO and up, once."""
    root = logging.getLogger("edge")
    if not any(isinstance(h, _StderrLines) for h in root.handlers):
        root.addHandler(_StderrLines())
        root.setLevel(logging.INFO)
        root.propagate = False


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].main(args) or 0)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"edgetrack {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
