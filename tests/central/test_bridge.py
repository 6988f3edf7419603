"""`station central` end to end: real mosquitto, real PostgreSQL, the bridge as a process
(`python -m station.central`, what `station central -c FILE` runs)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from sim.mosquitto import Mosquitto
from tests.central.conftest import ROOT, Bridge, Probe, chain, query
from tests.helpers.chains import seal


def wait_acked(probe: Probe, last: dict[str, dict[str, Any]], deadline_s: float) -> None:
    probe.pump_until(
        lambda: all(probe.acks().get(s, {}).get("seq") == e["seq"] for s, e in last.items()),
        deadline_s,
        f"acks reach {[(s, e['seq']) for s, e in last.items()]} (got {probe.acks()})",
    )


def test_10000_records_from_3_stations_are_stored_exactly_once(
    pg_dsn: str, mosquitto: Mosquitto, probe: Probe, start_bridge: Callable[..., Bridge]
) -> None:
    start_bridge(pg_dsn, mosquitto.port)
    probe.subscribe("qms/v1/plant-a/+/ack")
    chains = {
        s: chain(n, s) for s, n in (("bench-01", 3334), ("bench-02", 3333), ("bench-03", 3333))
    }
    interleaved = [env for trio in zip(*chains.values(), strict=False) for env in trio]
    interleaved += chains["bench-01"][3333:]
    resent = interleaved[1000:1500]  # a station re-sends what it has not seen acked
    probe.publish_records(interleaved + resent)
    wait_acked(probe, {s: c[-1] for s, c in chains.items()}, 60.0)
    assert {s: a["hash"] for s, a in probe.acks().items()} == {
        s: c[-1]["hash"] for s, c in chains.items()
    }
    rows = query(
        pg_dsn,
        "SELECT station, count(*), count(DISTINCT id), max(seq) FROM records"
        " GROUP BY station ORDER BY station",
    )
    assert rows == [
        ("bench-01", 3334, 3334, 3334),
        ("bench-02", 3333, 3333, 3333),
        ("bench-03", 3333, 3333, 3333),
    ]
    delivered = query(pg_dsn, "SELECT station, delivered_seq FROM station_status ORDER BY 1")
    assert delivered == [("bench-01", 3334), ("bench-02", 3333), ("bench-03", 3333)]
    events = query(pg_dsn, "SELECT count(*) FROM events WHERE kind = 'test'")
    assert events == [(10_000,)]


def test_bad_records_are_rejected_with_a_logged_reason(
    pg_dsn: str, mosquitto: Mosquitto, probe: Probe, start_bridge: Callable[..., Bridge]
) -> None:
    bridge = start_bridge(pg_dsn, mosquitto.port)
    probe.subscribe("qms/v1/plant-a/+/ack")
    good = chain(2)
    tampered = dict(good[1], body={"kind": "test", "operator": None, "detail": {"n": 999}})
    schema_bad = seal({**good[0], "id": "x-1", "type": "event", "body": {"kind": 5}})
    t = "qms/v1/plant-a/bench-01/record/event"
    probe.publish_many(
        [
            (t, b"{not json"),
            (t, json.dumps(tampered).encode()),  # hash no longer matches
            (t, json.dumps(schema_bad).encode()),
            ("qms/v1/plant-a/bench-02/record/event", json.dumps(good[0]).encode()),  # other station
            (t, json.dumps(good[0]).encode()),
        ]
    )
    wait_acked(probe, {"bench-01": good[0]}, 20.0)
    reasons = [str(r[0]) for r in query(pg_dsn, "SELECT reason FROM rejects ORDER BY n")]
    assert len(reasons) == 4, reasons
    assert "not acceptable JSON" in reasons[0]
    assert "hash does not match" in reasons[1]
    assert reasons[2].startswith("record schema: $.body")
    assert "topic says" in reasons[3]
    for reason in reasons:
        assert f": {reason}" in bridge.log  # logged with the topic
    assert query(pg_dsn, "SELECT id FROM records") == [("bench-01-1",)]


def test_a_forked_chain_raises_its_alert_and_holds_the_acks(
    pg_dsn: str, mosquitto: Mosquitto, probe: Probe, start_bridge: Callable[..., Bridge]
) -> None:
    bridge = start_bridge(pg_dsn, mosquitto.port)
    probe.subscribe("qms/v1/plant-a/+/ack")
    envs = chain(5)
    probe.publish_records(envs)
    wait_acked(probe, {"bench-01": envs[-1]}, 20.0)
    fork = chain(1, start=3, prev=envs[1]["hash"], tag="-replaced-store")
    probe.publish_records(fork)
    wait_acked(probe, {"bench-01": envs[1]}, 20.0)  # held below the conflict
    assert probe.acks()["bench-01"] == {"seq": 2, "hash": envs[1]["hash"]}
    assert "ERROR station.central: CONFLICT plant-a/bench-01 seq 3 (seq-reused)" in bridge.log
    rows = query(pg_dsn, "SELECT seq, kind, got_id, held_id FROM conflicts")
    assert rows == [(3, "seq-reused", "bench-01-3-replaced-store", "bench-01-3")]


def test_master_data_is_published_retained_at_start_and_on_change(
    pg_dsn: str,
    mosquitto: Mosquitto,
    probe: Probe,
    start_bridge: Callable[..., Bridge],
    tmp_path: Path,
) -> None:
    master = tmp_path / "master"
    master.mkdir()
    doc = json.loads((ROOT / "config/master/instrument-CAL-0042.json").read_text())
    (master / "cal.json").write_text(json.dumps(doc))
    start_bridge(pg_dsn, mosquitto.port, master=master)
    topic = "qms/v1/plant-a/master/instrument/CAL-0042"
    probe.subscribe("qms/v1/plant-a/master/#")
    probe.pump_until(lambda: any(m.topic == topic for m in probe.messages), 10.0, "master")
    first = next(m for m in probe.messages if m.topic == topic)
    assert json.loads(first.payload) == doc
    changed = dict(doc, cal_due="2030-01-01")
    (master / "cal.json").write_text(json.dumps(changed))
    probe.pump_until(
        lambda: any(
            m.topic == topic and json.loads(m.payload or b"{}").get("cal_due") == "2030-01-01"
            for m in probe.messages
        ),
        10.0,
        "changed master",
    )
    (master / "cal.json").unlink()
    probe.pump_until(
        lambda: any(m.topic == topic and m.payload == b"" for m in probe.messages), 10.0, "deleted"
    )


def test_sigterm_exits_0_and_a_bad_config_exits_2_listing_every_problem(
    pg_dsn: str, mosquitto: Mosquitto, start_bridge: Callable[..., Bridge], tmp_path: Path
) -> None:
    bridge = start_bridge(pg_dsn, mosquitto.port)
    assert bridge.proc is not None
    bridge.proc.send_signal(signal.SIGTERM)
    assert bridge.wait_stopped(15.0) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[central]\ngroup = "a b"\nsites = []\n\n[postgres]\ndsn = '
        '"postgresql://qms:secret@db/qms"\n\n[mqtt]\nport = 0\nhots = "x"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "station.central", "-c", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "secret" not in done.stderr  # never a password in the journal
    lines = done.stderr.splitlines()
    assert lines == [
        f'{bad}: central.group: must be 1-64 characters of A-Z a-z 0-9 . _ - (got "a b")',
        f'{bad}: central.sites: must be a non-empty list of site names (or ["+"]) (got [])',
        f"{bad}: postgres.dsn: must not hold a password: put it in postgres.password_file",
        f"{bad}: mqtt.port: must be 1-65535 (got 0)",
        f'{bad}: mqtt.hots: unknown key (got "x"); did you mean "host"?',
    ]


def test_a_station_back_online_gets_its_ack_again_at_once(
    pg_dsn: str, mosquitto: Mosquitto, probe: Probe, start_bridge: Callable[..., Bridge]
) -> None:
    # A station that was away lost the acks sent meanwhile; its birth message brings the
    # last one again (mqtt.md, "Delivery"), without waiting for a record.
    bridge = start_bridge(pg_dsn, mosquitto.port)
    probe.subscribe("qms/v1/plant-a/+/ack")
    envs = chain(5)
    probe.publish_records(envs)
    wait_acked(probe, {"bench-01": envs[-1]}, 20.0)
    before = len(probe.messages)
    birth = {
        "schema": "station.status/1", "site": "plant-a", "station": "bench-01",
        "state": "online", "ts": "2026-12-02T08:00:00.000Z", "last_seq": 5, "pending": 0,
    }  # fmt: skip
    probe.publish_many([("qms/v1/plant-a/bench-01/status", json.dumps(birth).encode())])
    probe.pump_until(
        lambda: any(m.topic.endswith("/ack") for m in probe.messages[before:]),
        10.0,
        "the ack again after the birth message",
    )
    assert json.loads(probe.messages[-1].payload) == {"seq": 5, "hash": envs[-1]["hash"]}
    # A job of statuses alone is a commit, not an outage (it read as one before).
    assert "PostgreSQL unavailable" not in bridge.log
    rows = query(pg_dsn, "SELECT station, state FROM station_status")
    assert rows == [("bench-01", "online")]


def test_a_slow_database_pushes_back_on_the_broker_and_loses_nothing(
    pg_dsn: str, mosquitto: Mosquitto, probe: Probe, start_bridge: Callable[..., Bridge]
) -> None:
    # PostgreSQL stalls (a lock held by another session) while a backlog arrives: the bridge
    # stops reading once 4 batches wait, so the broker, not the bridge's memory, holds the rest;
    # when the lock goes, every record is stored once and acked.
    bridge = start_bridge(pg_dsn, mosquitto.port, extra="batch_max = 50")
    probe.subscribe("qms/v1/plant-a/+/ack")
    envs = chain(2000)
    with psycopg.connect(pg_dsn) as blocker:
        blocker.execute("LOCK TABLE records IN ACCESS EXCLUSIVE MODE")
        probe.publish_records(envs)
        bridge.wait_ready(lambda: "database behind" in bridge.log, 20.0, "the read pause")
        waiting = int(bridge.log.split("database behind: ")[1].split()[0])
        assert waiting < 300, bridge.log  # 4 batches of 50, plus at most one read burst
        blocker.rollback()
    wait_acked(probe, {"bench-01": envs[-1]}, 60.0)
    assert "database caught up" in bridge.log
    assert query(pg_dsn, "SELECT count(*), count(DISTINCT seq) FROM records") == [(2000, 2000)]
