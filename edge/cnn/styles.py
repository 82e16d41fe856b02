"""Annotation styles: which of the CNN's output heads holds which annotators' points.

`ytf68` and `300w-train` were marked by different people, about 1 px apart in a consistent
way (the chin, the nose tip, the lip line). A network trained on both with one output
learns the average of the two styles and is off for each; with one head per style it is
right for each. The runtime ships the 300-W style (the published benchmarks' markup) and
the evaluation scores each data folder in its own annotators' style.
"""

from __future__ import annotations

from pathlib import Path

STYLES = ("300w", "ytf68")  # head order in a multi-head model's output
DEFAULT_STYLE = "300w"


def style_index(style: str, heads: int) -> int:
    """Head index of `style` in a model with `heads` outputs (a one-head model has one style for all)."""
    if style not in STYLES:
        raise ValueError(f"unknown landmark style {style!r}; choose one of: {', '.join(STYLES)}")
    return 0 if heads == 1 else STYLES.index(style)


def head_layout(n_heads: int) -> tuple[int, bool]:
    """(style heads, whether mirror heads follow them) of a dense model with `n_heads` 136-number outputs.

    1: one head for every style; len(STYLES): one per style; 2 * len(STYLES): one per style, then
    one per style for mirrored crops (the annotations are not mirror-symmetric, so a mirrored
    face's points in its annotators' style are not the mirror of the straight face's).
    """
    if n_heads == 2 * len(STYLES):
        return len(STYLES), True
    if n_heads in (1, len(STYLES)):
        return n_heads, False
    raise ValueError(f"a landmark model with {n_heads} outputs of 136 is not 1, {len(STYLES)} or {2 * len(STYLES)}; re-export it")


def style_of_folder(folder: str | Path) -> str | None:
    """The annotation style of a data folder by its name (`300w-train` -> 300w, `ytf68` -> ytf68), None if unknown."""
    name = Path(folder).name.lower()
    for style in STYLES:
        if name.startswith(style):
            return style
    return None
