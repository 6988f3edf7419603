"""The bench UI against real simulators and a real store.

Three simulated instruments on the shipped master data: a Mitutoyo caliper on a pty (push:
the test presses its data button), an MT-SICS balance on a pty (poll: the bench sends `S`)
and a pymodbus torque server (poll). The workflow clock is fixed at 2026-11-21 10:00 UTC so
the shipped calibration dates stay valid forever; the store is a real file in tmp_path.
The screen is read back as text from Textual's compositor (Textual is pinned, 8.2.8).
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot

from sim.modbus_instrument import ModbusInstrument
from sim.scanner import ScannerSim
from sim.serial_gauge import SerialGaugeSim
from station.bench.inputs import ScannerReader, readers_for
from station.bench.notice import Notice
from station.bench.workflow import Workflow
from station.config import load_config
from station.schemas import schema_errors
from station.settings import Config
from station.store import Store
from station.ui.app import BenchApp
from tests.helpers.clocks import SettableClock
from tests.helpers.stores import open_store

ROOT = Path(__file__).resolve().parents[2]
FIXED = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)
fixed_clock = SettableClock(FIXED)


@dataclasses.dataclass
class Sims:
    gauge: SerialGaugeSim
    balance: SerialGaugeSim
    torque: ModbusInstrument
    scanner: ScannerSim


@pytest.fixture
def sims(tmp_path: Path) -> Iterator[Sims]:
    gauge = SerialGaugeSim("mitutoyo", tmp_path / "dev" / "caliper", value="12.346")
    balance = SerialGaugeSim("mtsics", tmp_path / "dev" / "balance", value="85.41", unit="g")
    torque = ModbusInstrument(value=12.0)
    scanner = ScannerSim(tmp_path / "dev" / "scanner")
    gauge.start()
    balance.start()
    torque.start()
    scanner.start()
    try:
        yield Sims(gauge, balance, torque, scanner)
    finally:
        scanner.stop()
        torque.stop()
        balance.stop()
        gauge.stop()


def config_text(sims: Sims, data_dir: Path, master_dir: Path) -> str:
    """The shipped example's inputs, pointed at the simulators."""
    return f"""
[station]
id = "bench-01"
site = "plant-a"
data_dir = "{data_dir}"
storage_budget_mb = 512

[master]
dir = "{master_dir}"

[scanner]
kind = "serial"
port = "{sims.scanner.path}"

[[inputs]]
name = "caliper"
driver = "mitutoyo"
port = "{sims.gauge.path}"
mode = "push"
debounce_ms = 0    # Pilot presses faster than a person can; tests/bench cover the debounce

[[inputs]]
name = "balance"
driver = "mtsics"
port = "{sims.balance.path}"
mode = "poll"
timeout_s = 1.0
instrument = "BAL-0003"

[[inputs]]
name = "torque"
driver = "modbus"
url = "{sims.torque.url}"
register = 0
data_type = "float32"
unit = "N.m"
timeout_s = 1.0
instrument = "TRQ-0011"
"""


@pytest.fixture
def cfg(tmp_path: Path, sims: Sims) -> Config:
    path = tmp_path / "station.toml"
    path.write_text(config_text(sims, tmp_path / "data", ROOT / "config" / "master"), "utf-8")
    return load_config(path)


def screen_text(app: BenchApp) -> str:
    """What the terminal shows now, as plain text (dialogs over their screen included)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


class Harness:
    """One bench app over a real store and the simulators, plus the test's verbs."""

    def __init__(
        self,
        cfg: Config,
        sims: Sims,
        store: Store,
        app_class: type[BenchApp] = BenchApp,
        **app_kwargs: Any,
    ) -> None:
        self.cfg = cfg
        self.sims = sims
        self.store = store
        self.wf = Workflow(store, cfg, fixed_clock)
        kwargs: dict[str, Any] = {"status_interval_s": 0.2, **app_kwargs}
        self.app = app_class(
            self.wf,
            store,
            cfg,
            readers_for(cfg.inputs),
            clock=fixed_clock,
            scanner=ScannerReader(cfg.scanner),
            **kwargs,
        )

    def run(self) -> Any:
        return self.app.run_test(size=(80, 24))

    def text(self) -> str:
        return screen_text(self.app)

    @property
    def notice(self) -> Notice:
        assert self.app.notice is not None
        return self.app.notice

    async def until(
        self, pilot: Pilot[int], pred: Callable[[], object], what: str, timeout: float = 5.0
    ) -> None:
        """Poll `pred` while the app runs; fail with the screen when the deadline passes."""
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{self.text()}")
            await pilot.pause(0.02)
        await pilot.pause()

    async def ready(self, pilot: Pilot[int]) -> None:
        """Every input reader connected (the bench is interactive)."""
        names = [i.name for i in self.cfg.inputs] + ["scanner"]
        await self.until(
            pilot,
            lambda: all(
                n in self.app.links and self.app.links[n].state == "connected" for n in names
            ),
            "inputs connected",
        )

    async def scan(self, pilot: Pilot[int], text: str) -> Notice:
        """Scan `text` with the serial (CDC-ACM) scanner simulator."""
        return await self._reading(pilot, lambda: self.sims.scanner.scan(text), f"scan {text!r}")

    async def scans(self, pilot: Pilot[int], *texts: str) -> None:
        """Scan each of `texts` in turn (e.g. badge, part, instrument)."""
        for text in texts:
            await self.scan(pilot, text)

    async def type_scan(self, pilot: Pilot[int], text: str) -> Notice:
        """Type `text` + Enter into the scan field, as a keyboard-wedge scanner does."""
        before = self.app.notice
        await pilot.press(*text, "enter")
        await self.until(pilot, lambda: self.app.notice is not before, f"scan {text!r} typed")
        return self.notice

    async def push(self, pilot: Pilot[int], value: str) -> Notice:
        """Set the caliper's display and press its data button; wait for the verdict."""
        return await self._reading(pilot, lambda: self._press(value), f"caliper {value}")

    def _press(self, value: str) -> None:
        self.sims.gauge.value = value
        self.sims.gauge.press_button()

    async def poll(self, pilot: Pilot[int], key: str = "space") -> Notice:
        """Press the poll key and wait for the reply's verdict (or refusal)."""
        await pilot.press(key)
        await self.until(
            pilot,
            lambda: not self.notice.text.startswith("requested a value"),
            f"the reply to a poll via {key}",
        )
        return self.notice

    async def _reading(self, pilot: Pilot[int], act: Callable[[], None], what: str) -> Notice:
        before = self.app.notice
        act()
        await self.until(pilot, lambda: self.app.notice is not before, what)
        return self.notice

    def records(self) -> list[dict[str, Any]]:
        """Every record's envelope, each checked against the contract schema."""
        out = [r.envelope() for r in self.store.records()]
        for env in out:
            assert schema_errors("record", env) == [], env
        return out

    def events(self) -> list[str]:
        return [r["body"]["kind"] for r in self.records() if r["type"] == "event"]


@pytest.fixture
def harness(cfg: Config, sims: Sims) -> Iterator[Callable[..., Harness]]:
    """Build harnesses (several share one store file: a restart after a crash)."""
    stores: list[Store] = []

    def make(
        budget_mb: float | None = None, app_class: type[BenchApp] = BenchApp, **app_kwargs: Any
    ) -> Harness:
        store = open_store(cfg, fixed_clock, budget_mb)
        stores.append(store)
        return Harness(cfg, sims, store, app_class, **app_kwargs)

    yield make
    for s in stores:
        s.close()
