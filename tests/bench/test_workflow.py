"""The bench rules, driven as the UI drives them, against a real store and the shipped master data.

Every refusal path of the bench issue is here: unknown badge, unqualified operator, no released
plan, overdue / quarantined / unchecked instrument, wrong instrument type, storage budget; plus
a passing and a rejected inspection, redo, resume after a crash, and a failing instrument check
with its suspect list. Records are checked against the contract schema.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from drivers.base import Reading
from station.bench.notice import Notice
from station.bench.workflow import Mode, Workflow
from station.schemas import schema_errors
from station.settings import Config
from station.store import Store

RD = Callable[[float, str | None, str], Reading]
CALIPER = "caliper"  # input name in config/station.toml (push, no fixed instrument)


def records(store: Store) -> list[dict[str, Any]]:
    out = [r.envelope() for r in store.records()]
    for env in out:
        assert schema_errors("record", env) == [], env
    return out


def caliper(wf: Workflow, rd: RD, value: float) -> Notice:
    """A value from the caliper input, its raw text the Mitutoyo frame the gauge would send."""
    return wf.reading(CALIPER, rd(value, "mm", f"01A+{value:08.3f}"))


def login_and_start(wf: Workflow, part: str = "PN-778") -> None:
    assert wf.scan("B-1017").level == "ok"
    n = wf.scan(part)
    assert n.level == "ok", n.lines()
    assert wf.state.mode is Mode.INSPECTING


def test_passing_inspection_writes_a_valid_accept_record(
    wf: Workflow, store: Store, clock: Any, rd: RD
) -> None:
    login_and_start(wf, "]C1" + "0109506000134352" + "21SN-0001\x1d10L42")
    assert wf.scan("CAL-0042").level == "ok"
    assert caliper(wf, rd, 12.346).level == "ok"
    assert caliper(wf, rd, 25.01).level == "ok"
    done = wf.judge_attribute(True)
    assert done.level == "ok" and "ACCEPTED" in done.text
    insp = [r for r in records(store) if r["type"] == "inspection"]
    assert len(insp) == 1
    body = insp[0]["body"]
    assert body["result"] == "accept"
    assert body["part"] == {
        "number": "09506000134352",  # the plan's part number that matched: the GTIN
        "serial": "SN-0001",
        "lot": "L42",
        "scan": "]C10109506000134352" + "21SN-0001\x1d10L42",
    }
    bore = body["measurements"][0]
    assert (
        bore["characteristic"],
        bore["value"],
        bore["raw"],
        bore["instrument"],
        bore["cal_due"],
    ) == ("bore-dia", 12.346, "01A+0012.346", "CAL-0042", "2027-06-30")
    kinds = [r["body"]["kind"] for r in records(store) if r["type"] == "event"]
    assert "login" in kinds
    assert store.load_draft() is None
    assert wf.state.mode is Mode.READY  # next part of the same plan, operator still logged in


def test_rejected_inspection_opens_the_nc_and_records_it(
    wf: Workflow, store: Store, clock: Any, rd: RD
) -> None:
    login_and_start(wf)
    wf.scan("CAL-0042")
    assert caliper(wf, rd, 12.45).level == "error"
    caliper(wf, rd, 25.0)
    n = wf.judge_attribute(True)
    assert "REJECTED" in n.text and wf.state.mode is Mode.NONCONFORMANCE
    assert wf.scan("PN-778").level == "error"  # no next part before the NC
    assert wf.submit_nonconformance("dimension-out-of-tolerance", "  ").level == "error"
    assert wf.submit_nonconformance("made-up", "x").level == "error"
    assert (
        wf.submit_nonconformance("dimension-out-of-tolerance", "bore oversize 0.05").level == "ok"
    )
    recs = records(store)
    insp = next(r for r in recs if r["type"] == "inspection")
    nc = next(r for r in recs if r["type"] == "nonconformance")
    assert nc["body"]["inspection"] == insp["id"]
    assert nc["body"]["characteristics"] == ["bore-dia"]
    assert wf.state.mode is Mode.READY


def test_guarded_rule_gives_indeterminate_inside_the_guard_band(
    wf: Workflow, store: Store, clock: Any, rd: RD
) -> None:
    login_and_start(wf)
    wf.scan("CAL-0042")
    caliper(wf, rd, 12.35)
    n = caliper(wf, rd, 25.04)  # U = 0.02: 25.03 < x <= 25.07
    assert "INDETERMINATE" in n.text
    done = wf.judge_attribute(True)
    # Issue 12.12: the operator is told what to do next (the default: re-measure).
    assert "INDETERMINATE" in done.text and "re-measure it with an instrument" in done.text
    assert (
        next(r for r in records(store) if r["type"] == "inspection")["body"]["result"]
        == "indeterminate"
    )


def test_a_plant_that_holds_indeterminate_parts_says_so(
    store: Store, config: Config, clock: Any, rd: RD
) -> None:
    station = dataclasses.replace(config.station, indeterminate="hold")
    wf = Workflow(store, dataclasses.replace(config, station=station), clock)
    login_and_start(wf)
    wf.scan("CAL-0042")
    caliper(wf, rd, 12.35)
    caliper(wf, rd, 25.04)
    done = wf.judge_attribute(True)
    assert done.level == "warn"
    assert "put it in the hold area for review by quality" in done.text, done.text


def test_unknown_badge_is_refused_and_nothing_works_before_login(wf: Workflow) -> None:
    n = wf.scan("B-9999")
    assert n.level == "error" and "B-9999" in n.text
    assert wf.scan("PN-778").text == "scan your badge first"


def test_operator_with_expired_qualification_is_refused_naming_the_code(wf: Workflow) -> None:
    wf.scan("B-1023")
    n = wf.scan("PN-778")
    assert n.level == "error"
    assert any("DIM-2" in line and "expired" in line for line in n.details), n.lines()
    assert wf.state.mode is Mode.READY


def test_part_without_released_plan_is_refused(wf: Workflow) -> None:
    wf.scan("B-1017")
    n = wf.scan("PN-000-UNKNOWN")
    assert n.level == "error"
    assert wf.state.draft is None


def test_overdue_instrument_is_blocked_and_its_readings_refused(
    wf: Workflow, store: Store, clock: Any, rd: RD
) -> None:
    login_and_start(wf)
    n = wf.scan("CAL-0007")
    assert n.level == "error" and any("overdue" in d for d in n.details)
    store.bind_instrument(CALIPER, "CAL-0007")  # even if bound before it fell due
    r = caliper(wf, rd, 12.35)
    assert r.level == "error" and any("overdue" in d for d in r.details)
    assert wf.state.draft is not None and wf.state.draft.measurements == {}
    assert any(
        e["body"]["kind"] == "reading-refused" for e in records(store) if e["type"] == "event"
    )


def test_quarantined_instrument_is_blocked(wf: Workflow) -> None:
    login_and_start(wf)
    n = wf.scan("MIC-0099")
    assert n.level == "error" and any("quarantined" in d for d in n.details)


def test_master_data_applied_by_the_sync_daemon_counts_from_the_next_scan(
    wf: Workflow, store_factory: Callable[..., Store]
) -> None:
    daemon = store_factory()  # the sync daemon's own connection to the same file
    doc = daemon.master_doc("instrument", "CAL-0042")
    assert doc is not None
    snapshot = wf.master
    wf.scan("B-1017")  # appends a login event, but no master data changed:
    assert wf.scan("CAL-0042").level == "ok"
    assert wf.master is snapshot  # the snapshot is kept, not rebuilt
    daemon.apply_master("instrument", "CAL-0042", doc | {"status": "quarantined"})
    n = wf.scan("CAL-0042")
    assert n.level == "error" and any("quarantined" in d for d in n.details), n.lines()


def test_a_master_change_pruned_away_unseen_still_counts(
    wf: Workflow, config: Config, clock: Any
) -> None:
    # The bench saw nothing since its login; meanwhile the daemon applied a change, it was
    # delivered, and pruning removed its `master-applied` event before the next scan.
    wf.scan("B-1017")
    with Store.open(
        config.station.db_path,
        site=config.station.site,
        station=config.station.id,
        retention_days=0,
        clock=clock,
    ) as daemon:
        doc = daemon.master_doc("instrument", "CAL-0042")
        assert doc is not None
        daemon.apply_master("instrument", "CAL-0042", doc | {"status": "quarantined"})
        daemon.append("event", {"kind": "filler", "operator": None, "detail": {}})
        daemon.mark_delivered_upto(daemon.last_seq())
        clock.advance(seconds=1)
        assert daemon.prune(clock()) > 0
        assert not daemon.event_after("master-applied", 0)
    n = wf.scan("CAL-0042")
    assert n.level == "error" and any("quarantined" in d for d in n.details), n.lines()


def test_unchecked_balance_is_blocked_until_a_passing_check(
    wf: Workflow, store: Store, clock: Any, rd: RD
) -> None:
    login_and_start(wf, "PN-913")
    r = wf.reading("balance", rd(85.41, "g", "S S      85.41 g"))
    assert r.level == "error" and any("check required" in d for d in r.details), r.lines()
    assert wf.abandon().level == "warn"
    assert wf.start_check().level == "info"
    assert wf.scan("BAL-0003").level == "ok"
    assert wf.scan("W-100").level == "info"
    for v in (100.01, 100.00, 99.99):
        n = wf.reading("balance", rd(v, "g", f"S S     {v:.2f} g"))
    assert "PASSED" in n.text
    wf.leave_check()
    login = wf.scan("PN-913")
    assert login.level == "ok"
    assert wf.reading("balance", rd(85.41, "g", "S S      85.41 g")).level == "ok"
    clock.advance(hours=25)  # the check is valid for check_interval_h = 24
    done = wf.reading("torque", rd(12.0, "N.m", "0x4140 0x0000"))  # TRQ-0011: no daily check
    assert done.level == "ok" and "ACCEPTED" in done.text, done.lines()
    assert wf.scan("PN-913").level == "ok"
    r = wf.reading("balance", rd(85.41, "g", "S S      85.41 g"))
    assert r.level == "error" and any("check of BAL-0003 expired" in d for d in r.details)


def test_wrong_instrument_type_is_refused(wf: Workflow, rd: RD) -> None:
    login_and_start(wf, "PN-913")
    r = wf.reading("torque", rd(12.0, "N.m", "0x4140 0x0000"))
    assert r.level == "ok"
    store_bound = wf.scan("CAL-0042")
    assert store_bound.level == "ok"
    n = caliper(wf, rd, 12.0)
    assert n.level == "error" and "wrong instrument type" in n.text and "balance" in n.text


def test_storage_budget_refuses_new_inspections(
    config: Config, clock: Any, store_factory: Callable[..., Store]
) -> None:
    store = store_factory(budget_mb=0.001)
    for _ in range(20):
        store.append("event", {"kind": "filler", "operator": None, "detail": {"pad": "x" * 100}})
    wf = Workflow(store, config, clock)
    wf.scan("B-1017")
    n = wf.scan("PN-778")
    assert n.level == "error" and "refused" in n.text
    assert any("budget" in d for d in n.details)
    store.mark_delivered_upto(store.last_seq())
    assert wf.scan("PN-778").level == "ok"


def test_redo_replaces_the_value_and_keeps_the_old_one_in_the_audit_trail(
    wf: Workflow, store: Store, clock: Any, rd: RD
) -> None:
    login_and_start(wf)
    wf.scan("CAL-0042")
    caliper(wf, rd, 12.39)
    assert wf.redo().level == "info"
    caliper(wf, rd, 12.35)
    caliper(wf, rd, 25.0)
    wf.judge_attribute(True)
    recs = records(store)
    replaced = [r for r in recs if r["type"] == "event" and r["body"]["kind"] == "reading-replaced"]
    assert len(replaced) == 1
    assert replaced[0]["body"]["detail"]["old"]["value"] == 12.39
    insp = next(r for r in recs if r["type"] == "inspection")
    assert insp["body"]["measurements"][0]["value"] == 12.35


def test_unfinished_inspection_is_resumed_after_a_crash(
    config: Config, clock: Any, rd: RD, store_factory: Callable[..., Store]
) -> None:
    store = store_factory()
    wf = Workflow(store, config, clock)
    login_and_start(wf)
    wf.scan("CAL-0042")
    caliper(wf, rd, 12.35)
    store.close()  # the process dies here: nothing but the store survives
    store2 = store_factory()
    wf2 = Workflow(store2, config, clock)
    offered = wf2.load_unfinished()
    assert offered is not None and "PN-778" in offered.text
    assert "resumed" in wf2.scan("B-1017").text
    caliper(wf2, rd, 25.0)
    assert "ACCEPTED" in wf2.judge_attribute(True).text
    insp = [r for r in store2.records() if r.type == "inspection"]
    assert [m["value"] for m in insp[0].body["measurements"]][:2] == [12.35, 25.0]


def test_failed_instrument_check_quarantines_and_lists_suspect_inspections(
    wf: Workflow, store: Store, clock: Any, rd: RD
) -> None:
    ids = []
    for serial in ("A1", "A2"):
        login_and_start(wf, "0109506000134352" + f"21{serial}")
        wf.scan("CAL-0042")
        caliper(wf, rd, 12.35)
        caliper(wf, rd, 25.0)
        wf.judge_attribute(True)
        assert wf.state.last_inspection is not None
        ids.append(wf.state.last_inspection.id)
        wf.logout("test")
    wf.scan("B-1017")
    wf.start_check()
    wf.scan("CAL-0042")
    assert wf.scan("GB-05").level == "error"  # overdue standard refused
    wf.scan("GB-25")
    for v in (25.05, 25.06, 25.05):
        n = caliper(wf, rd, v)
    assert n.level == "error" and "FAILED" in n.text
    assert any("A1" in d for d in n.details) and any("A2" in d for d in n.details)
    assert "CAL-0042" in store.local_quarantines()
    suspect = next(r for r in records(store) if r["type"] == "suspect")
    assert sorted(suspect["body"]["inspections"]) == sorted(ids)
    wf.leave_check()
    blocked = wf.scan("CAL-0042")
    assert blocked.level == "error" and any(
        "quarantined at this station" in d for d in blocked.details
    )


def test_badge_again_logs_out(wf: Workflow, store: Store) -> None:
    wf.scan("B-1017")
    n = wf.scan("B-1017")
    assert "logged out" in n.text and wf.state.operator is None
    kinds = [r.body["kind"] for r in store.records() if r.type == "event"]
    assert kinds[-2:] == ["login", "logout"]


def test_owed_nonconformance_survives_logout_and_restart(
    config: Config, clock: Any, rd: RD, store_factory: Callable[..., Store]
) -> None:
    store = store_factory()
    wf = Workflow(store, config, clock)
    login_and_start(wf)
    wf.scan("CAL-0042")
    caliper(wf, rd, 12.45)
    caliper(wf, rd, 25.0)
    assert "REJECTED" in wf.judge_attribute(True).text
    wf.logout("badge scanned again")  # the operator walks away
    assert wf.state.nc_for is not None
    wf2 = Workflow(store_factory(), config, clock)  # and the station restarts
    owed = wf2.load_unfinished()
    assert owed is not None and "rejected" in owed.text
    assert "describe the NC" in wf2.scan("B-1017").text
    assert wf2.state.mode is Mode.NONCONFORMANCE
    assert wf2.scan("PN-778").level == "error"
    assert wf2.submit_nonconformance("burr", "burr on the bore edge").level == "ok"
    ncs = [r for r in wf2.store.records() if r.type == "nonconformance"]
    assert len(ncs) == 1 and wf2.store.load_draft() is None


def test_abandoning_needs_a_logged_in_operator(wf: Workflow, store: Store) -> None:
    login_and_start(wf)
    wf.logout("walked away")
    n = wf.abandon()
    assert n.level == "error" and "scan your badge" in n.text
    assert store.load_draft() is not None  # still offered for resumption
    wf.scan("B-1017")
    assert wf.abandon().level == "warn"
    event = [r for r in store.records() if r.type == "event"][-1]
    assert event.body["kind"] == "inspection-abandoned" and event.body["operator"] == "op-17"
