"""Checks on what a run will write, made before anything is opened: a run never writes over what it reads.

The outputs are `--landmarks-out FILE` and `--display file:PATH`. Each must be a file name (not a
folder) in an existing folder, and none may be one of the inputs: the source video (`file:PATH` or a
plain path), an image of an `images:DIR` source, the --config file or the --model file. The output
video must not exist yet (a run never overwrites an earlier video); the landmarks file may exist and
is appended to, but only when it is a landmarks file already (JSON lines), so a mistyped name never
appends text to a photo or a model. Each refusal is one line naming the problem and the fix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from edge.config import RunConfig
from edge.sources.images import IMAGE_SUFFIXES


def same_file(a: str | Path, b: str | Path) -> bool:
    """The same file: os.path.samefile when both exist (catches hard links), else equal resolved paths."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return Path(a).resolve() == Path(b).resolve()


def _source_inputs(spec: str, source: Any = None) -> tuple[list[tuple[str, Path]], list[Path]]:
    """(files, image folders) the source reads: from the source object when one is given, else from its spec."""
    if source is not None:
        path, folder = getattr(source, "path", None), getattr(source, "folder", None)
        files = [("source video", Path(path))] if path is not None else []
        return files, ([Path(folder)] if folder is not None else [])
    spec = (spec or "").strip()
    if spec.startswith("file:"):
        return [("source video", Path(spec[5:]))], []
    if spec.startswith("images:"):
        return [], [Path(spec[7:])]
    if spec.startswith("/dev/video"):
        return [("source camera", Path(spec))], []
    if spec and ":" not in spec and spec not in ("auto", "synthetic"):
        p = Path(spec)
        if p.is_file():
            return [("source video", p)], []
        if p.is_dir():
            return [], [p]
    return [], []


def _display_path(spec: str, display: Any = None) -> str | None:
    if display is not None:
        from edge.displays.video import VideoFileDisplay

        return str(display.path) if isinstance(display, VideoFileDisplay) else None
    spec = (spec or "").strip()
    return spec[5:] if spec.startswith("file:") else None


def _named(kind: str, p: Path | str) -> str:
    return f"--display file:{p}" if kind == "video" else f"--landmarks-out {p}"


def _check_path(kind: str, path: str) -> Path:
    if not path.strip():
        raise ValueError("--display file: needs a file name; give --display file:PATH, e.g. file:out.mp4")
    p = Path(path)
    example = "out.mp4" if kind == "video" else "landmarks.jsonl"
    if p.is_dir():
        raise ValueError(f"{_named(kind, p)} is a folder; give a file name, e.g. {_named(kind, p / example)}")
    if not p.parent.is_dir():
        flag = "--display file:" if kind == "video" else "--landmarks-out"
        raise FileNotFoundError(f"folder {p.parent} for {flag} does not exist; create it first")
    return p


def _looks_like_landmarks(path: Path) -> bool:
    """An empty file, or one whose first byte opens a JSON object (what LandmarksWriter writes)."""
    try:
        with path.open("rb") as f:
            first = f.read(1)
    except OSError:
        return True  # unreadable here: opening it for append will say why
    return first in (b"", b"{")


def check_outputs(cfg: RunConfig, source: Any = None, display: Any = None) -> None:
    """Raise one line (ValueError / FileNotFoundError) when an output would destroy an input or cannot be written."""
    try:
        _check_outputs(cfg, source, display)
    except FileNotFoundError:
        raise
    except OSError as exc:  # e.g. a folder on the way that this user may not look into
        raise ValueError(f"cannot use {exc.filename} as an output ({exc.strerror}); give another file name") from None


def _check_outputs(cfg: RunConfig, source: Any, display: Any) -> None:
    files, folders = _source_inputs(cfg.source, source)
    for path, what in ((cfg.config_path, "--config file"), (cfg.model, "--model file")):
        if path:
            files.append((what, Path(path)))

    outputs: list[tuple[str, Path]] = []
    video = _display_path(cfg.display, display)
    if video is not None:
        outputs.append(("video", _check_path("video", video)))
    if cfg.landmarks_out:
        outputs.append(("landmarks", _check_path("landmarks", cfg.landmarks_out)))

    for kind, p in outputs:
        named = [p]
        if kind == "landmarks" and cfg.landmarks_out_max_mb:
            keep = int(cfg.landmarks_out_keep)
            named += [p.with_name(f"{p.name}.{i}") for i in range(1, keep + 1)]  # the names rotation will use
        for name in named:
            also = "" if name == p else f" (its rotated name {name.name})"
            for what, inp in files:
                if same_file(name, inp):
                    raise ValueError(
                        f"{_named(kind, p)}{also} is the {what} {inp}; write to a new file name (a run never writes over its input)"
                    )
            for folder in folders:
                if name.suffix.lower() in IMAGE_SUFFIXES and same_file(name.parent, folder):
                    raise ValueError(
                        f"{_named(kind, p)}{also} would be an image of the source images:{folder}; write it outside that folder"
                    )
    if len(outputs) == 2 and same_file(outputs[0][1], outputs[1][1]):
        raise ValueError(f"--display file: and --landmarks-out both name {outputs[0][1]}; give them different file names")
    for kind, p in outputs:
        if kind == "video" and (p.exists() or p.is_symlink()):
            raise ValueError(
                f"output video {p} already exists; remove it or give a new --display file:PATH (a run never overwrites a video)"
            )
        if kind == "landmarks" and p.is_file() and not _looks_like_landmarks(p):
            raise ValueError(
                f"--landmarks-out {p} exists and is not a landmarks file (JSON lines); give a new file name "
                "(a run only appends to an earlier landmarks file)"
            )
