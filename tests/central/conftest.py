"""Fixtures for `station central`: a real PostgreSQL cluster started for the tests, a fresh
database per test, and helpers to run the bridge as `python -m station.central`.

PostgreSQL: `initdb` into a temporary folder, then the `postgres` server on a free loopback
port (its Unix socket in the same folder), readiness observed with `pg_isready` against a
deadline, SIGINT ("fast shutdown", PostgreSQL docs §19.5) at teardown. initdb refuses to run
as root ("cannot be run as root"), so under root (CI containers) the cluster belongs to the
`postgres` OS account that Debian's postgresql package creates, and its folder is made under
/tmp (pytest's own tmp folders are 0700 root). A missing binary or account fails loudly.
`fsync = off` only makes the tests faster: the server is killed as a process, never by a
power cut, so the OS still holds every page it wrote (§20.5 "fsync").
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from sim.mosquitto import Mosquitto
from sim.net import free_port, wait_until
from sim.supervisor import Supervisor
from tests.helpers.chains import ZERO, make_chain

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
ROOT = Path(__file__).resolve().parents[2]


class PgCluster:
    """One PostgreSQL cluster in its own folder, startable, stoppable and killable."""

    def __init__(self) -> None:
        for tool in ("initdb", "postgres", "pg_isready"):
            if not (PG_BIN / tool).exists():
                raise RuntimeError(
                    f"{PG_BIN / tool} is missing: install the server (apt-get install"
                    " postgresql-15; .ci/test does), or set PG_BIN"
                )
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root needs the `postgres` OS account") from None
            self.user = "postgres"
        self.dir = Path(tempfile.mkdtemp(prefix="station-pg-", dir="/tmp"))
        if self.user is not None:
            shutil.chown(self.dir, self.user, self.user)
        self.data = self.dir / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "postgres.log"
        self._run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )

    def _run(self, argv: list[str]) -> None:
        done = subprocess.run(argv, capture_output=True, text=True, user=self.user, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn_for(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        argv = [
            str(PG_BIN / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-k",
            str(self.dir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "max_connections=50",
        ]
        self.proc = subprocess.Popen(argv, stdout=log, stderr=log, user=self.user)
        log.close()

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited ({self.proc.returncode}):\n{self.log()}")
            probe = [str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
            return subprocess.run(probe, check=False).returncode == 0

        wait_until("postgres accepts connections", ready, 30.0, every=0.05)

    def stop(self, sig: int = signal.SIGINT) -> None:
        """SIGINT: fast shutdown; SIGQUIT: immediate (crash-like, recovery at next start)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def log(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One cluster for the session (initdb costs ~1 s); each test gets its own database."""
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def own_pg() -> Iterator[PgCluster]:
    """A cluster of the test's own, for a test that stops or kills the server."""
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


_counter = iter(range(1_000_000))


def new_database(cluster: PgCluster) -> str:
    name = f"qms_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return cluster.dsn_for(name)


@pytest.fixture
def pg_dsn(pg_cluster: PgCluster) -> str:
    """A fresh, empty database on the session's cluster."""
    return new_database(pg_cluster)


def query(dsn: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return list(conn.execute(sql, args or None).fetchall())


def write_config(
    path: Path,
    *,
    dsn: str,
    port: int,
    client_id: str,
    group: str = "qms",
    sites: tuple[str, ...] = ("plant-a",),
    master: Path | None = None,
    extra: str = "",
) -> Path:
    lines = [
        "[central]",
        f'group = "{group}"',
        "sites = [" + ", ".join(f'"{s}"' for s in sites) + "]",
        extra,
        "",
        "[postgres]",
        f'dsn = "{dsn}"',
        "",
        "[mqtt]",
        'host = "127.0.0.1"',
        f"port = {port}",
        f'client_id = "{client_id}"',
    ]
    if master is not None:
        lines += ["", "[master]", f'dir = "{master}"']
    path.write_text("\n".join(lines) + "\n")
    return path


class Bridge(Supervisor):
    """`python -m station.central -c FILE` as a subprocess, its stderr in a log file."""

    def __init__(self, cfg: Path, log_path: Path) -> None:
        argv = [sys.executable, "-m", "station.central", "-c", str(cfg)]
        super().__init__("central", argv, log_path, cwd=ROOT, mark_starts=True)

    def start(self) -> Bridge:
        seen = len(self.log)
        super().start()
        self.wait_ready(lambda: "subscribed" in self.log[seen:], 20.0, "bridge subscribed")
        return self


@pytest.fixture
def bridges() -> Iterator[list[Bridge]]:
    """Every bridge a test starts; whatever is left running is stopped at teardown."""
    started: list[Bridge] = []
    yield started
    for b in started:
        with contextlib.suppress(Exception):
            b.close()


@pytest.fixture
def start_bridge(tmp_path: Path, bridges: list[Bridge]) -> Callable[..., Bridge]:
    def start(dsn: str, port: int, name: str = "r1", **kw: object) -> Bridge:
        cfg = write_config(tmp_path / f"{name}.toml", dsn=dsn, port=port, client_id=name, **kw)  # type: ignore[arg-type]
        b = Bridge(cfg, tmp_path / f"{name}.log")
        bridges.append(b)
        return b.start()

    return start


# -- records and a test-side MQTT client ---------------------------------------------------------


def chain(
    n: int, station: str = "bench-01", *, start: int = 1, prev: str = ZERO, tag: str = ""
) -> list[dict[str, Any]]:
    """`n` valid `event` records seq start.., hash-chained from `prev`, ids `station-seq`+tag."""
    return make_chain(
        n, station=station, start=start, prev=prev, ids=lambda st, seq: f"{st}-{seq}{tag}"
    )


def topic_of(env: dict[str, Any]) -> str:
    return f"qms/v1/{env['site']}/{env['station']}/record/{env['type']}"


class Probe:
    """A test-side MQTT v5 client on this thread: every call pumps paho's loop itself."""

    def __init__(self, port: int, client_id: str) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self.results: dict[int, ReasonCode] = {}
        self.subacks: dict[int, list[ReasonCode]] = {}
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        c.max_inflight_messages_set(1000)
        c.on_message = lambda cl, u, m: self.messages.append(m)
        c.on_publish = lambda cl, u, mid, rc, p: self.results.__setitem__(mid, rc)
        c.on_subscribe = lambda cl, u, mid, rcs, p: self.subacks.__setitem__(mid, rcs)
        c.connect("127.0.0.1", port, keepalive=30)
        self.client = c
        self.pump_until(c.is_connected, 5.0, "probe connect")

    def pump_until(self, cond: Callable[[], bool], deadline_s: float, what: str) -> None:
        def pumped() -> bool:
            if cond():
                return True
            self.client.loop(timeout=0.02)
            return cond()

        wait_until(what, pumped, deadline_s, every=0.0)

    def subscribe(self, topic: str) -> None:
        mid = self.client.subscribe(topic, qos=1)[1]
        assert mid is not None
        self.pump_until(lambda: mid in self.subacks, 5.0, f"SUBACK for {topic}")
        assert not any(rc.is_failure for rc in self.subacks[mid]), self.subacks[mid]

    def publish_many(self, items: list[tuple[str, bytes]], *, retain: bool = False) -> None:
        mids = [self.client.publish(t, p, qos=1, retain=retain).mid for t, p in items]
        self.pump_until(lambda: all(m in self.results for m in mids), 60.0, "PUBACKs")

    def publish_records(self, envs: list[dict[str, Any]]) -> None:
        """Publish record envelopes on their own topics, as stations do (QoS 1)."""
        self.publish_many([(topic_of(e), json.dumps(e).encode()) for e in envs])

    def acks(self) -> dict[str, dict[str, Any]]:
        """The last ack each station got, by station id."""
        out: dict[str, dict[str, Any]] = {}
        for m in self.messages:
            if m.topic.endswith("/ack"):
                out[m.topic.split("/")[3]] = json.loads(m.payload)
        return out

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop(timeout=0.1)


@pytest.fixture
def probe(mosquitto: Mosquitto) -> Iterator[Probe]:
    p = Probe(mosquitto.port, "test-probe")
    yield p
    p.close()
