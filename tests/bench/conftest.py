"""A real store on disk, the shipped master data and config, and a settable clock."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.base import Reading
from station.bench.workflow import Workflow
from station.config import load_config
from station.master import load_master_dir
from station.settings import Config
from station.store import Store

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    """A clock the test moves by hand (the core never reads the real one)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC))


@pytest.fixture
def config(tmp_path: Path) -> Config:
    cfg = load_config(ROOT / "config" / "station.toml")
    station = dataclasses.replace(cfg.station, data_dir=tmp_path / "data")
    return dataclasses.replace(cfg, station=station)


def open_store(config: Config, clock: Clock, budget_mb: float | None = None) -> Store:
    store = Store.open(
        config.station.db_path,
        site=config.station.site,
        station=config.station.id,
        budget_mb=budget_mb,
        clock=clock,
    )
    docs, problems = load_master_dir(ROOT / "config" / "master")
    assert problems == []
    store.bootstrap_master((d.kind, d.id, d.doc) for d in docs)
    return store


@pytest.fixture
def store(config: Config, clock: Clock) -> Iterator[Store]:
    s = open_store(config, clock)
    yield s
    s.close()


@pytest.fixture
def wf(store: Store, config: Config, clock: Clock) -> Workflow:
    return Workflow(store, config, clock)


@pytest.fixture
def rd(clock: Clock) -> Callable[[float, str | None, str], Reading]:
    """Build a Reading stamped with the test clock, one second after the previous one (as
    pressed by a person: outside every debounce window)."""
    presses = itertools.count(1)

    def make(value: float, unit: str | None, raw: str) -> Reading:
        return Reading(
            value=value, unit=unit, raw=raw, monotonic=float(next(presses)), wall=clock()
        )

    return make


@pytest.fixture
def store_factory(config: Config, clock: Clock) -> Iterator[Callable[..., Store]]:
    """Open (more) stores on the test's database; all closed at the end."""
    opened: list[Store] = []

    def make(budget_mb: float | None = None) -> Store:
        s = open_store(config, clock, budget_mb)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()
