"""Instrument checks: who may check (12.15), the suspect text (12.13), suspects in record
order under a clock jump (13.11)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from drivers.base import Reading
from station.bench.notice import Notice
from station.bench.workflow import Workflow
from station.store import Store

RD = Callable[[float, str | None, str], Reading]


def caliper(wf: Workflow, rd: RD, value: float) -> Notice:
    return wf.reading("caliper", rd(value, "mm", f"01A+{value:08.3f}"))


def check(wf: Workflow, rd: RD, values: tuple[float, ...]) -> Notice:
    assert wf.start_check().level == "info"
    assert wf.scan("CAL-0042").level == "ok"
    assert wf.scan("GB-25").level == "info"
    for v in values:
        n = caliper(wf, rd, v)
    wf.leave_check()
    return n


def inspect(wf: Workflow, rd: RD, serial: str) -> str:
    assert wf.scan("0109506000134352" + f"21{serial}").level == "ok"
    assert wf.scan("CAL-0042").level == "ok"
    assert caliper(wf, rd, 12.35).level == "ok"
    assert caliper(wf, rd, 25.0).level == "ok"
    assert "ACCEPTED" in wf.judge_attribute(True).text
    assert wf.state.last_inspection is not None
    return wf.state.last_inspection.id


def test_operator_with_expired_inspection_qualification_may_not_check(
    wf: Workflow, store: Store
) -> None:
    wf.scan("B-1023")  # B. Trainee: DIM-2 expired, which every caliper plan requires
    wf.start_check()
    n = wf.scan("CAL-0042")
    assert n.level == "error" and "may not check CAL-0042" in n.text, n.lines()
    assert any("DIM-2" in d and "expired" in d for d in n.details)
    assert wf.state.check is not None and wf.state.check.instrument is None
    [event] = [
        r.body for r in store.records() if r.type == "event" and r.body["kind"] == "check-refused"
    ]
    assert event["operator"] == "op-23" and event["detail"]["instrument"] == "CAL-0042"
    wf.leave_check()
    wf.logout("test")
    wf.scan("B-1017")  # qualified
    wf.start_check()
    assert wf.scan("CAL-0042").level == "ok"


def test_an_instrument_type_no_plan_measures_with_needs_no_qualification(
    wf: Workflow, store: Store
) -> None:
    doc = store.master_doc("instrument", "CAL-0042")
    assert doc is not None
    store.bootstrap_master(
        [("instrument", "HG-0001", doc | {"id": "HG-0001", "type": "height-gauge"})]
    )
    wf.refresh_master()
    wf.scan("B-1023")
    wf.start_check()
    assert wf.scan("HG-0001").level == "ok"


def test_failed_check_without_suspects_says_so_without_a_dangling_colon(
    wf: Workflow, rd: RD
) -> None:
    wf.scan("B-1017")
    n = check(wf, rd, (25.05, 25.06, 25.05))
    assert "FAILED" in n.text
    assert not n.text.endswith(":") and "none is suspect" in n.text, n.text
    assert n.details == ()


def test_suspect_list_uses_record_order_under_a_clock_set_back(
    wf: Workflow, store: Store, clock: Any, rd: RD
) -> None:
    wf.scan("B-1017")
    before = inspect(wf, rd, "A0")  # covered by the passing check below: not suspect
    assert "PASSED" in check(wf, rd, (25.0, 25.0, 25.0)).text
    ids = []
    for i, serial in enumerate(("A1", "A2", "A3")):
        clock.now -= timedelta(hours=3 if i == 0 else 0, minutes=1)  # NTP set it back
        ids.append(inspect(wf, rd, serial))
    failed = check(wf, rd, (25.05, 25.06, 25.05))
    assert "3 inspection(s) since" in failed.text
    suspect = next(r for r in store.records() if r.type == "suspect")
    assert suspect.body["inspections"] == ids and before not in ids
    passing = store.last_passing_check("CAL-0042")
    assert passing is not None and suspect.body["since"] == passing.ts  # the contract's field
    assert [p["serial"] for p in suspect.body["parts"]] == ["A1", "A2", "A3"]
