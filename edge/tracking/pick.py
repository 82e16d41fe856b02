"""`--landmarker auto` and `--detector auto`: the best part whose model files are present
(landmarkers: cnn, else clm, else mean; detectors: cnn, else haar).

Only `auto` may fall back, and it says why in full. Whatever the user named — a landmarker,
a `--model` file, a `--delegate` — is used as named or stops the run with one line: a
tracker quietly running the mean shape (NME ~21%) with exit 0 is worse than no tracker.
"""

from __future__ import annotations

from pathlib import Path

from edge.cnn.styles import DEFAULT_STYLE
from edge.detect import Detector, make_detector
from edge.landmarks import Landmarker
from edge.landmarks.base import LANDMARKERS
from edge.parts import PartOptions, make_part

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
    why = []
    for cand in AUTO_ORDER:
        try:
            styled = "style" in LANDMARKERS.takes(cand)
            lm = _make(cand, threads, "", "", style if styled else DEFAULT_STYLE)
        except FileNotFoundError as exc:
            why.append(f"{cand}: {exc}")
            continue
        except (ImportError, ValueError, RuntimeError) as exc:
            why.append(f"{cand}: {' '.join(str(exc).split())}")
            continue
        if style != DEFAULT_STYLE and not styled:
            why.append(f"--landmark-style {style} does not apply to {cand}")
        skipped = f" ({'; '.join(why)})" if why else ""
        return lm, f"landmarker: auto -> {cand}{skipped}"
    raise RuntimeError("no landmarker could be made: " + "; ".join(why))


def pick_detector(name: str = "auto", min_face: int | None = None, threads: int | None = None) -> tuple[Detector, str]:
    """The detector and a line saying which one and why: `auto` is ours where its model files are present, else Haar."""
    if name != "auto":
        return make_detector(name, min_face, threads), f"detector: {name}"
    why = []
    for cand in DETECTOR_ORDER:
        try:
            det = make_detector(cand, min_face, threads)
        except (FileNotFoundError, ImportError, ValueError, RuntimeError) as exc:
            why.append(f"{cand}: {' '.join(str(exc).split())}")
            continue
        return det, f"detector: auto -> {cand}" + (f" ({'; '.join(why)})" if why else "")
    raise RuntimeError("no detector could be made: " + "; ".join(why))
