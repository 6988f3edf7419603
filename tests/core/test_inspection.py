"""Measurements, completeness, the inspection result and the record body (validated by schema)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from station.core.inspection import (
    InspectionError,
    Measurement,
    inspection_body,
    measure_attribute,
    measure_variable,
    pending,
    plan_result,
)
from station.core.model import Characteristic, Instrument, Plan
from station.schemas import schema_errors

T0 = datetime(2026, 11, 21, 22, 3, 51, 4000, tzinfo=UTC)
BORE = Characteristic(
    id="bore-dia", kind="variable", nominal=12.35, lsl=12.3, usl=12.4, unit="mm",
    instrument_type="caliper", samples=2,
)  # fmt: skip
BURR = Characteristic("burr-free", "attribute")
PLAN = Plan("P-1001", "C", "released", ("PN-778",), (BORE, BURR))
CAL = Instrument("CAL-0042", "caliper", "active", date(2027, 3, 1), "in", 0.0001)


def bore(sample: int, inches: float, raw: str = "01A+000.4861") -> Measurement:
    return measure_variable(
        BORE, sample, inches, "in", instrument=CAL, ts=T0 + timedelta(seconds=sample), raw=raw
    )


def test_variable_measurement_records_value_in_plan_unit_and_the_reading() -> None:
    m = measure_variable(BORE, 1, 0.4861, "in", instrument=CAL, ts=T0, raw="01A+000.4861")
    assert (m.verdict, m.value, m.unit, m.instrument, m.cal_due) == (
        "pass", 12.34694, "mm", "CAL-0042", date(2027, 3, 1),
    )  # fmt: skip
    assert m.judgement is not None and m.judgement.position == pytest.approx(0.4694)
    assert m.body() == {
        "characteristic": "bore-dia", "sample": 1, "kind": "variable", "value": 12.34694,
        "unit": "mm", "raw": "01A+000.4861", "nominal": 12.35, "lsl": 12.3, "usl": 12.4,
        "rule": "simple", "u": None, "verdict": "pass", "instrument": "CAL-0042",
        "cal_due": "2027-03-01", "ts": "2026-11-21T22:03:51.004Z",
        "reading": {"value": 0.4861, "unit": "in"},
    }  # fmt: skip


def test_attribute_measurement() -> None:
    m = measure_attribute(BURR, 1, False, ts=T0)
    assert m.body() == {
        "characteristic": "burr-free", "sample": 1, "kind": "attribute", "value": None,
        "unit": None, "raw": None, "nominal": None, "lsl": None, "usl": None, "rule": None,
        "u": None, "verdict": "fail", "instrument": None, "cal_due": None,
        "ts": "2026-11-21T22:03:51.004Z",
    }  # fmt: skip


def test_sample_numbers_are_checked() -> None:
    with pytest.raises(
        InspectionError, match=r"characteristic bore-dia has samples 1\.\.2, got sample 3"
    ):
        measure_variable(BORE, 3, 0.4861, "in", instrument=CAL, ts=T0)
    with pytest.raises(InspectionError, match="got sample 0"):
        measure_attribute(BURR, 0, True, ts=T0)


def test_naive_ts_is_refused() -> None:
    with pytest.raises(ValueError, match="ts must be timezone-aware"):
        measure_attribute(BURR, 1, True, ts=datetime(2026, 11, 21))


def test_result_is_none_until_every_sample_is_measured() -> None:
    ms = [bore(1, 0.4861)]
    assert plan_result(PLAN, ms) is None
    assert [(c.id, s) for c, s in pending(PLAN, ms)] == [("bore-dia", 2), ("burr-free", 1)]
    ms.append(measure_attribute(BURR, 1, True, ts=T0))
    assert plan_result(PLAN, ms) is None
    ms.append(bore(2, 0.4882))  # 12.40028 mm: fail
    assert pending(PLAN, ms) == ()
    assert plan_result(PLAN, ms) == "reject"


def test_measurements_must_fit_the_plan() -> None:
    stranger = measure_attribute(Characteristic("paint", "attribute"), 1, True, ts=T0)
    with pytest.raises(InspectionError, match="plan P-1001 rev C has no characteristic 'paint'"):
        plan_result(PLAN, [stranger])
    with pytest.raises(InspectionError, match="characteristic bore-dia sample 1 is measured twice"):
        pending(PLAN, [bore(1, 0.4861), bore(1, 0.4862)])


def full() -> list[Measurement]:
    return [measure_attribute(BURR, 1, True, ts=T0), bore(2, 0.4862), bore(1, 0.4861)]


def test_inspection_body_is_schema_valid_and_ordered() -> None:
    body = inspection_body(
        plan=PLAN, part_number="PN-778", serial="SN-0001", lot="L42", scan="]d2…",
        operator="op-17", reason="production", started=T0, completed=T0 + timedelta(seconds=18),
        measurements=full(),
    )  # fmt: skip
    assert body["result"] == "accept"
    measurements = body["measurements"]
    assert isinstance(measurements, list)
    assert [(m["characteristic"], m["sample"]) for m in measurements] == [
        ("bore-dia", 1), ("bore-dia", 2), ("burr-free", 1),
    ]  # fmt: skip
    assert body["plan"] == {"id": "P-1001", "rev": "C"}
    assert body["completed"] == "2026-11-21T22:04:09.004Z"
    record = {
        "schema": "station.record/1", "type": "inspection", "id": "019a-0001",
        "seq": 1, "site": "plant-a", "station": "bench-01", "ts": "2026-11-21T22:04:09.520Z",
        "prev": "0" * 64, "hash": "f" * 64, "body": body,
    }  # fmt: skip
    assert schema_errors("record", record) == []


def test_incomplete_inspection_body_names_what_is_missing() -> None:
    with pytest.raises(
        InspectionError,
        match=r"inspection of plan P-1001 rev C is incomplete: "
        r"bore-dia sample 2, burr-free sample 1",
    ):
        inspection_body(
            plan=PLAN, part_number="PN-778", operator="op-17", reason="production",
            started=T0, completed=T0, measurements=[bore(1, 0.4861)],
        )  # fmt: skip


def test_completed_before_started_is_refused() -> None:
    with pytest.raises(InspectionError, match=r"completed \(2026-11-21T22:03:50.004Z\) before it"):
        inspection_body(
            plan=PLAN, part_number="PN-778", operator="op-17", reason="production",
            started=T0, completed=T0 - timedelta(seconds=1), measurements=full(),
        )  # fmt: skip
