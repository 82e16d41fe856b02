from __future__ import annotations

from pathlib import Path

import pytest

from edge.paths import data_root


def _data(name: str) -> Path:
    d = data_root() / name
    if not (d / "landmarks.csv").is_file():
        pytest.skip(f"annotated data {d} is absent (set EDGETRACK_DATA or place ../shared/data beside the checkout)")
    return d


@pytest.fixture(scope="session")
def ytf68() -> Path:
    return _data("ytf68")


@pytest.fixture(scope="session")
def w300() -> Path:
    return _data("300w-train")
