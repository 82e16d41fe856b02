"""`--landmarker auto` and `--detector auto`: the best part whose model files are present
(landmarkers: cnn, else clm, else mean; detectors: cnn, else haar).

Only `auto` may fall back, and it says why in full. Whatever the user named — a landmarker,
a `--model` file, a `--delegate` — is used as named or stops the run with one line: a
tracker quietly running the mean shape (NME ~21%) with exit 0 is worse than no tracker.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from edge.cnn.styles import DEFAULT_STYLE
from edge.detect import Detector, make_detector
from edge.landmarks import Landmarker
from edge.landmarks.base import LANDMARKERS
from edge.parts import PartOptions, make_part

T = TypeVar("T")
DETECTOR_ORDER = ("cnn", "haar")  # ours finds more faces and fewer false ones (models/cards/detector.md)
AUTO_ORDER = ("cnn", "clm", "mean")  # the best first; every "best landmarker available" (the run, a swap donor) is this
# which landmarker a --model file is for, by its type (auto + --model picks by the file)
MODEL_KIND = {".tflite": "cnn", ".npz": "clm"}


def _make(name: str, threads: int, delegate: str, model: str, style: str = DEFAULT_STYLE) -> Landmarker:
    """The landmarker with the run options it takes (its LANDMARKERS entry says which); one asked of it that it
    does not take (a style, a delegate, a model) stops with one line."""
    return make_part(LANDMARKERS, name, PartOptions(threads=threads, model=model, delegate=delegate, style=style))


def _model_kind(model: str) -> str:
    kind = MODEL_KIND.get(Path(model).suffix.lower())
    if kind is None:
        raise ValueError(f"--model {model}: not a landmark model (.tflite for cnn, clm_patches.npz for clm); check the path")
    return kind


def pick_landmarker(
    name: str = "auto", threads: int = 1, delegate: str = "", model: str = "", style: str = DEFAULT_STYLE
) -> tuple[Landmarker, str]:
    """The landmarker and a line saying which one and why; `style` picks the CNN's annotation-style head."""
    if name != "auto":
        return _make(name, threads, delegate, model, style), f"landmarker: {name}" + (f" ({model})" if model else "")
    if model:  # the user named the file: the landmarker that takes it, or a one-line error
        kind = "cnn" if delegate else _model_kind(model)
        return _make(kind, threads, delegate, model, style), f"landmarker: auto -> {kind} (for --model {model})"
    if delegate:
        return _make("cnn", threads, delegate, "", style), f"landmarker: auto -> cnn (for --delegate {delegate})"

    def make(cand: str) -> Landmarker:
        return _make(cand, threads, "", "", style if "style" in LANDMARKERS.takes(cand) else DEFAULT_STYLE)

    cand, lm, why = _first_made("landmarker", AUTO_ORDER, make)
    if style != DEFAULT_STYLE and "style" not in LANDMARKERS.takes(cand):
        why.append(f"--landmark-style {style} does not apply to {cand}")
    return lm, _auto_line("landmarker", cand, why)


def pick_detector(name: str = "auto", min_face: int | None = None, threads: int | None = None) -> tuple[Detector, str]:
    """The detector and a line saying which one and why: `auto` is ours where its model files are present, else Haar."""
    if name != "auto":
        return make_detector(name, min_face, threads), f"detector: {name}"
    cand, det, why = _first_made("detector", DETECTOR_ORDER, lambda c: make_detector(c, min_face, threads))
    return det, _auto_line("detector", cand, why)


def _first_made(kind: str, order: tuple[str, ...], make: Callable[[str], T]) -> tuple[str, T, list[str]]:
    """(name, part, why the ones before it could not be made): the first of `order` that `make` can make; none is one
    RuntimeError naming every reason. A missing model file's message is kept as it is, the others on one line."""
    why: list[str] = []
    for cand in order:
        try:
            return cand, make(cand), why
        except FileNotFoundError as exc:
            why.append(f"{cand}: {exc}")
        except (ImportError, ValueError, RuntimeError) as exc:
            why.append(f"{cand}: {' '.join(str(exc).split())}")
    raise RuntimeError(f"no {kind} could be made: " + "; ".join(why))


def _auto_line(kind: str, cand: str, why: list[str]) -> str:
    return f"{kind}: auto -> {cand}" + (f" ({'; '.join(why)})" if why else "")
