"""Issue 12.1: a refused instrument must not leave the previous one bound to the input.

At the bench the instrument in the inspector's hand is the one last scanned. Before the fix a
refused scan of CAL-0007 left CAL-0042 bound, and the next reading (taken with CAL-0007) was
recorded under CAL-0042 with its cal_due: the interlock was defeated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drivers.base import Reading
from station.bench.notice import Notice
from station.bench.workflow import Mode, Workflow
from station.schemas import schema_errors
from station.settings import Config
from station.store import Store

RD = Callable[[float, str | None, str], Reading]


def caliper(wf: Workflow, rd: RD, value: float) -> Notice:
    return wf.reading("caliper", rd(value, "mm", f"01A+{value:08.3f}"))


def events(store: Store, kind: str) -> list[dict[str, Any]]:
    out = []
    for r in store.records():
        env = r.envelope()
        assert schema_errors("record", env) == [], env
        if r.type == "event" and r.body["kind"] == kind:
            out.append(r.body)
    return out


def accept_one(wf: Workflow, rd: RD) -> None:
    assert wf.scan("PN-778").level == "ok"
    assert caliper(wf, rd, 12.35).level == "ok"
    assert caliper(wf, rd, 25.0).level == "ok"
    assert "ACCEPTED" in wf.judge_attribute(True).text


def test_refused_scan_leaves_no_previous_instrument_bound(
    wf: Workflow, store: Store, rd: RD
) -> None:
    # The demo repro: a good part with CAL-0042, then CAL-0007 (overdue) is picked up.
    wf.scan("B-1017")
    assert wf.scan("CAL-0042").level == "ok"
    accept_one(wf, rd)
    assert store.bindings()["caliper"] == "CAL-0042"
    assert wf.input_refusal("caliper") is None
    assert wf.scan("PN-778").level == "ok"
    refused = wf.scan("CAL-0007")
    assert refused.level == "error" and any("caliper" in d for d in refused.details)
    why = wf.input_refusal("caliper")
    assert why is not None and why.startswith("CAL-0007 refused: ") and "overdue" in why
    assert why.endswith("scan a fit instrument")
    n = caliper(wf, rd, 12.35)
    assert n.level == "error" and n.refused and "CAL-0007" in n.text, n.lines()
    assert wf.state.draft is not None and wf.state.draft.measurements == {}
    assert "caliper" not in store.bindings()  # a restart does not bring CAL-0042 back
    refusals = events(store, "reading-refused")
    assert refusals[-1]["detail"]["instrument"] == "CAL-0007"
    assert events(store, "instrument-refused")[-1]["detail"]["instrument"] == "CAL-0007"
    # A fit instrument scanned: the input reads again, under that instrument.
    assert wf.scan("CAL-0042").level == "ok"
    assert wf.input_refusal("caliper") is None
    assert caliper(wf, rd, 12.35).level == "ok"
    assert caliper(wf, rd, 25.0).level == "ok"
    wf.judge_attribute(True)
    insp = [r for r in store.records() if r.type == "inspection"]
    assert len(insp) == 2
    assert {m.get("instrument") for m in insp[1].body["measurements"]} == {"CAL-0042", None}


def test_refused_scan_survives_a_restart(
    config: Config, clock: Any, rd: RD, store_factory: Callable[..., Store]
) -> None:
    store = store_factory()
    wf = Workflow(store, config, clock)
    wf.scan("B-1017")
    wf.scan("CAL-0042")
    accept_one(wf, rd)
    wf.scan("PN-778")
    wf.scan("CAL-0007")
    store.close()  # the bench restarts before the next reading
    wf2 = Workflow(store_factory(), config, clock)
    wf2.load_unfinished()
    wf2.scan("B-1017")
    assert wf2.state.mode is Mode.INSPECTING
    n = caliper(wf2, rd, 12.35)
    assert n.level == "error" and "no instrument bound" in n.text, n.lines()
    assert wf2.state.draft is not None and wf2.state.draft.measurements == {}


def test_instrument_unfit_for_the_characteristic_in_hand_is_refused_at_the_scan(
    wf: Workflow, store: Store, rd: RD
) -> None:
    # seat-dia uses the guarded rule: an instrument without an uncertainty U cannot judge it.
    doc = store.master_doc("instrument", "CAL-0042")
    assert doc is not None
    no_u = {k: v for k, v in doc.items() if k != "u"} | {"id": "CAL-0050"}
    store.bootstrap_master([("instrument", "CAL-0050", no_u)])
    wf.refresh_master()
    wf.scan("B-1017")
    wf.scan("PN-778")
    wf.scan("CAL-0042")
    assert caliper(wf, rd, 12.35).level == "ok"  # bore-dia done; seat-dia is in hand
    n = wf.scan("CAL-0050")
    assert n.level == "error" and any("guarded" in d for d in n.details), n.lines()
    why = wf.input_refusal("caliper")
    assert why is not None and "CAL-0050" in why and "guarded" in why
    assert caliper(wf, rd, 25.0).refused
    assert wf.state.draft is not None and len(wf.state.draft.measurements) == 1


def test_qms_quarantine_mid_inspection_blocks_the_input_until_a_scan(
    wf: Workflow, rd: RD, store_factory: Callable[..., Store]
) -> None:
    daemon = store_factory()  # the sync daemon's connection
    wf.scan("B-1017")
    wf.scan("PN-778")
    wf.scan("CAL-0042")
    assert caliper(wf, rd, 12.35).level == "ok"
    doc = daemon.master_doc("instrument", "CAL-0042")
    assert doc is not None
    daemon.apply_master("instrument", "CAL-0042", doc | {"status": "quarantined"})
    why = wf.input_refusal("caliper")
    assert why is not None and "quarantined" in why and why.startswith("CAL-0042 refused")
    n = caliper(wf, rd, 25.0)
    assert n.refused and any("quarantined" in d for d in n.details)
    # The QMS lifts it again: the input still waits for a scan of a fit instrument.
    daemon.apply_master("instrument", "CAL-0042", doc | {"status": "active"})
    assert wf.input_refusal("caliper") is not None
    assert caliper(wf, rd, 25.0).refused
    assert wf.scan("CAL-0042").level == "ok"
    assert caliper(wf, rd, 25.0).level == "ok"


def test_failed_check_blocks_the_input_it_was_read_on(wf: Workflow, store: Store, rd: RD) -> None:
    wf.scan("B-1017")
    wf.start_check()
    wf.scan("CAL-0042")
    wf.scan("GB-25")
    for v in (25.05, 25.06, 25.05):
        n = caliper(wf, rd, v)
    assert "FAILED" in n.text and n.level == "error" and not n.refused  # recorded, not refused
    wf.leave_check()
    why = wf.input_refusal("caliper")
    assert why is not None and "CAL-0042" in why and "check" in why
    wf.scan("PN-778")
    assert caliper(wf, rd, 12.35).refused
    assert wf.state.draft is not None and wf.state.draft.measurements == {}


def test_fixed_input_refusal_names_what_to_do(wf: Workflow) -> None:
    why = wf.input_refusal("balance")  # BAL-0003 needs its daily check
    assert why is not None and why.startswith("BAL-0003 refused: ") and "check required" in why
    assert "fixed to this input" in why
    assert wf.input_refusal("torque") is None


def test_a_fail_reading_is_recorded_not_refused(wf: Workflow, rd: RD) -> None:
    wf.scan("B-1017")
    wf.scan("PN-778")
    wf.scan("CAL-0042")
    n = caliper(wf, rd, 12.45)
    assert n.level == "error" and "FAIL" in n.text and n.recorded and not n.refused
