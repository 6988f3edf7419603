"""Helpers for the sync area: hand-built record chains, an MQTT probe client, and real
subprocesses for the central QMS (`python -m sim.central`) and the daemon (`station sync`).

Everything runs for real on loopback: mosquitto from tests/conftest.py, paho, SQLite files.
Readiness and progress are observed by polling with deadlines (`sim.net.wait_until`), never by
fixed sleeps.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from sim._central_db import read_summary
from sim.net import wait_until
from sim.supervisor import Supervisor
from tests.helpers.chains import canonical, make_chain, seal
from tests.helpers.records import numbered_event

ROOT = Path(__file__).resolve().parents[2]
STATION = str(Path(sys.executable).parent / "station")


@contextlib.contextmanager
def explained(detail: Callable[[], str]) -> Iterator[None]:
    """Turn `sim.net.wait_until`'s TimeoutError into a test failure that shows `detail()`."""
    try:
        yield
    except TimeoutError as exc:
        raise AssertionError(f"{exc}:\n{detail()}") from None


def record_topic(env: dict[str, Any]) -> str:
    return f"qms/v1/{env['site']}/{env['station']}/record/{env['type']}"


@dataclass
class Probe:
    """A test-side MQTT v5 client, single-threaded: every call pumps paho's loop itself."""

    port: int
    client_id: str
    client: mqtt.Client = field(init=False)
    messages: list[mqtt.MQTTMessage] = field(default_factory=list)
    results: dict[int, ReasonCode] = field(default_factory=dict)
    subacks: dict[int, list[ReasonCode]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5
        )
        self.client.on_message = lambda c, u, m: self.messages.append(m)
        self.client.on_publish = lambda c, u, mid, rc, p: self.results.__setitem__(mid, rc)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.subacks.__setitem__(mid, rcs)
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.pump_until(self.client.is_connected, 5.0, "probe connect")

    def pump_until(self, cond: Callable[[], bool], deadline_s: float, what: str) -> None:
        """Run paho's loop (this thread) until `cond` holds."""

        def pumped() -> bool:
            if cond():
                return True
            self.client.loop(timeout=0.02)
            return cond()

        with explained(lambda: f"{len(self.messages)} messages received"):
            wait_until(what, pumped, deadline_s, every=0.0)

    def pump(self, seconds: float) -> None:
        """Run paho's loop for `seconds`: a deliberate window for what must NOT arrive."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.client.loop(timeout=0.02)

    def subscribe(self, topic: str) -> None:
        """Subscribe at QoS 1 and return once the broker's SUBACK granted it."""
        mid = self.client.subscribe(topic, qos=1)[1]
        assert mid is not None
        self.pump_until(lambda: mid in self.subacks, 5.0, f"SUBACK for {topic}")
        assert not any(rc.is_failure for rc in self.subacks[mid]), self.subacks[mid]

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> ReasonCode:
        mid = self.client.publish(topic, payload, qos=1, retain=retain).mid
        self.pump_until(lambda: mid in self.results, 10.0, f"PUBACK for {topic}")
        return self.results[mid]

    def publish_many(self, items: list[tuple[str, bytes]]) -> None:
        mids = [self.client.publish(t, p, qos=1).mid for t, p in items]
        self.pump_until(lambda: all(m in self.results for m in mids), 30.0, "PUBACKs")

    def payloads(self, topic: str) -> list[bytes]:
        return [m.payload for m in self.messages if m.topic == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop(timeout=0.1)


@pytest.fixture
def probe_factory() -> Iterator[Callable[..., Probe]]:
    made: list[Probe] = []

    def make(port: int, client_id: str = "test-probe") -> Probe:
        p = Probe(port, f"{client_id}-{len(made)}")
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


class Proc(Supervisor):
    """A subprocess with its stdout piped and its stderr in a log file, killed at teardown."""

    def __init__(self, argv: list[str], log_path: Path, env: dict[str, str] | None = None):
        super().__init__(argv[0], argv, log_path, env=env, cwd=ROOT, capture_stdout=True)

    def start(self) -> Proc:
        super().start()
        return self

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM and the exit code; a process that ignores it is killed and fails the test."""
        code = self.term(timeout)
        if self.killed_after_timeout:
            raise AssertionError(f"{self.argv[:3]} ignored SIGTERM for {timeout}s")
        assert code is not None
        return code

    def stdout(self) -> str:
        return self.stdout_text()

    def wait_log(self, text: str, deadline_s: float = 15.0, *, since: int = 0) -> None:
        """Wait until `text` is in the log after its first `since` characters."""

        def logged() -> bool:
            if text in self.log[since:]:
                return True
            if not self.alive():
                raise AssertionError(f"process exited before logging {text!r}:\n{self.log}")
            return False

        with explained(lambda: self.log):
            wait_until(f"{text!r} in the log", logged, deadline_s)


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    """Collects every subprocess a test starts; whatever is left running is killed."""
    started: list[Proc] = []
    yield started
    for p in started:
        p.close()


@pytest.fixture
def start_central(tmp_path: Path, procs: list[Proc]) -> Callable[..., Proc]:
    """Start `python -m sim.central` against a broker port; returns the running Proc."""

    def start(port: int, db: Path | None = None, *extra: str) -> Proc:
        db = db or tmp_path / "central.db"
        argv = [sys.executable, "-m", "sim.central", "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--site", "plant-a", "--db", str(db), *extra]
        p = Proc(argv, tmp_path / "central.log").start()
        procs.append(p)
        p.wait_log("connected (session present", 15.0)
        return p

    return start


def wait_summary(
    db: Path, cond: Callable[[dict[str, Any]], bool], deadline_s: float, what: str
) -> dict[str, Any]:
    """Poll the central's database summary until `cond` holds."""
    last: dict[str, Any] = {}

    def holds() -> bool:
        nonlocal last
        if not db.exists():
            return False
        last = read_summary(db)
        return cond(last)

    with explained(lambda: str({k: v for k, v in last.items() if k != "stations"})):
        wait_until(what, holds, deadline_s, every=0.2)
    return last


@dataclass(frozen=True)
class Kit:
    """The module-level helpers above, handed to tests as one fixture (importlib mode: test
    modules cannot import conftest)."""

    make_chain: Callable[..., list[dict[str, Any]]] = make_chain
    seal: Callable[[dict[str, Any]], dict[str, Any]] = seal
    record_topic: Callable[[dict[str, Any]], str] = record_topic
    canonical: Callable[[Any], bytes] = canonical
    wait_summary: Callable[..., dict[str, Any]] = wait_summary


@pytest.fixture
def kit() -> Kit:
    return Kit()


# -- the station side ---------------------------------------------------------------------------

TEMPLATE_RECORDS = 10_000


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding TEMPLATE_RECORDS undelivered records, built once per session (the store
    appends ~1k records/s here) and copied by each test that needs a backlog."""
    from station.store import Store

    path = tmp_path_factory.mktemp("template") / "station.db"
    with Store.open(path, site="plant-a", station="bench-01") as store:
        for start in range(0, TEMPLATE_RECORDS, 1000):
            store.append_many([("event", numbered_event(n)) for n in range(start, start + 1000)])
    return path


@dataclass
class StationEnv:
    """A station config + data folder in tmp, and the `station sync` subprocess for it."""

    root: Path
    port: int
    procs: list[Proc]
    mqtt: dict[str, Any] = field(default_factory=dict)
    master_dir: Path | None = None
    env: dict[str, str] | None = None
    daemon: Proc | None = None
    station_extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cfg(self) -> Path:
        return self.root / "station.toml"

    @property
    def db(self) -> Path:
        return self.root / "data" / "station.db"

    @property
    def log_path(self) -> Path:
        return self.root / "sync.log"

    def write_config(self) -> Path:
        mqtt = {
            "host": "127.0.0.1",
            "port": self.port,
            "ack": "central",
            "resend_after_s": 2,
            "max_rate": 100_000,
            **self.mqtt,
        }
        lines = [
            "[station]",
            'id = "bench-01"',
            'site = "plant-a"',
            'data_dir = "data"',
            *(f"{key} = {json.dumps(value)}" for key, value in self.station_extra.items()),
            "",
            "[mqtt]",
        ]
        for key, value in mqtt.items():
            lines.append(f"{key} = {json.dumps(str(value) if isinstance(value, Path) else value)}")
        if self.master_dir is not None:
            lines += ["", "[master]", f"dir = {json.dumps(str(self.master_dir))}"]
        self.cfg.write_text("\n".join(lines) + "\n")
        return self.cfg

    def use_backlog(self, template: Path) -> None:
        self.db.parent.mkdir(parents=True, exist_ok=True)
        self.db.write_bytes(template.read_bytes())

    def start(self) -> Proc:
        self.write_config()
        env = {**os.environ, **(self.env or {})}
        self.daemon = Proc([STATION, "sync", "-c", str(self.cfg)], self.log_path, env).start()
        self.procs.append(self.daemon)
        return self.daemon

    def store(self) -> Any:
        from station.store import Store

        return Store.open(self.db, site="plant-a", station="bench-01")

    def pending(self) -> int:
        with self.store() as s:
            return int(s.status().pending)

    def cli_status(self) -> dict[str, Any]:
        out = subprocess.run(
            [STATION, "status", "-c", str(self.cfg)], capture_output=True, text=True, check=True
        )
        result: dict[str, Any] = json.loads(out.stdout)
        return result

    def sync_state(self) -> tuple[bool, str]:
        """What the daemon last told the bench: online or not, and why."""
        with self.store() as s:
            online, detail, _ = s.sync_state()
            return bool(online), str(detail)

    def fill(self, n: int) -> None:
        """Append `n` event records, as the bench would."""
        with self.store() as s:
            s.append_many([("event", numbered_event(k)) for k in range(n)])

    def wait_pending(self, cond: Callable[[int], bool], deadline_s: float, what: str) -> int:
        """Poll the store's pending count until `cond` holds; fail at once if the daemon exits."""
        n = -1

        def holds() -> bool:
            nonlocal n
            if self.daemon is not None and not self.daemon.alive():
                raise AssertionError(f"station sync exited:\n{self.daemon.log}")
            n = self.pending() if self.db.exists() else -1
            return n >= 0 and cond(n)

        with explained(lambda: f"pending {n}"):
            wait_until(what, holds, deadline_s)
        return n

    def events(self, kind: str) -> list[dict[str, Any]]:
        with self.store() as s:
            out = []
            after = 0
            while batch := s.records(after, 1000):
                out += [r.body for r in batch if r.type == "event" and r.body["kind"] == kind]
                after = batch[-1].seq
            return out


@pytest.fixture
def station_env(tmp_path: Path, procs: list[Proc]) -> Callable[..., StationEnv]:
    def make(port: int, **mqtt: Any) -> StationEnv:
        root = tmp_path / "station"
        root.mkdir(exist_ok=True)
        return StationEnv(root, port, procs, dict(mqtt))

    return make
