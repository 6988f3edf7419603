"""Fixtures for the store tests: a settable clock, real store files, record bodies.

Everything runs on real SQLite files in tmp_path; nothing is mocked.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from station.store import Store
from tests.helpers import records
from tests.helpers.clocks import SettableClock

SITE = "plant-a"
STATION = "bench-01"


@pytest.fixture
def clock() -> SettableClock:
    """08:00 UTC, 250 ms later at every reading (records of one test are 250 ms apart)."""
    return SettableClock(datetime(2026, 11, 21, 8, 0, 0, tzinfo=UTC), timedelta(milliseconds=250))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "station.db"


@pytest.fixture
def store(db_path: Path, clock: SettableClock) -> Iterator[Store]:
    with Store.open(db_path, site=SITE, station=STATION, clock=clock) as s:
        yield s


def write_config(tmp_path: Path, db_dir: Path) -> Path:
    """A minimal station config whose data_dir is `db_dir` (for the CLI commands)."""
    cfg = tmp_path / "station.toml"
    cfg.write_text(
        f'[station]\nid = "{STATION}"\nsite = "{SITE}"\ndata_dir = "{db_dir}"\n', "utf-8"
    )
    return cfg


@pytest.fixture
def mk() -> ModuleType:
    """The record body builders (`tests.helpers.records`)."""
    return records


@pytest.fixture
def config_file(tmp_path: Path, db_path: Path) -> Path:
    """A station config whose store is `db_path`."""
    return write_config(tmp_path, db_path.parent)
