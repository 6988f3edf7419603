"""Fixtures for the serial driver tests: pty-backed simulators and opened drivers.

`gauge_sim(protocol, **kw)` starts a `SerialGaugeSim` whose link lives in the test's tmp dir;
`open_driver(DriverClass, sim, **input_settings)` builds an `InputSettings` pointing at the
simulator's link and opens the driver; `scanner_sim(**kw)` starts a `ScannerSim`. Everything is
stopped/closed at teardown. (The Modbus tests keep their own fixtures in their module.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from drivers.line_driver import LineDriver
from sim.scanner import ScannerSim
from sim.serial_gauge import GaugeProtocol, SerialGaugeSim
from station.settings import InputSettings

D = TypeVar("D", bound=LineDriver)


@pytest.fixture
def gauge_sim(tmp_path: Path) -> Iterator[Callable[..., SerialGaugeSim]]:
    started: list[SerialGaugeSim] = []

    def make(protocol: GaugeProtocol, link: str = "gauge", **kw: Any) -> SerialGaugeSim:
        sim = SerialGaugeSim(protocol, tmp_path / link, **kw)
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def open_driver() -> Iterator[Callable[..., Any]]:
    opened: list[LineDriver] = []

    def make(cls: type[D], sim: SerialGaugeSim, **kw: Any) -> D:
        settings = InputSettings(
            name=kw.pop("name", "left"),
            driver=cls.PROTOCOL,
            port=sim.path,
            **kw,
        )
        driver = cls(settings)
        driver.open()
        opened.append(driver)
        return driver

    yield make
    for driver in opened:
        driver.close()


@pytest.fixture
def scanner_sim(tmp_path: Path) -> Iterator[Callable[..., ScannerSim]]:
    started: list[ScannerSim] = []

    def make(link: str = "scanner", **kw: Any) -> ScannerSim:
        sim = ScannerSim(tmp_path / link, **kw).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()
