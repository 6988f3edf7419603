"""`station demo`: the whole station on one machine, simulated, started and stopped by one command.

What runs (all on 127.0.0.1):

- a Mitutoyo caliper and an MT-SICS balance as pty serial simulators, a Modbus torque
  instrument (pymodbus server), and a serial barcode scanner simulator;
- an MQTT broker: mosquitto when installed, else the embedded broker in `sim.broker` (MQTT v5,
  which the sync daemon needs; amqtt speaks 3.1.1 only);
- the reference central QMS (`sim.central`) and the sync daemon (`station sync`), as real
  subprocesses, exactly as on a plant network;
- the bench UI in this terminal, with demo keys that press the gauges' data buttons and scan
  badges, parts, instruments and standards through the scanner simulator.

Master data is generated for today (`station.demo.master_data`), so the story never rots.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sim.broker import EmbeddedBroker
from sim.gauge_formats import format_mtsics
from sim.modbus_instrument import ModbusInstrument
from sim.mosquitto import Mosquitto, mosquitto_binary
from sim.publish_master import master_topic, publish_retained
from sim.scanner import ScannerSim
from sim.serial_gauge import SerialGaugeSim
from sim.supervisor import Supervisor
from station.config.parse import system_zone
from station.demo.master_data import demo_master_docs

SITE = "plant-a"
STATION = "bench-01"
BALANCE_PART_MASS = "85.41"
"""What the balance shows outside a check: a P-2001 bracket (nominal 85.4 g)."""


class DemoBalance(SerialGaugeSim):
    """The demo's MT-SICS balance: it weighs what is on its pan.

    Outside an instrument check that is a P-2001 bracket (`BALANCE_PART_MASS`); during a
    check of the balance it is the reference weight, so `source` (set by the demo keys from
    the workflow) returns the weight's value plus the balance's demo error. A fixed value would
    weigh the bracket against the 100 g standard and fail the demo's own check (issue 12.14).
    `source` runs in the simulator's thread when a request arrives, as a real balance weighs
    at the moment it is asked.
    """

    def __init__(self, link: Path) -> None:
        super().__init__("mtsics", link, value=BALANCE_PART_MASS)
        self.source: Callable[[], Decimal | None] | None = None

    def frame(self) -> bytes:
        on_pan = self.source() if self.source is not None else None
        if on_pan is None:
            return super().frame()
        return format_mtsics(on_pan.quantize(Decimal("0.01")), self.unit, stable=self.stable)


def demo_zone() -> str:
    """The machine's IANA zone name, for the station and the central alike (the central's
    `calibrated` date is the completed date on the site's calendar); UTC when unnamed."""
    key = getattr(system_zone(), "key", None)
    return key if isinstance(key, str) and key != "localtime" else "UTC"


def config_text(workdir: Path, mqtt_port: int, torque_url: str, zone: str = "UTC") -> str:
    """The demo's station.toml (contract: station.md)."""
    return f"""# Written by `station demo`; every path is inside {workdir}.
[station]
id = "{STATION}"
site = "{SITE}"
timezone = "{zone}"
data_dir = "data"
storage_budget_mb = 64

[mqtt]
host = "127.0.0.1"
port = {mqtt_port}
ack = "central"
resend_after_s = 10

[master]
dir = "master"

[scanner]
kind = "serial"
port = "{workdir / "scanner"}"

[[inputs]]
name = "caliper"
driver = "mitutoyo"
port = "{workdir / "caliper"}"
mode = "push"

[[inputs]]
name = "balance"
driver = "mtsics"
port = "{workdir / "balance"}"
mode = "poll"
instrument = "BAL-0003"

[[inputs]]
name = "torque"
driver = "modbus"
url = "{torque_url}"
unit_id = 1
register = 0
data_type = "float32"
word_order = "big"
unit = "N.m"
instrument = "TRQ-0011"
"""


@dataclass
class DemoEnvironment:
    """Everything the demo starts, stopped in reverse order by `close()`."""

    workdir: Path
    config_path: Path = field(init=False)
    caliper: SerialGaugeSim = field(init=False)
    balance: DemoBalance = field(init=False)
    scanner: ScannerSim = field(init=False)
    torque: ModbusInstrument = field(init=False)
    broker: str = "auto"  # "auto": mosquitto when installed; "mosquitto"; "embedded"
    broker_kind: str = ""
    mqtt_port: int = 0
    _procs: list[Supervisor] = field(default_factory=list)
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def start(self, *, with_sync: bool = True) -> DemoEnvironment:
        """Start simulators, broker, central and (optionally) the sync daemon."""
        w = self.workdir
        (w / "master").mkdir(parents=True, exist_ok=True)
        docs = demo_master_docs(datetime.now(UTC).date())
        for doc in docs:
            name = f"{doc['schema'].split('/')[1].split('@')[0]}-{doc['id']}.json"
            (w / "master" / name).write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
        self.caliper = SerialGaugeSim("mitutoyo", w / "caliper", value="12.346").start()
        self._stops.append(self.caliper.stop)
        self.balance = DemoBalance(w / "balance")
        self.balance.start()
        self._stops.append(self.balance.stop)
        self.scanner = ScannerSim(w / "scanner").start()
        self._stops.append(self.scanner.stop)
        self.torque = ModbusInstrument(value=12.1)
        self.torque.start()
        self._stops.append(self.torque.stop)
        self._start_broker()
        self.config_path = w / "station.toml"
        # The demo's QMS holds the instruments it defines: retained on the master topic, as a
        # QMS publishes them (the central reads them there to confirm a calibration).
        problems = publish_retained(
            [
                (master_topic(SITE, "instrument", d["id"]), json.dumps(d).encode())
                for d in docs
                if d["schema"] == "qms.master/instrument@1"
            ],
            host="127.0.0.1",
            port=self.mqtt_port,
        )
        if problems:
            raise RuntimeError("demo: cannot publish the master data: " + "; ".join(problems))
        zone = demo_zone()
        self.config_path.write_text(config_text(w, self.mqtt_port, self.torque.url, zone), "utf-8")
        # The central confirms passing calibrations as a QMS does (new cal_due, calibrated),
        # so the calibration loop closes on screen (issue 15).
        self._spawn(
            "central",
            [sys.executable, "-m", "sim.central", "--port", str(self.mqtt_port),
             "--site", SITE, "--db", str(w / "central.db"),
             "--answer-calibrations", "--timezone", zone],
        )  # fmt: skip
        if with_sync:
            self.start_sync()
        return self

    def _start_broker(self) -> None:
        binary = mosquitto_binary()
        if self.broker == "mosquitto" and binary is None:
            raise RuntimeError("--broker mosquitto: mosquitto is not installed")
        if binary is not None and self.broker != "embedded":
            # Like the central and the daemon, it dies with the demo (die_with_parent).
            log_types = ("error", "warning", "notice", "information")
            mosquitto = Mosquitto(self.workdir, log_types=log_types, die_with_parent=True)
            self._procs.append(mosquitto)
            mosquitto.start()
            self.mqtt_port = mosquitto.port
            self.broker_kind = "mosquitto"
        else:
            broker = EmbeddedBroker().start()
            self._stops.append(broker.stop)
            self.mqtt_port = broker.port
            self.broker_kind = "embedded"

    def start_sync(self) -> None:
        """Start `station sync` on the demo config."""
        self._spawn(
            "sync", [sys.executable, "-m", "station.cli", "sync", "-c", str(self.config_path)]
        )

    def _spawn(self, name: str, argv: list[str]) -> Supervisor:
        log = self.workdir / f"{name}.log"
        proc = Supervisor(name, argv, log, cwd=self.workdir, die_with_parent=True).start()
        self._procs.append(proc)
        return proc

    def close(self) -> None:
        """Stop everything: daemons first (SIGTERM, so sync publishes `offline`), then sims."""
        for proc in reversed(self._procs):
            proc.signal_term()
        for proc in reversed(self._procs):
            proc.wait_stopped(10.0)
        self._procs.clear()
        for stop in reversed(self._stops):
            with contextlib.suppress(Exception):
                stop()
        self._stops.clear()


@contextlib.contextmanager
def demo_environment(
    workdir: Path | None = None, *, with_sync: bool = True, broker: str = "auto"
) -> Iterator[DemoEnvironment]:
    """Start the demo's world; stop it on exit. A temporary folder is removed afterwards."""
    temp = workdir is None
    w = Path(tempfile.mkdtemp(prefix="station-demo-")) if workdir is None else workdir
    w.mkdir(parents=True, exist_ok=True)
    env = DemoEnvironment(w, broker=broker)
    try:
        env.start(with_sync=with_sync)
        yield env
    finally:
        env.close()
        if temp:
            shutil.rmtree(w, ignore_errors=True)


__all__ = [
    "BALANCE_PART_MASS",
    "DemoBalance",
    "DemoEnvironment",
    "config_text",
    "demo_environment",
]
