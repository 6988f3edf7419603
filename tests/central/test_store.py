"""The central database on a real PostgreSQL: one row per id, the chain walked in the
database, conflicts kept aside, rejects kept with their reason (contract mqtt.md, "Delivery",
"Several consumers")."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from station.central.check import Rejected, Valid, check_record
from station.central.migrations import LATEST
from station.central.store import CentralStore
from tests.central.conftest import chain, query


def checked(envs: list[dict[str, Any]]) -> list[Valid]:
    out = []
    for e in envs:
        topic = f"qms/v1/{e['site']}/{e['station']}/record/{e['type']}"
        v = check_record(topic, json.dumps(e).encode())
        assert isinstance(v, Valid), v
        out.append(v)
    return out


_open: list[CentralStore] = []


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


def open_store(dsn: str, replica: str = "t1") -> CentralStore:
    store = CentralStore(dsn, replica=replica)
    _open.append(store)
    store.connect()
    return store


def test_migrations_are_applied_once_by_concurrent_replicas(pg_dsn: str) -> None:
    stores = [CentralStore(pg_dsn, replica=f"r{i}") for i in range(3)]
    _open.extend(stores)
    threads = [threading.Thread(target=s.connect) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(s.connected for s in stores)
    rows = query(pg_dsn, "SELECT version FROM schema_migrations ORDER BY version")
    assert [r[0] for r in rows] == list(range(1, LATEST + 1))
    # Migration 3: the payloads are compressed with lz4 (Debian's PostgreSQL has it), the
    # server CPU per record the bench measured; a stored row reads back unchanged.
    rows = query(
        pg_dsn,
        "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = 'records'::regclass"
        " AND attname IN ('payload', 'body') ORDER BY attname",
    )
    assert rows == [("body", "l"), ("payload", "l")]
    envs = chain(1, tag="-lz4")
    stores[0].ingest(checked(envs), [])
    (payload,) = query(pg_dsn, "SELECT payload FROM records WHERE id = %s", envs[0]["id"])
    assert json.loads(payload[0]) == envs[0]


def test_out_of_order_records_are_acked_only_when_contiguous(pg_dsn: str) -> None:
    store = open_store(pg_dsn)
    envs = chain(10)
    got = store.ingest(checked(envs[5:]), [])
    assert got.stored == 5 and got.acks == {}  # 1..5 missing: nothing may be acked
    got = store.ingest(checked(envs[:5]), [])
    assert got.acks == {("plant-a", "bench-01"): (10, envs[9]["hash"])}
    again = store.ingest(checked(envs[2:4] + envs[2:3]), [])
    assert (again.stored, again.duplicates) == (0, 3)
    assert again.acks == {("plant-a", "bench-01"): (10, envs[9]["hash"])}  # re-acked
    assert query(pg_dsn, "SELECT count(*) FROM records")[0][0] == 10


def test_two_replicas_storing_neighbours_at_once_ack_the_whole_run(pg_dsn: str) -> None:
    a, b = open_store(pg_dsn, "a"), open_store(pg_dsn, "b")
    envs = chain(400)
    odd = [e for e in envs if e["seq"] % 2]
    even = [e for e in envs if not e["seq"] % 2]
    results: dict[str, Any] = {}
    threads = [
        threading.Thread(
            target=lambda s=s, k=k, part=part: results.__setitem__(
                k, [s.ingest(checked(part[i : i + 20]), []) for i in range(0, len(part), 20)]
            )
        )
        for s, k, part in ((a, "a", odd), (b, "b", even))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    best = max(
        r.acks.get(("plant-a", "bench-01"), (0, ""))[0] for rs in results.values() for r in rs
    )
    assert best == 400
    assert query(pg_dsn, "SELECT delivered_seq FROM station_status")[0][0] == 400


def test_a_forked_chain_is_kept_aside_and_holds_the_acks_below_it(pg_dsn: str) -> None:
    store = open_store(pg_dsn)
    envs = chain(6)
    store.ingest(checked(envs), [])
    fork = chain(1, start=4, prev=envs[2]["hash"], tag="-other")  # seq 4 again, another record
    got = store.ingest(checked(fork), [])
    assert [(c.seq, c.kind) for c in got.new_conflicts] == [(4, "seq-reused")]
    assert got.acks == {("plant-a", "bench-01"): (3, envs[2]["hash"])}
    again = store.ingest(checked(fork), [])  # re-sent: kept once, reported once
    assert again.new_conflicts == []
    rows = query(pg_dsn, "SELECT seq, kind, got_id, held_id FROM conflicts")
    assert rows == [(4, "seq-reused", "bench-01-4-other", "bench-01-4")]
    assert query(pg_dsn, "SELECT id FROM records WHERE seq = 4")[0][0] == "bench-01-4"


def test_a_broken_prev_link_is_a_conflict(pg_dsn: str) -> None:
    store = open_store(pg_dsn)
    envs = chain(3) + chain(2, start=4, prev="f" * 64)
    got = store.ingest(checked(envs), [])
    assert got.acks == {("plant-a", "bench-01"): (3, envs[2]["hash"])}
    assert [(c.seq, c.kind) for c in got.new_conflicts] == [(4, "broken-link")]


def test_rejects_are_kept_with_their_reason(pg_dsn: str) -> None:
    store = open_store(pg_dsn)
    bad = check_record("qms/v1/plant-a/bench-01/record/event", b"{not json")
    assert isinstance(bad, Rejected)
    store.ingest([], [bad])
    rows = query(pg_dsn, "SELECT topic, reason FROM rejects")
    assert rows[0][0] == "qms/v1/plant-a/bench-01/record/event"
    assert "not acceptable JSON" in str(rows[0][1])


def test_the_views_flatten_the_bodies_and_list_every_signature(pg_dsn: str, tmp_path: Any) -> None:
    # What a BI tool or the QMS reads (docs/central.md, "Integration"); the signatures view
    # is the 21 CFR 11.50 manifestation of each signature, one row each.
    from station.store import Store
    from tests.helpers import records as mk

    def sig(op: str, name: str, method: str) -> dict[str, Any]:
        ts = "2026-11-21T09:00:01.000Z"
        return {"operator": op, "name": name, "meaning": "authorship", "ts": ts, "method": method}

    with Store.open(tmp_path / "s.db", site="plant-a", station="bench-01") as s:
        recs = [
            s.append("inspection", mk.inspection(mk.measurement(), mk.measurement("seat-dia"))),
            s.append("study", mk.study() | {"signatures": [sig("op-17", "A. Inspector", "pin")]}),
            s.append(
                "event",
                mk.event("reading-replaced")
                | {"signatures": [sig("op-23", "B. Trainee", "badge+pin")]},
            ),
        ]
        valid = [
            check_record(f"qms/v1/plant-a/bench-01/record/{r.type}", r.payload()) for r in recs
        ]
    assert all(isinstance(v, Valid) for v in valid), valid
    store = open_store(pg_dsn)
    store.ingest([v for v in valid if isinstance(v, Valid)], [])
    assert query(pg_dsn, "SELECT count(*) FROM measurements") == [(2,)]
    assert query(pg_dsn, "SELECT kind, instrument, verdict FROM studies") == [
        ("type-1", "CAL-0042", "unacceptable")
    ]
    rows = query(
        pg_dsn,
        "SELECT record_id, type, kind, position, operator, name, meaning, method"
        " FROM signatures ORDER BY seq",
    )
    assert rows == [
        (recs[1].id, "study", "type-1", 1, "op-17", "A. Inspector", "authorship", "pin"),
        (
            recs[2].id,
            "event",
            "reading-replaced",
            1,
            "op-23",
            "B. Trainee",
            "authorship",
            "badge+pin",
        ),
    ]
