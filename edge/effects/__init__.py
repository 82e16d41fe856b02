"""Face effects chosen by `--effect NAME[:ARGS]`; each is a small module with one `apply(frame, faces)`.

`make_effect("caricature:1.8")` imports only the module it needs, so an effect's
dependencies (a donor image, a mask PNG) cost nothing unless that effect is used.
Effects are chained by the runtime: each gets the previous one's output frame.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from edge.faces import TrackedFace
from edge.registry import Registry

# name -> (module's `create(args: str) -> Effect`, one-line help)
EFFECTS = Registry(
    "effect",
    {
        "landmarks": ("edge.effects.landmarks:create", "draw the 68 points (landmarks[:RADIUS])"),
        "caricature": (
            "edge.effects.caricature:create",
            "exaggerate the face's shape away from the mean (caricature[:FACTOR], default 2.5, 1 = off)",
        ),
        "deform": (
            "edge.effects.deform:create",
            "smile, frown, wide_eyes, long_chin, big_nose, small_mouth, slim, pN offsets: deform:smile=1.5,p3=2",
        ),
        "swap": (
            "edge.effects.swap:create",
            "a donor's face on every tracked face (swap:IMAGE[,every=N][,budget_ms=15]; IMAGE.pts = its points)",
        ),
        "mask": ("edge.effects.mask:create", "a PNG with alpha anchored to the face (mask:glasses|moustache|hat|PATH.png)"),
        "signals": ("edge.effects.signals:create", "overlay the expression signals (blink, smile, ...)"),
        "emotion": ("edge.effects.emotion:create", "each face's emotion label and a bar per label (emotion[:bars=0])"),
        "express": (
            "edge.effects.express:create",
            "move the face along learned emotion directions (express:happiness=0.8,surprise=0.3; negative = opposite)",
        ),
    },
    example="e.g. --effect caricature:1.8",
)


class Effect(Protocol):
    name: str

    def apply(self, frame: np.ndarray, faces: list[TrackedFace]) -> np.ndarray:
        """The frame with the effect drawn on every face (may modify `frame` in place)."""
        ...


def split_spec(spec: str) -> tuple[str, str]:
    """'NAME[:ARGS]' -> (name, args); only the first ':' splits, so paths keep theirs."""
    name, _, args = spec.strip().partition(":")
    return name.strip().lower(), args.strip()


def parse_args(args: str) -> tuple[list[str], dict[str, str]]:
    """'a,b,k=v' -> (['a', 'b'], {'k': 'v'}): the small argument language every effect shares."""
    positional: list[str] = []
    keywords: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in args.split(","))):
        key, eq, value = item.partition("=")
        if eq:
            keywords[key.strip().lower()] = value.strip()
        else:
            positional.append(item)
    return positional, keywords


def parse_float(value: str, what: str, effect: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"effect {effect!r}: {what} must be a number, got {value!r}") from None


def make_effect(spec: str) -> Effect:
    """Build an effect from 'NAME[:ARGS]' (e.g. 'caricature:2', 'swap:donor.jpg', 'mask:glasses')."""
    name, args = split_spec(spec)
    return EFFECTS.make(name, args)


def make_effects(specs: list[str] | None) -> list[Effect]:
    """One effect per `--effect`, in the order given (they are applied in that order)."""
    return [make_effect(s) for s in (specs or [])]


def apply_all(effects: list[Effect], frame: np.ndarray, faces: list[TrackedFace]) -> np.ndarray:
    """Chain effects: each gets the previous one's output."""
    for effect in effects:
        frame = effect.apply(frame, faces)
    return frame
