"""QMS acks `{"seq": N, "hash": H}` (contract mqtt.md, "Delivery", revision 1.1): the daemon
accepts one only for a seq it has published and whose hash is its own record's, and the
reference central never acks past a conflict. Real mosquitto, `station sync` as a process, the
central as a process, and a raw paho client forging acks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sim.net import wait_until

pytestmark = pytest.mark.mosquitto

ACK = "qms/v1/plant-a/bench-01/ack"


def ack(seq: int, digest: str) -> bytes:
    return json.dumps({"seq": seq, "hash": digest}).encode()


def own_hash(st: Any, seq: int) -> str:
    with st.store() as s:
        return str(s.record(seq).hash)


def state_of(st: Any, seq: int) -> str | None:
    with st.store() as s:
        return s.delivery_state(seq)  # type: ignore[no-any-return]


def test_a_forged_ack_marks_nothing_delivered(
    mosquitto: Any, station_env: Callable[..., Any], probe_factory: Any
) -> None:
    # One record a second: most of the 50 are still unpublished when the forger acks.
    st = station_env(mosquitto.port, max_rate=1, inflight_window=1, resend_after_s=60)
    st.fill(50)
    daemon = st.start()
    daemon.wait_log("connected to", 15.0)
    wait_until("seq 1 published", lambda: state_of(st, 1) == "published", 15.0)
    forger = probe_factory(mosquitto.port, "forger")

    # The forger even knows the right hash of record 50: it was never published, so no ack
    # for it can be true.
    forger.publish(ACK, ack(50, own_hash(st, 50)))
    daemon.wait_log("ignoring an ack for seq 50: this station has not published it", 10.0)
    # A published seq with a hash that is not the station's: no delivery either.
    forger.publish(ACK, ack(1, "ab" * 32))
    daemon.wait_log("ack hash mismatch at seq 1", 10.0)
    forger.publish(ACK, json.dumps({"seq": 1}).encode())  # revision 1.0 form: no hash
    daemon.wait_log("ignoring an invalid ack", 10.0)
    forger.publish(ACK, ack(10_000, "cd" * 32))
    daemon.wait_log("this station holds no record 10000", 10.0)
    assert st.pending() == 50
    status = st.cli_status()
    assert status["pending"] == 50 and status["delivered_seq"] == 0
    assert status["conflict"]["seq"] == 1
    assert "ack hash mismatch at seq 1" in status["conflict"]["detail"]

    # The true ack of a published record is accepted, and clears the conflict it answers.
    forger.publish(ACK, ack(1, own_hash(st, 1)))
    st.wait_pending(lambda n: n == 49, 10.0, "seq 1 delivered by its true ack")
    wait_until("conflict cleared", lambda: "conflict" not in st.cli_status(), 10.0)
    assert daemon.alive()
    assert daemon.terminate() == 0


def test_a_restored_older_store_keeps_its_new_records_pending_until_resolved(
    mosquitto: Any,
    station_env: Callable[..., Any],
    start_central: Callable[..., Any],
    kit: Any,
    tmp_path: Path,
) -> None:
    central_db = tmp_path / "central.db"
    central = start_central(mosquitto.port)
    st = station_env(mosquitto.port)
    st.fill(20)
    backup = tmp_path / "backup.db"
    with st.store() as s:  # a consistent copy of the store at 20 records (all pending)
        s._conn().execute(f"VACUUM INTO '{backup}'")
    st.fill(20)
    daemon = st.start()
    st.wait_pending(lambda n: n == 0, 30.0, "40 records delivered")
    assert daemon.terminate() == 0

    # The older copy comes back; 15 new records reuse seq 21..35, which the QMS holds.
    for suffix in ("", "-wal", "-shm", "-mark"):  # as on a fresh SD card
        Path(f"{st.db}{suffix}").unlink(missing_ok=True)
    st.db.write_bytes(backup.read_bytes())
    st.fill(15)
    mark = len(daemon.log)
    daemon = st.start()

    # 1..20 are the QMS's own: acked and delivered. 21..35 conflict: never acked.
    st.wait_pending(lambda n: n == 15, 30.0, "seq 1..20 delivered again")
    daemon.wait_log("the QMS keeps acking seq 20 after seq 21 was published again", 40.0)
    status = st.cli_status()
    assert status["pending"] == 15 and status["delivered_seq"] == 20
    assert status["conflict"]["seq"] == 21
    assert "ERROR" in daemon.log[mark:]

    summary = read_central(central_db)
    held = summary["stations"]["plant-a/bench-01"]["held_conflicts"]
    assert [c["seq"] for c in held] == list(range(21, 36))
    assert summary["stations"]["plant-a/bench-01"]["unique"] == 40  # the QMS's records kept
    assert "CONFLICT plant-a/bench-01 seq 21: seq 21 already held by" in central.log
    table = run_central("--conflicts", "--db", str(central_db))
    assert "seq-reused" in table and "plant-a/bench-01" in table

    # A person decides the station's records win (docs/operations.md): the QMS's old ones
    # from seq 21 on are moved aside, the station's re-sent ones stored and acked.
    out = run_central("--resolve", "plant-a/bench-01", "--db", str(central_db))
    assert "20 held records moved" in out
    st.wait_pending(lambda n: n == 0, 60.0, "the new 21..35 delivered after the resolution")
    wait_until("conflict cleared", lambda: "conflict" not in st.cli_status(), 10.0)
    summary = kit.wait_summary(central_db, lambda s: s["held_conflicts"] == 0, 10.0, "resolved")
    assert summary["stations"]["plant-a/bench-01"]["contiguous_seq"] == 35
    assert summary["chain_valid"] is True
    assert daemon.terminate() == 0


def test_a_fresh_store_under_a_known_station_id_is_never_acked(
    mosquitto: Any,
    station_env: Callable[..., Any],
    start_central: Callable[..., Any],
    probe_factory: Any,
    kit: Any,
    tmp_path: Path,
) -> None:
    central_db = tmp_path / "central.db"
    start_central(mosquitto.port)
    probe = probe_factory(mosquitto.port)
    probe.subscribe(ACK)
    old = kit.make_chain(40)
    probe.publish_many([(kit.record_topic(r), kit.canonical(r)) for r in old])
    probe.pump_until(lambda: len(probe.payloads(ACK)) > 0, 10.0, "the central acks the old 40")
    assert json.loads(probe.payloads(ACK)[-1]) == {"seq": 40, "hash": old[-1]["hash"]}
    probe.messages.clear()

    st = station_env(mosquitto.port)
    st.fill(100)  # seq 1..100 again, other records
    daemon = st.start()
    kit.wait_summary(central_db, lambda s: s["held_conflicts"] >= 20, 20.0, "conflicts held")
    probe.pump(1.0)
    assert probe.payloads(ACK) == []  # seq 1 conflicts: nothing may be acked
    assert st.pending() == 100

    # A QMS that acks the seq it holds anyway (the reference central did, before revision
    # 1.1) is caught by the hash: no delivery, and the conflict is shown.
    probe.publish(ACK, ack(40, old[39]["hash"]))
    daemon.wait_log("ack hash mismatch at seq 40", 10.0)
    status = st.cli_status()
    assert status["pending"] == 100 and status["conflict"]["seq"] == 40
    assert daemon.terminate() == 0


def read_central(db: Path) -> dict[str, Any]:
    return json.loads(run_central("--summary", "--db", str(db)))  # type: ignore[no-any-return]


def run_central(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "sim.central", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout
