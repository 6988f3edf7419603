"""The study gate: an instrument's latest Type-1 / R&R verdict against a characteristic's
tolerance (Cg = 0.2T/(6s), Bosch Booklet 10 §4.1, and %GRR of tolerance = 6GRR/T, AIAG MSA
4th ed. ch. III §B, both scale with T: unacceptable for T means unacceptable for any T' <= T)."""

from __future__ import annotations

from datetime import UTC, datetime

from station.core.fitness import Fitness
from station.core.model import Characteristic
from station.core.studygate import (
    StudyResult,
    gate_fitness,
    latest_per_kind,
    result_of_study,
    study_findings,
)

D1 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
D2 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FIT = Fitness(usable=True, warnings=("calibration due in 5 days",))


def char(lsl: float | None, usl: float | None, unit: str = "mm") -> Characteristic:
    return Characteristic("bore", "variable", lsl=lsl, usl=usl, unit=unit, instrument_type="cal")


def result(verdict: str, tolerance: float | None = 0.1, **kw: object) -> StudyResult:
    args: dict[str, object] = {
        "instrument": "CAL-1", "kind": "type-1", "verdict": verdict, "tolerance": tolerance,
        "date": D1, "unit": "mm", "procedure": "T1",
    }  # fmt: skip
    return StudyResult(**(args | kw))  # type: ignore[arg-type]


def test_unacceptable_refuses_a_tolerance_at_most_the_studys_exactly_at_the_boundary() -> None:
    # 12.4 - 12.3 is 0.10000000000000142 in binary floats; the gate compares decimals exactly.
    fit = gate_fitness(FIT, [result("unacceptable")], "CAL-1", char(12.3, 12.4))
    assert not fit.usable and len(fit.reasons) == 1
    assert (
        "Type-1 study T1 of 2026-11-01 is unacceptable for tolerances up to 0.1 mm"
        in (fit.reasons[0])
    )
    assert fit.warnings == FIT.warnings  # the calibration's warnings stay
    assert not gate_fitness(FIT, [result("unacceptable")], "CAL-1", char(10.0, 10.05)).usable


def test_a_wider_tolerance_one_sided_limits_and_other_instruments_pass() -> None:
    bad = [result("unacceptable")]
    assert gate_fitness(FIT, bad, "CAL-1", char(12.3, 12.5)) == FIT
    assert gate_fitness(FIT, bad, "CAL-1", char(None, 12.4)) == FIT
    assert gate_fitness(FIT, bad, "CAL-2", char(12.3, 12.4)) == FIT
    assert gate_fitness(FIT, bad, "CAL-1", None) == FIT  # a study or check: not gated


def test_conditional_warns_and_does_not_refuse() -> None:
    fit = gate_fitness(FIT, [result("conditional", kind="grr")], "CAL-1", char(12.3, 12.4))
    assert fit.usable and fit.reasons == ()
    assert "gauge R&R T1 of 2026-11-01 is conditional" in fit.warnings[-1]


def test_the_latest_study_of_each_kind_counts() -> None:
    old_bad, new_ok = result("unacceptable", date=D1), result("acceptable", date=D2)
    assert gate_fitness(FIT, [old_bad, new_ok], "CAL-1", char(12.3, 12.4)) == FIT
    assert not gate_fitness(
        FIT, [new_ok, result("unacceptable", date=D2)], "CAL-1", char(0, 0.1)
    ).usable
    grr_bad = result("unacceptable", kind="grr", date=D1)
    assert latest_per_kind([old_bad, new_ok, grr_bad], "CAL-1") == [new_ok, grr_bad]
    reasons, _ = study_findings([new_ok, grr_bad], "CAL-1", char(12.3, 12.4))
    assert len(reasons) == 1 and "gauge R&R" in reasons[0]  # a good Type-1 hides no bad R&R


def test_attribute_agreement_gates_nothing_and_units_convert() -> None:
    aa = result("unacceptable", kind="attribute-agreement", tolerance=None)
    assert gate_fitness(FIT, [aa], "CAL-1", char(12.3, 12.4)) == FIT
    # The study in mm, the characteristic in µm: 100 µm <= 0.1 mm.
    um = Characteristic("x", "variable", lsl=0.0, usl=100.0, unit="um")
    assert not gate_fitness(FIT, [result("unacceptable")], "CAL-1", um).usable


def test_results_from_the_qms_and_from_study_records_gate_alike() -> None:
    body = {
        "kind": "grr", "procedure": {"id": "GRR-1", "rev": "A"}, "instrument": "CAL-1",
        "completed": "2026-12-01T09:00:00.000Z", "unit": "mm", "tolerance": 0.5,
        "verdict": "unacceptable",
    }  # fmt: skip
    here = result_of_study(body)
    assert here == StudyResult("CAL-1", "grr", "unacceptable", 0.5, D2, "station", "mm", "GRR-1")
    qms = StudyResult("CAL-1", "type-1", "unacceptable", 0.2, D2, source="qms", unit="mm")
    reasons, _ = study_findings([here, qms], "CAL-1", char(12.3, 12.4))
    assert len(reasons) == 2
