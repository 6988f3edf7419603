"""Delivery bookkeeping, the storage budget and retention pruning."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from station.store import StorageBudgetExceeded, Store, StoreError


def test_records_move_from_pending_to_published_to_delivered(store: Store, mk: Any) -> None:
    recs = [store.append("event", mk.event()) for _ in range(4)]
    assert [r.seq for r in store.pending()] == [1, 2, 3, 4]
    assert store.pending(after_seq=2, limit=1) == [recs[2]]
    store.mark_published([1, 2])
    assert [store.delivery_state(s) for s in (1, 2, 3, 99)] == [
        "published",
        "published",
        "pending",
        None,
    ]
    assert [r.seq for r in store.pending()] == [1, 2, 3, 4]  # published is still undelivered
    assert store.mark_delivered([1]) == 1
    assert store.delivery_state(1) == "delivered"
    assert store.mark_delivered([1]) == 0  # a duplicate PUBACK changes nothing


def test_delivered_seq_is_the_highest_contiguous_delivered(store: Store, mk: Any) -> None:
    for _ in range(6):
        store.append("event", mk.event())
    assert store.delivered_seq() == 0
    assert store.mark_delivered([2, 3, 5]) == 3  # broker mode: PUBACKs out of order
    assert store.delivered_seq() == 0
    store.mark_delivered([1])
    assert store.delivered_seq() == 3
    assert [r.seq for r in store.pending()] == [4, 6]
    assert store.mark_delivered_upto(4) == 1  # central mode: every seq <= 4
    assert store.delivered_seq() == 5
    assert store.mark_delivered_upto(100) == 1
    assert store.delivered_seq() == 6 and store.pending() == []
    status = store.status()
    assert (status.last_seq, status.pending, status.oldest_pending_ts) == (6, 0, None)


def test_empty_store_status(store: Store) -> None:
    assert store.status().as_dict() | {"db_bytes": 0} == {
        "last_seq": 0,
        "pending": 0,
        "delivered_seq": 0,
        "oldest_pending_ts": None,
        "db_bytes": 0,
        "health": "ok",
        "problems": [],
        "clock": "ok",
    }
    assert store.verify().ok and store.verify().checked == 0


def test_budget_refuses_new_inspections_with_the_reason_then_accepts_after_delivery(
    db_path: Path, clock: Any, mk: Any
) -> None:
    with Store.open(db_path, site="plant-a", station="bench-01", budget_mb=0.01, clock=clock) as s:
        s.check_can_start_inspection()
        while True:
            s.append("inspection", mk.inspection())
            try:
                s.check_can_start_inspection()
            except StorageBudgetExceeded as exc:
                refused = exc
                break
        assert 5 <= s.last_seq() <= 30  # ~0.7 kB per record against a 10 kB budget
        message = str(refused)
        assert message.startswith("storage budget reached: ")
        assert "MB of records not yet delivered to the QMS (budget 0.01 MB;" in message
        assert f"{s.last_seq()} records, oldest from 2026-11-21T08:00:00.000Z" in message
        assert message.endswith(
            "new inspections are refused until the sync daemon delivers them — "
            "check the network/broker (station status)"
        )
        # Appends are never refused: an inspection in progress still completes.
        done = s.append("inspection", mk.inspection())
        with pytest.raises(StorageBudgetExceeded, match="storage budget reached"):
            s.check_can_start_inspection()
        # Nothing undelivered is ever deleted to make room.
        assert s.prune(datetime(2030, 1, 1, tzinfo=UTC)) == 0
        assert len(s.records(limit=1000)) == done.seq
        s.mark_delivered_upto(done.seq)
        s.check_can_start_inspection()
        assert s.verify().ok


def test_prune_removes_old_delivered_prefix_and_chain_stays_verifiable(
    db_path: Path, clock: Any, mk: Any
) -> None:
    clock.step = timedelta(days=1)
    with Store.open(
        db_path, site="plant-a", station="bench-01", retention_days=30, clock=clock
    ) as s:
        recs = [s.append("inspection", mk.inspection(serial=f"SN-{i}")) for i in range(60)]
        # A passing check of CAL-0042 after seq 45: the inspections before it can no longer
        # be on its suspect list, so retention may take them (`retention`, rule 3).
        s.apply_master("instrument", "CAL-0042", {"id": "CAL-0042", "calibrated": "2027-01-10"})
        s.mark_delivered_upto(40)
        s.mark_delivered([45])  # delivered but behind an undelivered record: kept
        now = datetime.fromisoformat(recs[-1].ts)  # record i is i days old relative to 59
        assert s.prune(now) == 29  # ts older than 30 days: seq 1..29
        assert s.record(29) is None and s.record(30) == recs[29]
        result = s.verify()
        assert (result.ok, result.checked, result.last_seq) == (True, 32, 61)
        assert s.inspections_by_serial("SN-5") == []
        assert [r.seq for r in s.recent_inspections(100)][-1] == 30
        assert s.last_values("P-1001", "bore-dia", n=1000) == [12.346] * 60  # SPC kept
        # The chain continues after pruning.
        nxt = s.append("event", mk.event())
        assert (nxt.seq, nxt.prev) == (62, s.record(61).hash)  # type: ignore[union-attr]
        assert s.prune(now) == 0
        assert s.delivery_state(3) == "delivered"
    with (
        closing(sqlite3.connect(db_path)) as conn,
        pytest.raises(sqlite3.IntegrityError, match="append-only: DELETE"),
    ):
        conn.execute("DELETE FROM records WHERE seq = 30")


def test_prune_never_removes_undelivered_or_the_newest_record(
    db_path: Path, clock: Any, mk: Any
) -> None:
    clock.step = timedelta(days=10)
    with Store.open(
        db_path, site="plant-a", station="bench-01", retention_days=1, clock=clock
    ) as s:
        for _ in range(5):
            s.append("event", mk.event())
        far = datetime(2031, 1, 1, tzinfo=UTC)
        assert s.prune(far) == 0  # nothing delivered
        s.mark_delivered_upto(5)
        assert s.prune(far) == 4  # the newest stays: it carries the chain head
        assert [r.seq for r in s.records()] == [5]
        assert s.verify().ok and s.status().delivered_seq == 5
        assert s.append("event", mk.event()).seq == 6


def test_prune_is_off_without_retention(store: Store, mk: Any) -> None:
    store.append("event", mk.event())
    store.mark_delivered_upto(1)
    assert store.prune(datetime(2040, 1, 1, tzinfo=UTC)) == 0


def test_invalid_retention_is_refused(db_path: Path) -> None:
    with pytest.raises(StoreError, match="retention_days must be >= 0"):
        Store.open(db_path, site="p", station="b", retention_days=-1)
