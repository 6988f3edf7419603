"""Calibration at the bench (issue 15), driven by scans and readings through `Workflow`
against a real store: as-found pass, as-found fail with re-judgement of earlier parts and
an as-left pass (adjusted), finishing unadjusted (fail, quarantine), and the refusals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from drivers.base import Reading
from station.bench.notice import Notice
from station.bench.workflow import Mode, Workflow
from station.core.timefmt import format_ts
from station.store import Record, Store

RD = Callable[[float, str | None, str], Reading]

CALIPER_POINTS = (  # CP-CALIPER rev A: (nominal, the fit gauge block for it)
    (5.0, "GB-05A"),
    (10.0, "GB-10"),
    (25.0, "GB-25"),
    (50.0, "GB-50"),
    (100.0, "GB-100"),
    (150.0, "GB-150"),
)


def _master(store: Store, kind: str, iid: str, base: str, **change: Any) -> None:
    doc = store.master_doc(kind, base)
    assert doc is not None
    store.apply_master(kind, iid, doc | {"id": iid, **change}, source="test")


@pytest.fixture
def cal_wf(wf: Workflow, store: Store) -> Workflow:
    """op-17 holds CAL-1; a fit 5 mm gauge block (shipped GB-05 is overdue); a second
    caliper CAL-0043 and a retired one CAL-0099."""
    op = store.master_doc("operator", "op-17")
    assert op is not None
    quals = [*op["qualifications"], {"code": "CAL-1", "expires": "2027-12-31"}]
    store.apply_master("operator", "op-17", op | {"qualifications": quals}, source="test")
    _master(store, "standard", "GB-05A", "GB-05", cal_due="2027-04-30")
    _master(store, "instrument", "CAL-0043", "CAL-0042")
    _master(store, "instrument", "CAL-0099", "CAL-0042", status="retired")
    wf.refresh_master()
    return wf


def caliper(wf: Workflow, rd: RD, value: float) -> Notice:
    return wf.reading("caliper", rd(value, "mm", f"01A+{value:08.3f}"))


def series(wf: Workflow, rd: RD, bias: float = 0.0) -> Notice:
    """Every CP-CALIPER point: scan its block, three readings at nominal + bias."""
    n = Notice("info", "")
    for nominal, block in CALIPER_POINTS:
        s = wf.scan(block)
        assert s.level == "info", s.lines()
        for _ in range(3):
            n = caliper(wf, rd, round(nominal + bias, 3))
    return n


def inspect(wf: Workflow, rd: RD, serial: str, instrument: str, bore: float) -> str:
    assert wf.scan("0109506000134352" + f"21{serial}").level == "ok"
    assert wf.scan(instrument).level == "ok"
    assert caliper(wf, rd, bore).level == "ok"
    assert caliper(wf, rd, 25.01).level == "ok"
    assert "ACCEPTED" in wf.judge_attribute(True).text
    assert wf.state.last_inspection is not None
    return wf.state.last_inspection.id


def records(store: Store, kind: str) -> list[Record]:
    return [r for r in store.records() if r.type == kind]


def test_a_caliper_calibration_that_passes(cal_wf: Workflow, store: Store, rd: RD) -> None:
    wf = cal_wf
    wf.scan("B-1017")
    n = wf.scan("CP-CALIPER")
    assert n.level == "ok" and wf.state.mode is Mode.CALIBRATION, n.lines()
    assert wf.scan("CAL-0042").level == "ok"
    n = series(wf, rd)
    assert n.level == "ok" and "PASS" in n.text and "2027-11-21" in n.text, n.lines()
    [rec] = records(store, "calibration")  # validated against the schema by the store
    b = rec.body
    assert b["instrument"] == "CAL-0042" and b["procedure"] == {"id": "CP-CALIPER", "rev": "A"}
    assert b["operator"] == "op-17" and b["result"] == "pass" and b["as_left"] is None
    assert b["next_due"] == "2027-11-21"  # 2026-11-21 + 365 days
    pts = b["as_found"]["points"]
    assert [p["nominal"] for p in pts] == [5.0, 10.0, 25.0, 50.0, 100.0, 150.0]
    assert [p["standard"] for p in pts] == [blk for _, blk in CALIPER_POINTS]
    assert all(p["verdict"] == "pass" and p["readings"] == [p["nominal"]] * 3 for p in pts)
    assert pts[0]["raw"] == ["01A+0005.000"] * 3 and b["as_found"]["verdict"] == "pass"
    assert records(store, "suspect") == [] and store.local_quarantines() == {}
    assert wf.leave_calibration().level == "info" and wf.state.mode is Mode.READY


def test_as_found_fail_rejudges_only_this_calipers_parts_then_as_left_pass_is_adjusted(
    cal_wf: Workflow, store: Store, rd: RD
) -> None:
    wf = cal_wf
    wf.scan("B-1017")
    mine = inspect(wf, rd, "S1", "CAL-0042", 12.32)  # corrected by -0.03: 12.29 < LSL 12.3
    other = inspect(wf, rd, "S2", "CAL-0043", 12.32)  # another caliper: not suspect
    wf.scan("CP-CALIPER")
    wf.scan("CAL-0042")
    n = series(wf, rd, bias=0.03)  # every error +0.03 > MPE 0.02
    assert n.level == "warn" and "AS-FOUND FAIL" in n.text, n.lines()
    assert records(store, "calibration") == []  # the technician decides first
    n = wf.scan("CAL-0042")  # adjusted: the as-left series
    assert n.level == "ok" and "as-left" in n.text, n.lines()
    n = series(wf, rd)
    assert "ADJUSTED" in n.text, n.lines()
    assert "1 inspection(s)" in n.details[0] and "1 measurement(s) flip" in n.details[0]
    assert "S1 bore-dia#1: 12.32 -> 12.29 pass -> fail" in n.details[1], n.lines()
    [cal] = records(store, "calibration")
    assert cal.body["result"] == "adjusted" and cal.body["as_found"]["verdict"] == "fail"
    assert cal.body["as_left"]["verdict"] == "pass" and cal.body["next_due"] == "2027-11-21"
    [suspect] = records(store, "suspect")
    s = suspect.body
    assert s["cause"] == "calibration-as-found" and s["calibration"] == cal.id
    assert s["instrument"] == "CAL-0042" and s["since"] is None  # never calibrated or checked
    assert s["inspections"] == [mine] and other not in s["inspections"]
    [flip] = s["rejudged"]
    assert flip["inspection"] == mine and flip["characteristic"] == "bore-dia"
    assert flip["verdict"] == "pass" and flip["verdict_corrected"] == "fail"
    assert flip["correction"] == pytest.approx(-0.03) and flip["corrected"] == pytest.approx(12.29)
    assert store.local_quarantines() == {}
    assert wf.state.calibration is not None and wf.state.calibration.suspect.id == suspect.id


def test_since_is_the_later_of_the_calibrated_date_and_the_last_passing_check(
    cal_wf: Workflow, store: Store, rd: RD, clock: Any
) -> None:
    wf = cal_wf
    wf.scan("B-1017")
    inspect(wf, rd, "OLD", "CAL-0042", 12.32)
    _master(store, "instrument", "CAL-0042", "CAL-0042", calibrated="2026-11-22")
    wf.refresh_master()
    clock.now = clock.now.replace(day=23)
    mine = inspect(wf, rd, "NEW", "CAL-0042", 12.32)
    wf.scan("CP-CALIPER")
    wf.scan("CAL-0042")
    series(wf, rd, bias=0.03)
    wf.scan("CP-CALIPER")
    [suspect] = records(store, "suspect")
    midnight = datetime(2026, 11, 22, tzinfo=wf.zone)  # on the site's calendar
    assert suspect.body["since"] == format_ts(midnight)
    assert suspect.body["inspections"] == [mine]


def test_finishing_unadjusted_fails_and_quarantines(cal_wf: Workflow, store: Store, rd: RD) -> None:
    wf = cal_wf
    wf.scan("B-1017")
    wf.scan("CP-CALIPER")
    wf.scan("CAL-0042")
    series(wf, rd, bias=0.03)
    n = wf.scan("CP-CALIPER")  # finish unadjusted
    assert n.level == "error" and n.recorded and "FAIL" in n.text, n.lines()
    [cal] = records(store, "calibration")
    assert cal.body["result"] == "fail" and cal.body["next_due"] is None
    assert cal.body["as_left"] is None
    assert "CAL-0042" in store.local_quarantines()
    [suspect] = records(store, "suspect")
    assert suspect.body["inspections"] == [] and suspect.body["rejudged"] == []
    wf.leave_calibration()
    assert wf.scan("0109506000134352" + "21X").level == "ok"
    assert wf.scan("CAL-0042").level == "error"  # quarantined at this station


def test_an_unqualified_operator_may_not_calibrate(wf: Workflow, store: Store) -> None:
    wf.scan("B-1017")  # the shipped op-17 lacks CAL-1
    n = wf.scan("CP-CALIPER")
    assert n.level == "error" and "may not calibrate" in n.text, n.lines()
    assert any("CAL-1 missing (required by procedure CP-CALIPER" in d for d in n.details)
    assert wf.state.mode is Mode.READY and wf.state.calibration is None
    [event] = [r for r in records(store, "event") if r.body["kind"] == "calibration-refused"]
    assert event.body["operator"] == "op-17"


def test_wrong_instrument_type_and_retired_instrument_are_refused(
    cal_wf: Workflow, store: Store
) -> None:
    wf = cal_wf
    wf.scan("B-1017")
    wf.scan("CP-CALIPER")
    n = wf.scan("BAL-0003")
    assert n.level == "error" and "is a balance" in n.details[0], n.lines()
    n = wf.scan("CAL-0099")
    assert n.level == "error" and any("retired" in d for d in n.details), n.lines()
    cal = wf.state.calibration
    assert cal is not None and cal.instrument is None
    refused = [r.body["detail"] for r in records(store, "event")]
    assert {"BAL-0003", "CAL-0099"} <= {d.get("instrument") for d in refused}
    assert wf.scan("CAL-0007").level == "ok"  # overdue: that is why it is calibrated


def test_an_overdue_standard_and_one_of_the_wrong_type_are_refused(
    cal_wf: Workflow, rd: RD
) -> None:
    wf = cal_wf
    wf.scan("B-1017")
    wf.scan("CP-CALIPER")
    wf.scan("CAL-0042")
    n = wf.scan("GB-05")
    assert n.level == "error" and any("overdue" in d for d in n.details), n.lines()
    n = wf.scan("W-100")
    assert n.level == "error" and "needs a gauge-block" in n.text, n.lines()
    n = caliper(wf, rd, 5.0)
    assert n.level == "warn" and "scan a standard" in n.text, n.lines()
    assert wf.scan("GB-05A").level == "info"


def test_no_part_or_check_during_a_calibration_and_leaving_records_nothing(
    cal_wf: Workflow, store: Store
) -> None:
    wf = cal_wf
    wf.scan("B-1017")
    wf.scan("CP-CALIPER")
    wf.scan("CAL-0042")
    assert wf.scan("0109506000134352" + "21X").level == "error"
    assert wf.start_check().level == "error"
    n = wf.leave_calibration()
    assert n.level == "warn" and "no calibration recorded" in n.text
    assert records(store, "calibration") == [] and wf.state.mode is Mode.READY


def test_since_a_later_passing_check_is_taken_in_record_order(
    cal_wf: Workflow, store: Store, rd: RD
) -> None:
    wf = cal_wf
    wf.scan("B-1017")
    inspect(wf, rd, "OLD", "CAL-0042", 12.32)  # covered by the passing check below
    assert wf.start_check().level == "info"
    wf.scan("CAL-0042")
    wf.scan("GB-25")
    for _ in range(3):
        n = caliper(wf, rd, 25.0)
    assert "PASSED" in n.text
    wf.leave_check()
    mine = inspect(wf, rd, "NEW", "CAL-0042", 12.32)
    wf.scan("CP-CALIPER")
    wf.scan("CAL-0042")
    series(wf, rd, bias=0.03)
    wf.scan("CP-CALIPER")
    [suspect] = records(store, "suspect")
    check = store.last_passing_check("CAL-0042")
    assert check is not None and suspect.body["since"] == check.ts
    assert suspect.body["inspections"] == [mine]


def test_a_click_wrench_against_a_reference_instrument(
    cal_wf: Workflow, store: Store, rd: RD
) -> None:
    """ISO 6789-1: set to 20 N·m at 4 %, the reference must read 19.231 to 20.833 N·m."""
    wf = cal_wf
    _master(store, "instrument", "TW-0001", "TRQ-0011", type="torque-wrench", resolution=0.1)
    wf.refresh_master()
    wf.scan("B-1017")
    assert wf.scan("CP-TORQUE-WRENCH").level == "ok"
    assert wf.scan("TW-0001").level == "ok"
    assert wf.scan("GB-10").level == "error"  # a standard where a reference instrument is due
    assert wf.scan("TW-0001").level == "error"  # not its own reference
    n = Notice("info", "")
    for nominal, low in ((20.0, 19.24), (60.0, 58.0), (100.0, 96.2)):
        assert wf.scan("TRQ-0011").level == "info"
        for v in (nominal, nominal, low, nominal, nominal):
            n = wf.reading("torque", rd(v, "N.m", f"{v}"))
    assert "PASS" in n.text, n.lines()
    [cal] = records(store, "calibration")
    p20 = cal.body["as_found"]["points"][0]
    assert p20["reference_instrument"] == "TRQ-0011" and p20["standard"] is None
    assert p20["readings"] == [20.0, 20.0, 19.24, 20.0, 20.0] and p20["verdict"] == "pass"


def test_a_click_wrench_reading_19_2_at_20_fails(cal_wf: Workflow, store: Store, rd: RD) -> None:
    wf = cal_wf
    _master(store, "instrument", "TW-0001", "TRQ-0011", type="torque-wrench", resolution=0.1)
    wf.refresh_master()
    wf.scan("B-1017")
    wf.scan("CP-TORQUE-WRENCH")
    wf.scan("TW-0001")
    wf.scan("TRQ-0011")
    n = Notice("info", "")
    for v in (20.0, 20.0, 19.2, 20.0, 20.0):  # 20 - 19.2 = 0.8 > 4 % of 19.2 = 0.768
        n = wf.reading("torque", rd(v, "N.m", f"{v}"))
    assert n.level == "error" and "set-20 FAIL" in n.text, n.lines()


def test_a_calibration_in_progress_survives_a_restart(
    cal_wf: Workflow, store: Store, config: Any, clock: Any, rd: RD
) -> None:
    wf = cal_wf
    wf.scan("B-1017")
    wf.scan("CP-CALIPER")
    wf.scan("CAL-0042")
    wf.scan("GB-05A")
    caliper(wf, rd, 5.0)
    caliper(wf, rd, 5.0)
    wf.scan("B-1017")  # logged out: the calibration is kept
    again = Workflow(store, config, clock)  # the bench restarted
    n = again.load_unfinished()
    assert n is not None and "unfinished calibration to CP-CALIPER" in n.text, n
    assert again.scan("B-1023").level == "warn"  # another operator: may only abandon it
    assert again.scan("0109506000134352" + "21X").level == "error"
    again.scan("B-1023")
    n = again.scan("B-1017")
    assert "calibration resumed" in n.text and again.state.mode is Mode.CALIBRATION, n.lines()
    cal = again.state.calibration
    assert cal is not None and cal.standard is not None and len(cal.readings) == 2
    n = series_from(again, rd, first_point_readings=1)
    assert "PASS" in n.text, n.lines()
    [rec] = records(store, "calibration")
    assert rec.body["as_found"]["points"][0]["readings"] == [5.0, 5.0, 5.0]
    assert store.load_draft() is None


def test_abandoning_a_calibration_is_recorded(cal_wf: Workflow, store: Store) -> None:
    wf = cal_wf
    wf.scan("B-1017")
    wf.scan("CP-CALIPER")
    wf.scan("CAL-0042")
    assert store.load_draft() is not None
    n = wf.leave_calibration()
    assert n.level == "warn" and "abandoned" in n.text
    [event] = [r for r in records(store, "event") if r.body["kind"] == "calibration-abandoned"]
    assert event.body["detail"]["calibration"]["instrument"] == "CAL-0042"
    assert store.load_draft() is None


def series_from(wf: Workflow, rd: RD, first_point_readings: int) -> Notice:
    """Finish a series whose first point (its block scanned) lacks some readings."""
    n = Notice("info", "")
    for _ in range(first_point_readings):
        n = caliper(wf, rd, 5.0)
    for nominal, block in CALIPER_POINTS[1:]:
        assert wf.scan(block).level == "info"
        for _ in range(3):
            n = caliper(wf, rd, nominal)
    return n


class PowerCut(BaseException):
    """The station stops dead (not an Exception: nothing catches it on the way out)."""


def test_a_suspect_list_owed_when_the_station_stops_is_written_at_the_next_start(
    cal_wf: Workflow, store: Store, config: Any, clock: Any, rd: RD, monkeypatch: Any
) -> None:
    # The calibration record and the "suspect owed" draft are one transaction; the suspect
    # and clearing the draft are another. A power cut between them must not lose the
    # suspect list (ISO 9001 7.1.5.2): the next start writes it from the record alone.
    wf = cal_wf
    wf.scan("B-1017")
    mine = inspect(wf, rd, "S1", "CAL-0042", 12.32)
    wf.scan("CP-CALIPER")
    wf.scan("CAL-0042")
    series(wf, rd, bias=0.03)
    wf.scan("CAL-0042")

    def cut(*_: object) -> None:
        raise PowerCut

    monkeypatch.setattr("station.bench.calibrating.write_suspect", cut)
    with pytest.raises(PowerCut):
        series(wf, rd)
    [cal] = records(store, "calibration")
    assert records(store, "suspect") == []
    draft = store.load_draft()
    assert draft is not None and draft["calibration"] == cal.seq
    monkeypatch.undo()

    again = Workflow(store, config, clock)  # the bench restarted; nobody logged in yet
    n = again.load_unfinished()
    assert n is not None and "suspect list of CAL-0042's calibration" in n.text, n.lines()
    assert "1 inspection(s), 1 measurement(s) flip" in n.text
    [suspect] = records(store, "suspect")
    assert suspect.body["calibration"] == cal.id and suspect.body["inspections"] == [mine]
    assert [r["verdict_corrected"] for r in suspect.body["rejudged"]] == ["fail"]
    assert store.load_draft() is None
    assert Workflow(store, config, clock).load_unfinished() is None  # written once only
