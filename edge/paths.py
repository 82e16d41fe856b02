"""Where the shipped models and the (optional) annotated data live."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def models_dir() -> Path:
    """$EDGETRACK_MODELS, the checkout's models/, or the copy `pip install .` put under share/."""
    env = os.environ.get("EDGETRACK_MODELS")
    if env:
        return Path(env)
    for candidate in (REPO_ROOT / "models", Path(sys.prefix) / "share" / "edgetrack" / "models"):
        if (candidate / "shape_model.npz").is_file():  # a folder that merely exists is not the models
            return candidate
    return REPO_ROOT / "models"


def model_path(name: str) -> Path:
    return models_dir() / name


def data_root() -> Path:
    """$EDGETRACK_DATA or ../shared/data beside the checkout (never inside the repository)."""
    env = os.environ.get("EDGETRACK_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def require_file(path: Path, what: str, fix: str) -> Path:
    """A missing model is a one-line error naming the file and how to get it, not a traceback."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{what} not found at {path}; {fix}")
    return Path(path)
