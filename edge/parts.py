"""The common options every detector and landmarker factory is offered, and the one way a part is made from them.

Which part takes which option (a thread count, a model file, a TFLite delegate, the CNN's annotation
style, the smallest face) is written once, in the part's registry entry
(`edge.detect.base.DETECTORS`, `edge.landmarks.base.LANDMARKERS`: option -> the factory's keyword).
`make_part` hands a part the options it takes. An option that concerns the whole run (threads, the
smallest face) is left out for the parts that do not take it; one the user asked of this part (a
model, a delegate, a style other than the default) and that it does not take is a one-line error
naming the parts that do: a named option is never dropped quietly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from edge.cnn.styles import DEFAULT_STYLE
from edge.registry import Registry

FLAGS = {"threads": "--threads", "model": "--model", "delegate": "--delegate", "style": "--landmark-style",
         "min_face": "--detector-min-face"}  # fmt: skip
WHOLE_RUN = {"threads", "min_face"}  # settings for the whole run: given to the parts that take them, no error for others


@dataclass(frozen=True)
class PartOptions:
    """One set of options for any detector or landmarker; an option at its default here was not asked for."""

    threads: int | None = None
    model: str = ""
    delegate: str = ""
    style: str = DEFAULT_STYLE
    min_face: int | None = None

    def asked(self) -> dict[str, Any]:
        """The options set away from their defaults, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}


def takers(registry: Registry, option: str) -> list[str]:
    """The names in `registry` whose factory takes `option`."""
    return [n for n in registry.names() if option in registry.takes(n)]


def check_part(registry: Registry, name: str, options: PartOptions) -> dict[str, Any]:
    """The factory's keywords for `options`; a ValueError (one line) for an option asked of a part that does not take it."""
    takes = registry.takes(name)
    kwargs: dict[str, Any] = {}
    for option, value in options.asked().items():
        if option in takes:
            kwargs[takes[option]] = value
        elif option not in WHOLE_RUN:
            who = takers(registry, option)
            use = f"drop it or use {who[0]}" if who else "drop it"
            raise ValueError(f"{FLAGS[option]} {value} is an option of the {registry.kind}s {', '.join(who)} and not of {name}; {use}")
    return kwargs


def make_part(registry: Registry, name: str, options: PartOptions | None = None, **extra: Any) -> Any:
    """The part `name` of `registry`, made with the options it takes (see `check_part`) and any `extra` keywords."""
    return registry.make(name, **check_part(registry, name, options or PartOptions()), **extra)
