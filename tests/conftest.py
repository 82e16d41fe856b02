from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge.paths import data_root


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that takes an annotated folder (the ytf68 / w300 fixtures) is a `data` test, marked here once rather
    than by hand in every module."""
    for item in items:
        if {"ytf68", "w300"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.data)


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


@pytest.fixture(autouse=True)
def no_system_config(monkeypatch):
    """Keep /etc/edgetrack/config.toml out of every test: a machine's own settings (a device's kiosk config) must not
    change what a test runs. Autouse, so no test module can forget it; naming it as well does no harm."""
    monkeypatch.setenv("EDGETRACK_NO_SYSTEM_CONFIG", "1")


@pytest.fixture(scope="session")
def rolling():
    """The synthetic face rolling its head to +-45 degrees with fast turns (frames can be drawn in any order)."""
    from edge.synth import SyntheticFace

    return SyntheticFace(640, 480, seed=0, scenario="roll")


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
