"""Runtime options: one table feeds the TOML file, the command-line flags and the validation.

Precedence: built-in default < /etc/edgetrack/config.toml (or --config FILE) < flags.
A TOML table flattens into its keys with the table name as prefix, so
`[smooth] min_cutoff = 1.0` and `smooth_min_cutoff = 1.0` are the same option
(and `[smooth] enabled = true` is `smooth = true`).
A bad value is one line naming the key, the value and what is allowed.
`resolve` hands back a `RunConfig`: frozen, one typed field per Option (made from the table,
so the table stays the one list), read as `cfg.max_faces`; change one with dataclasses.replace.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, make_dataclass
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path("/etc/edgetrack/config.toml")


@dataclass(frozen=True)
class Option:
    key: str
    kind: type  # int, float, str, bool, list
    default: Any
    help: str
    check: Callable[[Any], bool] | None = None
    rule: str = ""  # words for the check, used in the error
    choices: tuple[Any, ...] | None = None
    was_bool: tuple[str, str] | None = None  # a str option that was a bool: (value for false, value for true)


def _pos(x: float) -> bool:
    return x > 0


def _nonneg(x: float) -> bool:
    return x >= 0


def _port(x: int) -> bool:
    return 0 <= x <= 65535


OPTIONS: tuple[Option, ...] = (
    Option("source", str, "auto", "auto | picamera2[:N] | v4l2:N | /dev/videoN | file:PATH | images:DIR | synthetic[:SCENARIO]"),
    Option("display", str, "auto", "auto | fb[:/dev/fbN] | sdl | http[:PORT] | file:PATH | none"),
    Option("landmarker", str, "auto", "auto (best with its model present: cnn, clm, mean) | mean | clm | cnn | cnn+clm"),
    Option("model", str, "", "model file for the landmarker (default: the shipped one)"),
    Option("landmark_style", str, "300w", "annotators' style of the CNN's points: 300w (the 300-W benchmark markup) | ytf68",
           choices=("300w", "ytf68")),
    Option("delegate", str, "", "TFLite delegate for the CNN (e.g. xnnpack); empty = the default"),
    Option("detector", str, "auto", "face detector: auto (cnn where its model is present, else haar; says which) | cnn (ours, "
           "learned: rolled, small and turned faces) | haar (OpenCV's cascade, upright faces)"),
    Option("detector_min_face", int, 24, "smallest face the detector looks for, in frame pixels (smaller: more search scales)",
           _pos, "an integer >= 1"),
    Option("max_faces", int, 1, "faces tracked at once", _pos, "an integer >= 1"),
    Option("threads", int, 1, "OpenCV / numba / TFLite threads", _pos, "an integer >= 1"),
    Option("frames", int, 0, "stop after N frames (0 = until the source ends or SIGTERM)", _nonneg, "an integer >= 0"),
    Option("width", int, 640, "camera / synthetic frame width", _pos, "an integer >= 1"),
    Option("height", int, 480, "camera / synthetic frame height", _pos, "an integer >= 1"),
    Option("camera_fps", int, 30, "frame rate asked of the camera", _pos, "an integer >= 1"),
    Option("loop", bool, False, "start a file / image folder again at its end"),
    Option("realtime", bool, False, "pace files and the synthetic face at their frame rate and drop late frames"),
    Option("landmarks_out", str, "", "append one JSON line per frame to this file"),
    Option("landmarks_out_max_mb", float, 64.0, "rotate the landmarks file at this size: FILE -> FILE.1 ... (0 = never)",
           _nonneg, "a number >= 0"),
    Option("landmarks_out_keep", int, 3, "rotated landmarks files kept (FILE.1 .. FILE.N, the oldest dropped)", _pos, "an integer >= 1"),
    Option("effect", list, [], "effect NAME[:ARGS]; repeat to chain in order"),
    Option("overlay", str, "points", "none | points (landmarks and face box) | debug (also id, score, fps, model, delegate)",
           choices=("none", "points", "debug"), was_bool=("none", "points")),
    Option("mirror", bool, False, "flip the picture left-right, as a mirror shows it (landmarks follow the picture)"),
    Option("rotate", int, 0, "turn the camera picture clockwise by 0, 90, 180 or 270 degrees (portrait screen, sideways camera)",
           choices=(0, 90, 180, 270)),
    Option("smooth", bool, True, "1-euro smoothing of the landmarks"),
    Option("smooth_min_cutoff", float, 0.5, "1-euro minimum cutoff (Hz) for the face shape", _pos, "a number > 0"),
    Option("smooth_beta", float, 4.0, "1-euro speed coefficient (per face-width/s)", _nonneg, "a number >= 0"),
    Option("smooth_pose_min_cutoff", float, 1.0, "1-euro minimum cutoff (Hz) for face position/size/roll", _pos, "a number > 0"),
    Option("smooth_pose_beta", float, 8.0, "1-euro speed coefficient for the pose", _nonneg, "a number >= 0"),
    Option("smooth_flow", bool, True, "fuse Lucas-Kanade optical flow between frames (measured: a third less jitter, no added lag)"),
    Option("redetect_score", float, 0.3, "re-detect a face whose landmark score falls below this", _nonneg, "a number >= 0"),
    Option("verify_every", int, 15, "check each tracked face with the detector every N frames (0 = never)", _nonneg, "an integer >= 0"),
    Option("detect_every", int, 15, "look for new faces every N frames while fewer than --max-faces are tracked", _pos, "an integer >= 1"),
    Option("http_host", str, "127.0.0.1", "http display address (127.0.0.1 = this machine only)"),
    Option("http_port", int, 8080, "http display port", _port, "a port number 0-65535"),
    Option("faces_feed", bool, False, "serve GET /faces (each frame's --landmarks-out record as a Server-Sent Event) at "
           "http_host:http_port when the display is not http (the http display always serves it)"),
    Option("fb_device", str, "/dev/fb0", "framebuffer device for the fb display"),
    Option("status_every", float, 5.0, "seconds between status lines and sd_notify STATUS", _pos, "a number > 0"),
)
BY_KEY = {o.key: o for o in OPTIONS}


def flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def add_arguments(p: argparse.ArgumentParser, keys: list[str] | None = None, defaults: dict[str, Any] | None = None) -> None:
    """Flags for `keys` (all options by default); unset flags stay None so the config file can fill them."""
    p.add_argument("--config", type=Path, default=None, help=f"TOML file (default {DEFAULT_CONFIG} when present)")
    for opt in OPTIONS:
        if keys is not None and opt.key not in keys:
            continue
        default = (defaults or {}).get(opt.key, opt.default)
        h = f"{opt.help} (default {default!r})"
        if opt.kind is bool:
            p.add_argument(flag(opt.key), action=argparse.BooleanOptionalAction, default=None, help=h)
        elif opt.was_bool:  # `--overlay` alone and `--no-overlay` keep working
            p.add_argument(flag(opt.key), nargs="?", const=opt.was_bool[1], default=None, metavar=opt.key.split("_")[-1].upper(), help=h)
            off = opt.was_bool[0]
            no_flag = "--no-" + opt.key.replace("_", "-")
            p.add_argument(no_flag, dest=opt.key, action="store_const", const=off, help=f"same as {flag(opt.key)} {off}")
        elif opt.kind is list:
            p.add_argument(flag(opt.key), action="append", default=None, metavar="SPEC", help=h)
        else:
            p.add_argument(flag(opt.key), type=str, default=None, metavar=opt.key.split("_")[-1].upper(), help=h)


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = (prefix[:-1] if k == "enabled" and prefix else f"{prefix}{k}").replace("-", "_")
        if isinstance(v, dict):
            out.update(_flatten(v, key + "_"))
        else:
            out[key] = v
    return out


def coerce(key: str, value: Any, where: str) -> Any:
    """Check one value against its option; raise a one-line ValueError naming the key."""
    opt = BY_KEY.get(key)
    if opt is None:
        raise ValueError(f"{where}: unknown key {key!r}; known keys: {', '.join(sorted(BY_KEY))}")
    bad = f"{where}: key {key!r} "
    kind = opt.kind
    if opt.was_bool is not None:  # old files and flags: overlay = true / false
        word = value.strip().lower() if isinstance(value, str) else value
        if isinstance(value, bool) or word in ("true", "false", "yes", "no", "on", "off"):
            value = opt.was_bool[int(value if isinstance(value, bool) else word in ("true", "yes", "on"))]
    try:
        if kind is bool:
            if isinstance(value, str):
                low = value.strip().lower()
                if low not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError
                value = low in ("true", "1", "yes", "on")
            elif not isinstance(value, bool):
                raise ValueError
        elif kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            value = int(value)
        elif kind is float:
            if isinstance(value, bool):
                raise ValueError
            value = float(value)
        elif kind is list:
            value = [value] if isinstance(value, str) else list(value)
            if not all(isinstance(v, str) for v in value):
                raise ValueError
        else:
            if not isinstance(value, str):
                raise ValueError
    except (TypeError, ValueError):
        want = {bool: "true or false", int: "an integer", float: "a number", list: "a list of strings", str: "a string"}[kind]
        raise ValueError(f"{bad}must be {opt.rule or want}, got {value!r}") from None
    if opt.check is not None and not opt.check(value):
        raise ValueError(f"{bad}must be {opt.rule}, got {value!r}")
    if opt.choices is not None and value not in opt.choices:
        raise ValueError(f"{bad}must be one of {', '.join(map(str, opt.choices))}, got {value!r}")
    return value


def load_file(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} not found; pass an existing --config FILE or drop the flag")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"config {path}: not valid TOML ({exc}); fix the line it names") from None
    return {k: coerce(k, v, f"config {path}") for k, v in _flatten(raw).items()}


def _field(opt: Option) -> tuple[str, Any, Any]:
    """(name, type, default) of the RunConfig field for an option; a list option is a tuple there (frozen all through)."""
    if opt.kind is list:
        return opt.key, tuple[str, ...], field(default=tuple(opt.default))
    return opt.key, opt.kind, field(default=opt.default)


RunConfig = make_dataclass(
    "RunConfig",
    [_field(o) for o in OPTIONS] + [("config_path", str, field(default=""))],  # the TOML file read ("" = none)
    frozen=True,
)
RunConfig.__module__ = __name__
RunConfig.__doc__ = "What `edgetrack run` and `bench` run with: one field per Option in OPTIONS, plus config_path."


def resolve(args: argparse.Namespace, defaults: dict[str, Any] | None = None) -> RunConfig:
    """Defaults, then the config file, then the flags that were given."""
    cfg = {o.key: (defaults or {}).get(o.key, o.default) for o in OPTIONS}
    path = getattr(args, "config", None)
    if path is None and DEFAULT_CONFIG.is_file() and not os.environ.get("EDGETRACK_NO_SYSTEM_CONFIG"):
        path = DEFAULT_CONFIG
    if path is not None:
        cfg.update(load_file(path))
    for opt in OPTIONS:
        value = getattr(args, opt.key, None)
        if value is not None:
            cfg[opt.key] = coerce(opt.key, value, f"option {flag(opt.key)}")
    cfg = {k: tuple(v) if BY_KEY[k].kind is list else v for k, v in cfg.items()}
    return RunConfig(**cfg, config_path=str(path) if path else "")
