"""Availability: stations running the real `station sync` daemon (its store, its resends)
deliver through the bridge while a replica is killed or PostgreSQL restarts; nothing is lost,
nothing stored twice, and each station's `delivered_seq` reaches its `last_seq`."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sim.mosquitto import Mosquitto
from sim.net import wait_until
from sim.supervisor import Supervisor
from station.store import Store
from tests.central.conftest import ROOT, Bridge, PgCluster, new_database, query
from tests.helpers.records import inspection, numbered_event

STATION = str(Path(sys.executable).parent / "station")
RECORDS = 1500  # per station


@dataclass
class Station:
    sid: str
    root: Path
    proc: Supervisor

    @property
    def db(self) -> Path:
        return self.root / "data" / "station.db"

    def status(self) -> tuple[int, int]:
        with Store.open(self.db, site="plant-a", station=self.sid) as s:
            st = s.status()
            return st.last_seq, st.pending


def make_station(tmp: Path, sid: str, port: int, n: int) -> Station:
    root = tmp / sid
    (root / "data").mkdir(parents=True)
    with Store.open(root / "data" / "station.db", site="plant-a", station=sid) as store:
        for start in range(0, n, 500):
            items = [("event", numbered_event(k)) for k in range(start, start + 499)]
            store.append_many([*items, ("inspection", inspection(serial=f"SN-{start}"))])
    cfg = root / "station.toml"
    cfg.write_text(
        f'[station]\nid = "{sid}"\nsite = "plant-a"\ndata_dir = "data"\n\n[mqtt]\n'
        f'host = "127.0.0.1"\nport = {port}\nack = "central"\nresend_after_s = 2\n'
        "max_rate = 100000\ninflight_window = 200\n"
    )
    proc = Supervisor(
        sid, [STATION, "sync", "-c", str(cfg)], root / "sync.log", cwd=ROOT, env=dict(os.environ)
    )
    return Station(sid, root, proc)


@pytest.fixture
def stations(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[list[Station]]:
    made = [make_station(tmp_path, f"bench-{i:02d}", mosquitto.port, RECORDS) for i in (1, 2, 3)]
    yield made
    for s in made:
        s.proc.close()


def stored(dsn: str) -> int:
    return int(str(query(dsn, "SELECT count(*) FROM records")[0][0]))


def wait_all_delivered(dsn: str, stations: list[Station], deadline_s: float) -> None:
    def done() -> bool:
        for s in stations:
            assert s.proc.alive(), s.proc.log
        return all(s.status()[1] == 0 for s in stations)

    wait_until("every station's records delivered", done, deadline_s, every=0.2)
    rows = query(
        dsn,
        "SELECT station, count(*), count(DISTINCT id), min(seq), max(seq)"
        " FROM records GROUP BY station ORDER BY station",
    )
    assert rows == [(s.sid, RECORDS, RECORDS, 1, RECORDS) for s in stations]  # 0 lost, 0 twice
    delivered = query(dsn, "SELECT station, delivered_seq FROM station_status ORDER BY 1")
    assert delivered == [(s.sid, s.status()[0]) for s in stations]  # delivered_seq = last_seq
    assert query(dsn, "SELECT count(*) FROM conflicts") == [(0,)]


def test_a_replica_killed_mid_drain_loses_and_duplicates_nothing(
    pg_dsn: str,
    mosquitto: Mosquitto,
    stations: list[Station],
    start_bridge: Callable[..., Bridge],
) -> None:
    r1 = start_bridge(pg_dsn, mosquitto.port, "r1")
    r2 = start_bridge(pg_dsn, mosquitto.port, "r2")
    for s in stations:
        s.proc.start()
    wait_until("a third stored", lambda: stored(pg_dsn) >= RECORDS, 60.0, every=0.05)
    assert r1.kill() == -signal.SIGKILL  # what it received and had not committed is gone
    assert stored(pg_dsn) < 3 * RECORDS  # mid-drain
    wait_until("more stored by r2 alone", lambda: stored(pg_dsn) >= 2 * RECORDS, 60.0, every=0.05)
    r1.start()
    wait_all_delivered(pg_dsn, stations, 90.0)
    by = dict(query(pg_dsn, "SELECT replica, count(*) FROM records GROUP BY replica"))
    assert set(by) == {"r1", "r2"}, by  # both carried the stream
    assert "subscribed" in r2.log


def test_a_postgres_restart_mid_drain_loses_nothing(
    own_pg: PgCluster,
    mosquitto: Mosquitto,
    stations: list[Station],
    start_bridge: Callable[..., Bridge],
) -> None:
    dsn = new_database(own_pg)
    bridge = start_bridge(dsn, mosquitto.port, "r1")
    for s in stations:
        s.proc.start()
    wait_until("some stored", lambda: stored(dsn) >= RECORDS, 60.0, every=0.05)
    assert stored(dsn) < 3 * RECORDS  # mid-drain
    own_pg.stop(signal.SIGQUIT)  # immediate shutdown: like a crash, recovery at next start
    bridge.wait_ready(
        lambda: (
            "PostgreSQL unavailable" in bridge.log or "cannot connect to PostgreSQL" in bridge.log
        ),
        30.0,
        "db down seen",
    )
    own_pg.start()
    wait_all_delivered(dsn, stations, 90.0)
    assert "connected to PostgreSQL again" in bridge.log
