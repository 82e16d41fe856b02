"""One lazy registry: every part chosen by name (detector, landmarker, effect, source, display,
command, train target) is a table of name -> "module:factory" strings.

Nothing is imported until a name is used, and then only that name's module: asking for the
`mean` landmarker never imports the CNN (TFLite), `train shape` never imports PyTorch, and a
device install can list every name without the packages behind them. A target without
":factory" is the module itself (commands and train targets are modules with
`add_arguments` and `main`).

An entry may carry a one-line help: ("module:factory", "help"). For the spec kinds (sources,
displays: "scheme[:rest]") the help line is the scheme's form and says whether it takes a rest:
"sdl" never, "file:PATH" always, "http[:PORT]" optionally.

A part made from the common run options (detectors, landmarkers: `edge.parts.PartOptions`) says which
of them it takes in its entry: ("module:factory", "help", {"threads": "num_threads", ...}), option ->
the factory's keyword. `edge.parts.make_part` hands over those and refuses one asked of a part
that does not take it, so no caller keeps its own list of which part takes what.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from types import ModuleType
from typing import Any

Importer = Callable[[str, str], ModuleType]


def _import(module_name: str, what: str) -> ModuleType:
    return importlib.import_module(module_name)


class Registry:
    """Names in table order -> lazily imported factories; an unknown name is one line naming the choices."""

    def __init__(
        self,
        kind: str,
        entries: Mapping[str, str | tuple[str, str] | tuple[str, str, Mapping[str, str]]],
        *,
        example: str = "",
        importer: Importer = _import,
    ) -> None:
        self.kind = kind
        self.example = example  # appended to the unknown-name error, e.g. "e.g. --effect caricature:1.8"
        self._importer = importer  # (module name, "kind name") -> module; train targets name the missing extra
        self._targets: dict[str, str] = {}
        self._help: dict[str, str] = {}
        self._takes: dict[str, dict[str, str]] = {}
        for name, entry in entries.items():
            target, help_text, takes = (entry, "", {}) if isinstance(entry, str) else (*entry, {})[:3]
            self._targets[name] = target
            self._help[name] = help_text
            self._takes[name] = dict(takes)

    def names(self) -> list[str]:
        return list(self._targets)

    def __contains__(self, name: object) -> bool:
        return name in self._targets

    def __iter__(self) -> Iterator[str]:
        return iter(self._targets)

    def help(self, name: str) -> str:
        """The entry's one-line help ('' when the table has none)."""
        self._check(name)
        return self._help[name]

    def takes(self, name: str) -> dict[str, str]:
        """The common options the entry's factory takes: option name -> the factory's keyword ({} when none)."""
        self._check(name)
        return dict(self._takes[name])

    def target(self, name: str) -> str:
        """'module:factory' (or 'module') for `name`, without importing anything."""
        self._check(name)
        return self._targets[name]

    def unknown(self, name: str) -> ValueError:
        tail = f" ({self.example})" if self.example else ""
        return ValueError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self._targets)}{tail}")

    def load(self, name: str) -> Any:
        """The factory for `name` (the module itself for a 'module' target), importing its module now."""
        module_name, _, attr = self.target(name).partition(":")
        module = self._importer(module_name, f"{self.kind} {name}")
        return getattr(module, attr) if attr else module

    def make(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.load(name)(*args, **kwargs)

    # --- spec kinds: "scheme[:rest]" ---

    def split(self, spec: str) -> tuple[str, str | None] | None:
        """'scheme[:rest]' -> (scheme, rest or None when there is no ':'), or None when no entry has that form."""
        name, colon, rest = spec.partition(":")
        if name not in self._targets:
            return None
        after = self._help[name][len(name) :]  # "", ":X" (rest needed) or "[:X]" (rest optional)
        if colon and after.startswith((":", "[:")):
            return name, rest
        if not colon and not after.startswith(":"):
            return name, None
        return None

    def forms(self) -> str:
        """'a, b[:X] or c:Y': the forms of a spec kind, for its 'not understood' line."""
        forms = [self._help[n] or n for n in self._targets]
        return forms[0] if len(forms) == 1 else f"{', '.join(forms[:-1])} or {forms[-1]}"

    def _check(self, name: str) -> None:
        if name not in self._targets:
            raise self.unknown(name)
