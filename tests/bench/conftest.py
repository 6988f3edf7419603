"""A real store on disk, the shipped master data and config, and a settable clock."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.base import Reading
from station.bench.workflow import Workflow
from station.config import load_config
from station.settings import Config
from station.store import Store
from tests.helpers.clocks import SettableClock
from tests.helpers.stores import open_store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clock() -> SettableClock:
    """10:00 UTC until the test moves it (the core never reads the real clock)."""
    return SettableClock(datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC))


@pytest.fixture
def config(tmp_path: Path) -> Config:
    cfg = load_config(ROOT / "config" / "station.toml")
    station = dataclasses.replace(cfg.station, data_dir=tmp_path / "data")
    return dataclasses.replace(cfg, station=station)


@pytest.fixture
def store(config: Config, clock: SettableClock) -> Iterator[Store]:
    s = open_store(config, clock)
    yield s
    s.close()


@pytest.fixture
def wf(store: Store, config: Config, clock: SettableClock) -> Workflow:
    return Workflow(store, config, clock)


@pytest.fixture
def rd(clock: SettableClock) -> Callable[[float, str | None, str], Reading]:
    """Build a Reading stamped with the test clock, one second after the previous one (as
    pressed by a person: outside every debounce window)."""
    presses = itertools.count(1)

    def make(value: float, unit: str | None, raw: str) -> Reading:
        return Reading(
            value=value, unit=unit, raw=raw, monotonic=float(next(presses)), wall=clock()
        )

    return make


@pytest.fixture
def store_factory(config: Config, clock: SettableClock) -> Iterator[Callable[..., Store]]:
    """Open (more) stores on the test's database; all closed at the end."""
    opened: list[Store] = []

    def make(budget_mb: float | None = None) -> Store:
        s = open_store(config, clock, budget_mb)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()
