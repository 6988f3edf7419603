"""Issue 13.7: when the store fails, the operator is told nothing was recorded, and it is not.

Before, `_accept` put the value into the in-memory draft and then saved it: when the save
failed the value stayed, and went into the inspection record with the next successful write.
Here the real SQLite store of the workflow is made to fail in two real ways: the connection
turned read-only (what an SD card remounted read-only does) and the database full
(`max_page_count`, SQLite's own "database or disk is full"). After every failed action the
state the bench shows must equal what the store holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from drivers.base import Reading
from station.bench.notice import Notice
from station.bench.workflow import Mode, Workflow
from station.store import Store, StoreError

RD = Callable[[float, str | None, str], Reading]
NO_LIMIT = 1073741823


@contextmanager
def read_only(store: Store) -> Iterator[None]:
    conn = store._conn()
    conn.execute("PRAGMA query_only = 1")
    try:
        yield
    finally:
        conn.execute("PRAGMA query_only = 0")


@contextmanager
def disk_full(store: Store) -> Iterator[None]:
    """Fill the database up to a page limit, so that a record append fails."""
    conn = store._conn()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    try:
        for _ in range(10_000):  # bounded: a few hundred appends fill two pages
            store.append("event", {"kind": "filler", "operator": None, "detail": {"x": "y" * 50}})
    except StoreError as exc:
        assert "full" in str(exc)
    else:
        raise AssertionError("the store never filled up")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA max_page_count = {NO_LIMIT}")


def consistent(wf: Workflow, store: Store) -> None:
    """What the bench shows is what the store holds."""
    d = wf.state.draft
    assert (None if d is None else d.to_doc()) == store.load_draft()


def caliper(wf: Workflow, rd: RD, value: float) -> Notice:
    return wf.reading("caliper", rd(value, "mm", f"01A+{value:08.3f}"))


def values(wf: Workflow) -> dict[tuple[str, int], Any]:
    assert wf.state.draft is not None
    return {k: (m.value, m.verdict) for k, m in wf.state.draft.measurements.items()}


def test_every_action_writes_before_it_changes_the_state(
    wf: Workflow, store: Store, rd: RD
) -> None:
    with read_only(store), pytest.raises(StoreError):
        wf.scan("B-1017")
    assert wf.state.operator is None
    wf.scan("B-1017")
    with read_only(store):
        n = wf.scan("PN-778")
    assert n.refused and "not started" in n.text and wf.state.draft is None
    consistent(wf, store)
    wf.scan("PN-778")
    wf.scan("CAL-0042")
    with read_only(store):
        n = caliper(wf, rd, 12.39)
    assert n.refused and "NOT recorded" in n.text, n.lines()
    assert values(wf) == {}
    consistent(wf, store)
    assert caliper(wf, rd, 12.39).level == "ok"
    wf.redo()
    seq = store.last_seq()
    with read_only(store):
        n = caliper(wf, rd, 12.35)  # the replacement
    assert n.refused and values(wf) == {("bore-dia", 1): (12.39, "pass")}
    assert store.last_seq() == seq  # no reading-replaced event either
    consistent(wf, store)
    assert caliper(wf, rd, 12.35).level == "ok"  # the redo is still armed: it replaces
    assert caliper(wf, rd, 25.0).level == "ok"
    with read_only(store):
        n = wf.judge_attribute(True)  # completes the inspection
    assert n.refused and wf.state.mode is Mode.INSPECTING
    assert ("visual-burr", 1) not in values(wf)
    consistent(wf, store)
    with read_only(store), pytest.raises(StoreError):
        wf.abandon()
    assert wf.state.draft is not None
    consistent(wf, store)
    assert "ACCEPTED" in wf.judge_attribute(True).text
    [insp] = [r for r in store.records() if r.type == "inspection"]
    assert [m["value"] for m in insp.body["measurements"]] == [12.35, 25.0, None]
    replaced = [
        r for r in store.records() if r.type == "event" and r.body["kind"] == "reading-replaced"
    ]
    assert len(replaced) == 1


def test_a_check_completes_only_once_it_is_recorded(wf: Workflow, store: Store, rd: RD) -> None:
    wf.scan("B-1017")
    wf.start_check()
    wf.scan("CAL-0042")
    wf.scan("GB-25")
    caliper(wf, rd, 25.0)
    caliper(wf, rd, 25.0)
    with read_only(store):
        n = caliper(wf, rd, 25.01)
    assert n.refused and "NOT recorded" in n.text
    assert wf.state.check is not None and len(wf.state.check.readings) == 2
    assert not wf.state.check.done
    n = caliper(wf, rd, 25.01)
    assert "PASSED" in n.text
    [check] = [r for r in store.records() if r.type == "instrument-check"]
    assert check.body["raw"] == ["01A+0025.000", "01A+0025.000", "01A+0025.010"]


def test_disk_full_mid_inspection_loses_and_invents_nothing(
    wf: Workflow, store: Store, rd: RD
) -> None:
    wf.scan("B-1017")
    wf.scan("PN-778")
    wf.scan("CAL-0042")
    assert caliper(wf, rd, 12.39).level == "ok"
    wf.redo()
    with disk_full(store):
        n = caliper(wf, rd, 12.35)  # its reading-replaced event cannot be appended
        assert n.refused and "NOT recorded" in n.text, n.lines()
        consistent(wf, store)
        assert values(wf) == {("bore-dia", 1): (12.39, "pass")}
    assert caliper(wf, rd, 12.35).level == "ok"  # taken again once there is room
    assert caliper(wf, rd, 25.0).level == "ok"
    with disk_full(store):
        n = wf.judge_attribute(True)  # the inspection record cannot be appended
        assert n.refused and "NOT recorded" in n.text, n.lines()
        consistent(wf, store)
        assert ("visual-burr", 1) not in values(wf)
    assert "ACCEPTED" in wf.judge_attribute(True).text
    [insp] = [r for r in store.records() if r.type == "inspection"]
    assert [m["value"] for m in insp.body["measurements"]] == [12.35, 25.0, None]
    assert store.verify().ok
    assert store.load_draft() is None
