"""Issue 12.8: refused attempts are `event` records, rate-limited, valid against the contract.

Before, a refused badge or instrument scan was only a line in the bench log (and a blocked
reading an event without any limit): Part 11 / ALCOA+ want attempts in the audit trail, and a
stuck scanner must not flood the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drivers.base import Reading
from station.bench.workflow import Workflow
from station.schemas import schema_errors
from station.settings import Config
from station.store import Store

RD = Callable[[float, str | None, str], Reading]


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def events(store: Store, kind: str) -> list[dict[str, Any]]:
    out = []
    for r in store.records():
        env = r.envelope()
        assert schema_errors("record", env) == [], env  # every event validates
        if r.type == "event" and r.body["kind"] == kind:
            out.append(r.body)
    return out


def test_each_refusal_kind_is_an_event(store: Store, config: Config, clock: Any, rd: RD) -> None:
    doc = store.master_doc("operator", "op-17")
    assert doc is not None
    gone = doc | {"id": "op-99", "name": "C. Left", "badge": "B-1099", "active": False}
    store.bootstrap_master([("operator", "op-99", gone)])
    wf = Workflow(store, config, clock)
    assert wf.scan("B-1099").level == "error"
    wf.scan("B-1023")  # DIM-2 expired
    assert wf.scan("PN-778").level == "error"
    wf.logout("test")
    wf.scan("B-1017")
    assert wf.scan("B-1023").level == "error"  # someone else is logged in
    assert wf.scan("CAL-0007").level == "error"
    wf.scan("PN-778")
    assert wf.reading("caliper", rd(12.35, "mm", "01A+0012.350")).refused
    login = events(store, "login-refused")
    assert [e["detail"]["operator_id"] for e in login] == ["op-99", "op-23"]
    assert login[0]["operator"] is None and "not active" in login[0]["detail"]["reasons"][0]
    insp = events(store, "inspection-refused")
    assert insp[0]["operator"] == "op-23" and "DIM-2" in insp[0]["detail"]["reasons"][0]
    inst = events(store, "instrument-refused")
    assert inst[0]["detail"]["instrument"] == "CAL-0007" and inst[0]["operator"] == "op-17"
    reading = events(store, "reading-refused")
    assert reading[0]["detail"]["instrument"] == "CAL-0007"
    assert reading[0]["detail"]["raw"] == "01A+0012.350"


def test_a_stuck_scanner_writes_one_event_per_window_and_counts_the_rest(
    store: Store, config: Config, clock: Any
) -> None:
    ticks = Ticks()
    wf = Workflow(store, config, clock, monotonic=ticks, audit_window_s=30)
    wf.scan("B-1017")
    for _ in range(50):  # the trigger is stuck: the same refused label, 10 per second
        assert wf.scan("CAL-0007").level == "error"
        ticks.t += 0.1
    assert len(events(store, "instrument-refused")) == 1
    ticks.t += 30
    wf.scan("CAL-0007")
    written = events(store, "instrument-refused")
    assert [e["detail"]["suppressed"] for e in written] == [0, 49]
    for _ in range(5):
        wf.scan("CAL-0007")
    wf.scan("MIC-0099")  # another subject is not folded into the first
    assert len(events(store, "instrument-refused")) == 3
    wf.logout("end of shift")  # the repeats still owed are written
    summary = events(store, "instrument-refused")[-1]
    assert summary["detail"]["suppressed"] == 5 and summary["detail"]["summary"] is True
    assert summary["detail"]["instrument"] == "CAL-0007"


def test_an_attempt_the_store_cannot_take_is_carried_by_the_next(
    store: Store, config: Config, clock: Any
) -> None:
    ticks = Ticks()
    wf = Workflow(store, config, clock, monotonic=ticks, audit_window_s=30)
    wf.scan("B-1017")
    conn = store._conn()
    conn.execute("PRAGMA query_only = 1")  # the card went read-only
    n = wf.scan("CAL-0007")
    assert n.level == "error" and any("overdue" in d for d in n.details)  # still refused
    conn.execute("PRAGMA query_only = 0")
    wf.scan("CAL-0007")  # at once: the failed one is owed, so this one is written
    [event] = events(store, "instrument-refused")
    assert event["detail"]["suppressed"] == 1


def test_attempt_log_windows_are_per_kind_and_subject() -> None:
    from station.bench.audit import AttemptLog  # here: the other tests run on any version

    log = AttemptLog(window_s=10)
    assert log.admit("k", "a", 0.0, {}) == 0
    log.written("k", "a", 0.0)
    assert log.admit("k", "a", 9.9, {"n": 1}) is None
    assert log.admit("k", "b", 9.9, {}) == 0  # another subject
    assert log.admit("j", "a", 9.9, {}) == 0  # another kind
    assert log.admit("k", "a", 10.0, {}) == 1
    log.written("k", "a", 10.0)
    assert log.owed() == []
