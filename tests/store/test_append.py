"""The one write path: seq, id, ts, prev and hash as the contract defines them."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from station.store import Record, RecordInvalid, Store, StoreError

ZERO = "0" * 64


def contract_hash(env: dict[str, Any]) -> str:
    """mqtt.md, written out independently: sha256 of canonical JSON without `hash`."""
    without = {k: v for k, v in env.items() if k != "hash"}
    text = json.dumps(without, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_records_are_chained_with_gap_free_seq_and_contract_hashes(store: Store, mk: Any) -> None:
    first = store.append("event", mk.event())
    second = store.append("inspection", mk.inspection())
    third = store.append("instrument-check", mk.instrument_check())
    assert [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert first.prev == ZERO
    assert second.prev == first.hash and third.prev == second.hash
    for rec in (first, second, third):
        env = rec.envelope()
        assert env["schema"] == "station.record/1"
        assert (env["site"], env["station"]) == ("plant-a", "bench-01")
        assert rec.hash == contract_hash(env)
    assert store.last_seq() == 3
    assert store.record(2) == second
    assert store.records(after_seq=1) == [second, third]


def test_ts_comes_from_the_injected_clock_and_id_is_a_uuid7_of_that_moment(
    store: Store, mk: Any, clock: Any
) -> None:
    rec = store.append("event", mk.event())
    assert rec.ts == "2026-11-21T08:00:00.000Z"
    assert rec.id[14] == "7"  # version nibble
    ms = int(rec.id.replace("-", "")[:12], 16)
    ts_ms = int(datetime(2026, 11, 21, 8, 0, tzinfo=clock.now.tzinfo).timestamp() * 1000)
    # The generator is process-wide and monotonic: an earlier test's ids may hold it up to
    # 10 s ahead of this (reset) fake clock, never behind it.
    assert ts_ms <= ms < ts_ms + 10_000


def test_payload_is_the_canonical_envelope_with_hash(store: Store, mk: Any) -> None:
    rec = store.append("event", {"kind": "login", "operator": "Zoë", "detail": {"b": 1, "a": 2}})
    payload = rec.payload()
    parsed = json.loads(payload)
    assert parsed == rec.envelope()
    assert payload == json.dumps(
        parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    assert "Zoë".encode() in payload


def test_body_is_stored_as_json_round_trip(store: Store) -> None:
    rec = store.append("event", {"kind": "x", "operator": None, "detail": {"t": (1, 2)}})
    assert rec.body["detail"]["t"] == [1, 2]
    assert store.record(rec.seq) == rec


def test_invalid_record_is_refused_with_the_schema_problems_and_nothing_written(
    store: Store, mk: Any
) -> None:
    store.append("event", mk.event())
    bad = mk.inspection()
    del bad["operator"]
    bad["result"] = "maybe"
    with pytest.raises(RecordInvalid, match=r"does not match record\.schema\.json") as err:
        store.append("inspection", bad)
    assert any("'operator' is a required property" in p for p in err.value.problems)
    assert any("'maybe' is not one of" in p for p in err.value.problems)
    assert "nothing written" in str(err.value)
    assert store.last_seq() == 1
    assert store.status().pending == 1


def test_unknown_type_and_non_json_bodies_are_refused(store: Store, mk: Any) -> None:
    with pytest.raises(RecordInvalid, match="record type 'audit' is not one of"):
        store.append("audit", mk.event())  # type: ignore[arg-type]
    with pytest.raises(RecordInvalid, match="not plain JSON data"):
        store.append("event", {"kind": "x", "operator": None, "detail": {"v": float("nan")}})
    with pytest.raises(RecordInvalid, match="not plain JSON data"):
        store.append("event", {"kind": "x", "operator": None, "detail": {"v": object()}})
    assert store.last_seq() == 0


def test_append_many_is_one_transaction_all_or_nothing(store: Store, mk: Any) -> None:
    recs = store.append_many([("event", mk.event()), ("inspection", mk.inspection())])
    assert [r.seq for r in recs] == [1, 2] and recs[1].prev == recs[0].hash
    bad = mk.event()
    del bad["detail"]
    with pytest.raises(RecordInvalid, match=r"record 2 of 3 \('event'\)"):
        store.append_many([("event", mk.event()), ("event", bad), ("event", mk.event())])
    assert store.last_seq() == 2
    assert store.append_many([]) == []
    assert store.verify().ok


def test_naive_clock_is_a_clear_error_and_writes_nothing(db_path: Path, mk: Any) -> None:
    with Store.open(db_path, site="s", station="b", clock=datetime.now) as s:
        with pytest.raises(ValueError, match="clock reading must be timezone-aware"):
            s.append("event", mk.event())
        assert s.last_seq() == 0


def test_records_survive_reopening_and_the_chain_continues(
    db_path: Path, clock: Any, mk: Any
) -> None:
    with Store.open(db_path, site="plant-a", station="bench-01", clock=clock) as s:
        first = s.append("event", mk.event())
    clock.set(clock.now + timedelta(days=1))
    with Store.open(db_path, site="plant-a", station="bench-01", clock=clock) as s:
        second = s.append("event", mk.event())
        assert (second.seq, second.prev) == (2, first.hash)
        assert s.verify().ok


def test_open_refuses_bad_arguments_and_non_database_files(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="station id 'bench 01' must be 1-64 characters"):
        Store.open(tmp_path / "a.db", site="plant-a", station="bench 01")
    with pytest.raises(StoreError, match="storage budget must be > 0"):
        Store.open(tmp_path / "a.db", site="plant-a", station="b", budget_mb=0)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"junk\.db: cannot open the record store"):
        Store.open(junk, site="plant-a", station="b")


def test_a_closed_store_says_so(store: Store, mk: Any) -> None:
    store.close()
    store.close()
    with pytest.raises(StoreError, match="the store is closed"):
        store.append("event", mk.event())


def test_record_equality_is_by_value(store: Store, mk: Any) -> None:
    rec = store.append("event", mk.event())
    assert Record.from_envelope(rec.envelope(), rec.hash) == rec
