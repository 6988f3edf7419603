"""Fixtures for the store tests: a controllable clock, real store files, record bodies.

Everything runs on real SQLite files in tmp_path; nothing is mocked.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from station.store import Store

SITE = "plant-a"
STATION = "bench-01"


class FakeClock:
    """Aware UTC time that advances by `step` at every reading (or stays put when step=0)."""

    def __init__(self, start: datetime, step: timedelta = timedelta(milliseconds=250)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        current = self.now
        self.now = self.now + self.step
        return current

    def set(self, moment: datetime) -> None:
        self.now = moment


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 21, 8, 0, 0, tzinfo=UTC))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "station.db"


@pytest.fixture
def store(db_path: Path, clock: FakeClock) -> Iterator[Store]:
    with Store.open(db_path, site=SITE, station=STATION, clock=clock) as s:
        yield s


def write_config(tmp_path: Path, db_dir: Path) -> Path:
    """A minimal station config whose data_dir is `db_dir` (for the CLI commands)."""
    cfg = tmp_path / "station.toml"
    cfg.write_text(
        f'[station]\nid = "{STATION}"\nsite = "{SITE}"\ndata_dir = "{db_dir}"\n', "utf-8"
    )
    return cfg


def measurement(
    characteristic: str = "bore-dia",
    value: float = 12.346,
    *,
    instrument: str = "CAL-0042",
    sample: int = 1,
    ts: str = "2026-11-21T08:00:00.000Z",
) -> dict[str, Any]:
    return {
        "characteristic": characteristic,
        "sample": sample,
        "kind": "variable",
        "value": value,
        "unit": "mm",
        "raw": f"01A+{value:011.3f}",
        "nominal": 12.35,
        "lsl": 12.3,
        "usl": 12.4,
        "rule": "simple",
        "u": None,
        "verdict": "pass",
        "instrument": instrument,
        "cal_due": "2027-03-01",
        "ts": ts,
    }


def inspection(
    *measurements: dict[str, Any],
    serial: str | None = "SN-0001",
    plan: tuple[str, str] = ("P-1001", "C"),
    result: str = "accept",
) -> dict[str, Any]:
    return {
        "plan": {"id": plan[0], "rev": plan[1]},
        "part": {"number": "PN-778", "serial": serial, "lot": "L42"},
        "operator": "op-17",
        "reason": "production",
        "started": "2026-11-21T08:00:00.000Z",
        "completed": "2026-11-21T08:00:30.000Z",
        "result": result,
        "measurements": list(measurements) or [measurement()],
    }


def instrument_check(instrument: str = "CAL-0042", verdict: str = "pass") -> dict[str, Any]:
    return {
        "instrument": instrument,
        "standard": "GB-25",
        "reference": 25.0,
        "unit": "mm",
        "readings": [25.001, 25.0],
        "bias": 0.0005,
        "mpe": 0.004,
        "verdict": verdict,
        "operator": "op-17",
    }


def event(kind: str = "login", operator: str | None = "op-17") -> dict[str, Any]:
    return {"kind": kind, "operator": operator, "detail": {}}


class Bodies:
    """The body builders above, handed to tests as the `mk` fixture (importlib mode: test
    modules cannot import conftest)."""

    measurement = staticmethod(measurement)
    inspection = staticmethod(inspection)
    instrument_check = staticmethod(instrument_check)
    event = staticmethod(event)


@pytest.fixture
def mk() -> type[Bodies]:
    return Bodies


@pytest.fixture
def config_file(tmp_path: Path, db_path: Path) -> Path:
    """A station config whose store is `db_path`."""
    return write_config(tmp_path, db_path.parent)
