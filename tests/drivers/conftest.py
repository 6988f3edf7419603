"""Fixtures for the serial driver tests: pty-backed simulators and opened drivers.

`gauge_sim(protocol, **kw)` starts a `SerialGaugeSim` whose link lives in the test's tmp dir;
`open_driver(DriverClass, sim, **params)` builds the driver's own parameters (`drivers.params`)
pointing at the simulator's link and opens the driver; `scanner_sim(**kw)` starts a
`ScannerSim`. Everything is stopped/closed at teardown. (The Modbus tests keep their own
fixtures in their module.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from drivers.ascii_line import AsciiDriver
from drivers.line_driver import LineDriver
from drivers.mtsics import MtsicsDriver
from drivers.params import AsciiParams, MtsicsParams, SerialParams
from sim.scanner import ScannerSim
from sim.serial_gauge import GaugeProtocol, SerialGaugeSim

D = TypeVar("D", bound=LineDriver)

# The parameter type of each serial driver that needs more than `SerialParams`.
PARAMS_OF: dict[type[LineDriver], type[SerialParams]] = {
    AsciiDriver: AsciiParams,
    MtsicsDriver: MtsicsParams,
}


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
        name = kw.pop("name", "left")
        params = PARAMS_OF.get(cls, SerialParams)(port=sim.path, **kw)
        driver = cls(name, params)
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
