from __future__ import annotations

import logging
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


@pytest.fixture
def no_system_config(monkeypatch):
    """Keep /etc/edgetrack/config.toml out of a test: a machine's own settings must not change what a test runs."""
    monkeypatch.setenv("EDGETRACK_NO_SYSTEM_CONFIG", "1")


@pytest.fixture
def edge_log():
    """Messages logged under the `edge` logger (INFO and up) during the test, as the command line would print them.

    A handler on `edge` itself, so it works after `edgetrack` main() has stopped `edge` propagating to the root.
    """
    lines: list[str] = []

    class _Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger, handler = logging.getLogger("edge"), _Lines()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)
