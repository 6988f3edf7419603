"""Retention never depends on the wall clock alone, and an implausible clock is flagged
(issue 13.5). Real store files; the clock is the store's injectable clock, set like
`faketime +400d` would set it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from station.store import Store

START = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def open_store(db: Path, clock: Any, retention_days: int = 30) -> Store:
    return Store.open(
        db, site="plant-a", station="bench-01", retention_days=retention_days, clock=clock
    )


def test_a_clock_400_days_ahead_prunes_nothing_recent(db_path: Path, clock: Any, mk: Any) -> None:
    with open_store(db_path, clock) as s:
        for _ in range(19):
            s.append("event", mk.event())
        s.mark_delivered_upto(19)
        # The daemon starts under `faketime +400d`: seconds-old records look 400 days old.
        assert s.prune(START + timedelta(days=400)) == 0
        assert len(s.records()) == 19


def test_records_older_by_the_store_own_order_are_pruned(
    db_path: Path, clock: Any, mk: Any
) -> None:
    clock.step = timedelta(days=1)
    with open_store(db_path, clock, retention_days=10) as s:
        for _ in range(20):  # day 0..19
            s.append("event", mk.event())
        s.mark_delivered_upto(20)
        # Newest is day 19: only records at least 10 days older (day 0..9) may go, even
        # with the clock a year ahead.
        assert s.prune(START + timedelta(days=400)) == 10
        assert s.records()[0].seq == 11 and s.verify().ok


def test_pruning_keeps_every_inspection_a_suspect_list_can_still_need(
    db_path: Path, clock: Any, mk: Any
) -> None:
    clock.step = timedelta(days=1)
    with open_store(db_path, clock, retention_days=5) as s:
        first = s.append("inspection", mk.inspection(mk.measurement(instrument="CAL-7")))
        for _ in range(9):
            s.append("event", mk.event())
        # CAL-7 was never checked and has no calibration date: a failed check would list
        # every inspection since its first use, so nothing from there on may go.
        s.mark_delivered_upto(s.last_seq())
        assert s.prune(clock.now) == 0
        assert s.record(first.seq) is not None
        # A passing check now ends that window: the inspection before it may go.
        s.append("instrument-check", mk.instrument_check("CAL-7"))
        later = s.append("inspection", mk.inspection(mk.measurement(instrument="CAL-7")))
        for _ in range(10):
            s.append("event", mk.event())
        s.mark_delivered_upto(s.last_seq())
        # CAL-7 needs checks (check_interval_h): its last passing check stays too, or
        # pruning would make the interlock treat a checked instrument as never checked.
        s.apply_master("instrument", "CAL-7", {"id": "CAL-7", "check_interval_h": 8})
        s.mark_delivered_upto(s.last_seq())
        removed = s.prune(clock.now + timedelta(days=400))
        assert removed == 10  # seq 1..10: the old inspection and the events after it
        check = s.last_passing_check("CAL-7")
        assert check is not None and check.seq == 11
        assert [r.seq for r in s.inspections_using("CAL-7", None)] == [later.seq]


def test_pruning_keeps_the_newest_gauge_study_the_gate_reads(
    db_path: Path, clock: Any, mk: Any
) -> None:
    clock.step = timedelta(days=1)
    with open_store(db_path, clock, retention_days=5) as s:
        old = s.append("study", mk.study("CAL-7", "acceptable"))
        s.append("study", mk.study("CAL-7", "unacceptable"))  # seq 2: the newest Type-1
        for _ in range(20):
            s.append("event", mk.event())
        s.mark_delivered_upto(s.last_seq())
        # Issue 17: the gate refuses CAL-7 for its failed Type-1; pruning that record
        # would let the gauge measure the tolerances it failed.
        assert s.prune(clock.now + timedelta(days=400)) == 1
        assert s.record(old.seq) is None
        assert [r.verdict for r in s.study_results("CAL-7")] == ["unacceptable"]
        # A retired instrument measures nothing: its study no longer holds the records.
        s.apply_master("instrument", "CAL-7", {"id": "CAL-7", "status": "retired"})
        s.mark_delivered_upto(s.last_seq())
        assert s.prune(clock.now + timedelta(days=400)) > 0
        assert s.record(2) is None and s.verify().ok


def test_pruning_keeps_an_open_run_of_wrong_pins_and_frees_it_when_the_qms_answers(
    db_path: Path, clock: Any, mk: Any
) -> None:
    clock.step = timedelta(days=1)
    with open_store(db_path, clock, retention_days=5) as s:
        s.append("event", mk.event())
        fail = {"kind": "pin-failed", "operator": "op-23", "detail": {"failures": 1}}
        s.append("event", fail)  # seq 2
        s.append("event", fail | {"detail": {"failures": 2}})
        s.append("event", {"kind": "operator-locked", "operator": "op-23", "detail": {}})
        for _ in range(20):
            s.append("event", mk.event())
        s.mark_delivered_upto(s.last_seq())
        # 21 CFR 11.300(d): the lockout is re-derived from these events; pruning them
        # would unlock op-23 at the next start.
        assert s.prune(clock.now + timedelta(days=400)) == 1
        assert s.record(2) is not None
        # The QMS publishes op-23 again (a new PIN verifier): the run is closed, it may go.
        s.apply_master("operator", "op-23", {"id": "op-23", "pin": "new"}, source="mqtt")
        for _ in range(10):
            s.append("event", mk.event())
        s.mark_delivered_upto(s.last_seq())
        assert s.prune(clock.now + timedelta(days=400)) > 0
        assert s.record(2) is None and s.verify().ok


def test_an_implausible_clock_is_flagged_once_per_open_and_ts_is_kept(
    db_path: Path, clock: Any, mk: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with open_store(db_path, clock) as s:
        s.append("event", mk.event())
    clock.set(START - timedelta(days=3))  # RTC battery: the clock went back
    with caplog.at_level(logging.WARNING, "station.store"), open_store(db_path, clock) as s:
        rec = s.append("event", mk.event())
        again = s.append("event", mk.event())
    flag = s_records(db_path)[1]
    assert flag["type"] == "event" and flag["body"]["kind"] == "clock-implausible"
    assert (
        flag["body"]["detail"]["newest_seq"] == 1
        and "set back" in flag["body"]["detail"]["problem"]
    )
    assert (rec.seq, again.seq) == (3, 4)  # once per open, then the records as asked
    assert rec.ts == flag["ts"] == "2026-11-18T08:00:00.000Z"  # the clock's, not adjusted
    assert any("it was set back" in r.message for r in caplog.records)


def s_records(db: Path) -> list[dict[str, Any]]:
    with Store.open(db, site="plant-a", station="bench-01", readonly=True) as s:
        return [r.envelope() for r in s.records()]


def test_status_shows_a_clock_far_ahead_of_the_newest_record(db_path: Path, mk: Any) -> None:
    with open_store(db_path, lambda: START) as s:
        s.append("event", mk.event())
    with open_store(db_path, lambda: START + timedelta(days=400)) as s:
        st = s.checked_status(s.status())
    assert st.health == "ok"  # a clock warning is not a damaged store
    assert st.clock.startswith("the clock (2027-12-26T08:00:00.000Z) is 400 days after")
