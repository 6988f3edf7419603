"""Calibration math (`station.core.calibration`, `station.core.rejudge`) against the numbers of
the standards it implements.

- ISO 6789-1:2017 6.3 (hand torque tools): a click wrench set to 20 N·m with a 4 % MPE passes
  only while the analyser reads 20/1.04 = 19.2307... to 20/0.96 = 20.8333... N·m: the
  deviation is relative to the reference reading, so 19.231 and 20.833 pass, 19.230, 19.2 and
  20.834 fail, and 20.8 passes.
- The expanded uncertainty of the error, u = 2·sqrt((U_ref/2)² + (d/√12)² + s²/n) (GUM 4.3.7
  for the rectangular resolution term, EA-4/02 M:2022 for k = 2): the figures below are
  worked by hand to the digits printed.
- ISO 14253-1:2017 / ILAC G8:09/2019: simple acceptance at the MPE edge passes; guarded
  acceptance needs the MPE reduced by u.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.core.calibration import (
    CalibrationError,
    PointSpec,
    calibration_result,
    expanded_uncertainty,
    judge_point,
    next_due,
    series_verdict,
)
from station.core.rejudge import ErrorCurve, RecordedMeasurement, rejudge, rejudge_one

WRENCH = PointSpec("20pct", 20.0, 5, mpe_rel=0.04, source="reference-instrument")


@pytest.mark.parametrize(
    ("analyser", "verdict"),
    [
        (19.231, "pass"),
        (20.833, "pass"),
        (20.8, "pass"),
        (19.230, "fail"),
        (19.2, "fail"),  # inside 20 ± 4 % of the set value, outside 4 % of the reference
        (20.834, "fail"),
    ],
)
def test_iso_6789_window_is_relative_to_the_reference_reading(
    analyser: float, verdict: str
) -> None:
    point = judge_point(WRENCH, [analyser], reference=None, u_ref=0.0, resolution=0.0)
    assert point.verdict == verdict
    assert point.reference == analyser  # the analyser's reading is the reference


def test_a_wrench_point_with_five_readings_is_judged_reading_by_reading() -> None:
    ok = [19.5, 19.8, 20.1, 20.4, 20.7]
    point = judge_point(WRENCH, ok, reference=None, u_ref=0.0, resolution=0.0)
    assert point.verdict == "pass"
    assert point.reference == pytest.approx(20.1)  # the mean reading
    assert point.error == pytest.approx(-0.7)  # 20 - 20.7: the deviation of largest magnitude
    # One reading outside its own window fails the point, however good the mean is.
    bad = judge_point(WRENCH, [*ok[:4], 19.2], reference=None, u_ref=0.0, resolution=0.0)
    assert bad.verdict == "fail"


def test_expanded_uncertainty_by_hand() -> None:
    # Gauge block U = 0.0006 mm (k = 2), caliper resolution 0.01 mm, 5 equal readings (s = 0):
    # (0.0003)² + (0.01/√12)² = 9e-8 + 8.33333e-6 = 8.42333e-6; √ = 0.00290230; x2 = 0.00580460.
    assert expanded_uncertainty(0.0006, 0.01, 0.0, 5) == pytest.approx(0.00580460, abs=5e-9)
    # With s = 0.005 mm over n = 5: + 5e-6 -> 1.342333e-5; √ = 0.00366379; x2 = 0.00732757.
    assert expanded_uncertainty(0.0006, 0.01, 0.005, 5) == pytest.approx(0.00732757, abs=5e-9)


CALIPER_POINTS = [  # a 0-150 mm caliper (resolution 0.01 mm) against gauge blocks
    (PointSpec("p10", 10.0, 3, mpe=0.02), 10.0, [10.00, 10.00, 10.01]),
    (PointSpec("p41", 41.3, 3, mpe=0.02), 41.3, [41.31, 41.31, 41.31]),
    (PointSpec("p70", 70.0, 3, mpe=0.02), 70.0, [70.02, 70.02, 70.02]),
    (PointSpec("p100", 100.0, 3, mpe=0.03), 100.0, [100.03, 100.02, 100.03]),
    (PointSpec("p150", 150.0, 3, mpe=0.03), 150.0, [150.04, 150.03, 150.03]),
]


def caliper(rule: str = "simple") -> list:
    return [
        judge_point(spec, rs, reference=ref, u_ref=0.0006, resolution=0.01, rule=rule)  # type: ignore[arg-type]
        for spec, ref, rs in CALIPER_POINTS
    ]


def test_a_caliper_with_five_points() -> None:
    points = caliper()
    assert [p.verdict for p in points] == ["pass", "pass", "pass", "pass", "fail"]
    p150 = points[-1]
    assert p150.error == pytest.approx(0.04) and p150.mpe == 0.03
    assert p150.mean_error == pytest.approx(0.10 / 3)
    # s of (150.04, 150.03, 150.03) = 0.0057735 mm; u = 2·sqrt(9e-8 + 8.33333e-6 + s²/3)
    # = 2·sqrt(8.42333e-6 + 1.11111e-5) = 2·sqrt(1.953444e-5) = 2·0.00441978 = 0.00883956;
    # TUR = 0.03/u = 3.394.
    assert p150.s == pytest.approx(0.0057735, abs=5e-8)
    assert p150.u == pytest.approx(0.00883956, abs=5e-9)
    assert p150.tur == pytest.approx(3.394, abs=5e-4) and p150.tur_low
    p70 = points[2]  # an error exactly at the MPE passes under simple acceptance
    assert p70.error == pytest.approx(0.02) and p70.verdict == "pass"
    assert series_verdict(points) == "fail"


def test_guarded_acceptance_makes_the_edge_indeterminate() -> None:
    points = caliper("guarded")
    # p70: error 0.02 = MPE, u = 0.0058 > 0: beyond MPE - u, within the MPE.
    assert points[2].verdict == "indeterminate"
    assert points[1].verdict == "pass"  # 0.01 <= 0.02 - 0.0058
    assert points[-1].verdict == "fail"  # beyond the MPE whatever the rule


def test_repeatability_point_against_its_limit() -> None:
    spec = PointSpec("rep", 100.0, 10, test="repeatability", limit=0.0002)
    balance = [100.0001, 99.9999, 100.0002, 100.0, 99.9998, 100.0001, 100.0, 99.9999, 100.0, 100.0]
    point = judge_point(spec, balance, reference=100.0, u_ref=0.00008, resolution=0.0001)
    assert point.s is not None and point.s < 0.0002 and point.verdict == "pass"
    wide = judge_point(spec, [100.0, 100.001], reference=100.0, u_ref=0.0, resolution=0.0001)
    assert wide.verdict == "fail"


def test_points_that_cannot_be_judged_say_why() -> None:
    with pytest.raises(CalibrationError, match="needs `mpe` or `mpe_rel`"):
        judge_point(PointSpec("x", 1.0, 1), [1.0], reference=1.0, u_ref=0, resolution=0.01)
    with pytest.raises(CalibrationError, match="no reference value"):
        judge_point(PointSpec("x", 1.0, 1, mpe=0.1), [1.0], reference=None, u_ref=0, resolution=0)
    with pytest.raises(CalibrationError, match="no readings"):
        judge_point(PointSpec("x", 1.0, 1, mpe=0.1), [], reference=1.0, u_ref=0, resolution=0)


def test_result_and_next_due() -> None:
    found = caliper()
    left = [
        judge_point(spec, [ref] * 3, reference=ref, u_ref=0.0006, resolution=0.01)
        for spec, ref, _ in CALIPER_POINTS
    ]
    assert calibration_result(found[:4], None) == "pass"
    assert calibration_result(found, left) == "adjusted"
    assert calibration_result(found, None) == "fail"
    assert calibration_result(found, found) == "fail"
    assert next_due(date(2026, 12, 2), 365, "adjusted") == date(2027, 12, 2)
    assert next_due(date(2026, 12, 2), 365, "fail") is None


def measurement(
    value: float, insp: str = "I-1", unit: str = "mm", **kw: object
) -> RecordedMeasurement:
    spec = {"lsl": 24.95, "usl": 25.05, "rule": "simple", "u": None, "verdict": "pass"} | kw
    return RecordedMeasurement(insp, "len", 1, value, unit, **spec)  # type: ignore[arg-type]


def test_the_error_curve_interpolates_between_nominals_and_holds_beyond() -> None:
    curve = ErrorCurve.of(caliper(), "mm")  # mean errors: 0.00333, 0.01, 0.02, 0.02667, 0.03333
    assert float(curve.error_at(5.0)) == pytest.approx(0.01 / 3)  # below the first: held
    assert float(curve.error_at(200.0)) == pytest.approx(0.1 / 3)  # beyond the last: held
    # Between 70 (0.02) and 100 (0.08/3): at 85, halfway.
    assert float(curve.error_at(85.0)) == pytest.approx((0.02 + 0.08 / 3) / 2)
    assert math.isclose(float(curve.error_at(41.3)), 0.01)


def test_rejudgment_flips_only_the_measurements_the_error_moves_across_a_limit() -> None:
    curve = ErrorCurve.of(caliper(), "mm")
    # Near 25 mm the caliper read about 0.0065 mm high (between 10 and 41.3 mm): at 24.955,
    # 0.01/3 + (0.01 - 0.01/3) * (14.955 / 31.3).
    at = float(curve.error_at(24.955))
    assert at == pytest.approx(0.01 / 3 + (0.01 - 0.01 / 3) * (14.955 / 31.3))
    rows = [
        measurement(25.0, "I-1"),  # corrected 24.9935: still within 24.95-25.05
        measurement(24.955, "I-2"),  # corrected 24.9485: below lsl -> fail
        measurement(25.055, "I-3", verdict="fail"),  # corrected 25.0485: now passes
        measurement(0.98425, "I-4", unit="in", lsl=0.98228, usl=0.98622),  # 25.000 mm, in inch
    ]
    out = rejudge(rows, curve)
    assert [(r.inspection, r.verdict, r.verdict_corrected) for r in out] == [
        ("I-2", "pass", "fail"),
        ("I-3", "fail", "pass"),
    ]
    assert out[0].correction == pytest.approx(-at)
    assert out[0].corrected == pytest.approx(24.955 - at)


def test_rejudgment_uses_the_recorded_rule_and_u() -> None:
    curve = ErrorCurve.of(caliper(), "mm")
    # Recorded under the guarded rule with U = 0.01 mm: 25.045 lay between usl - U and usl + U.
    guarded = measurement(25.045, rule="guarded", u=0.01, verdict="indeterminate")
    [out] = rejudge([guarded], curve)  # corrected 25.0385 <= 25.04: conformity now proven
    assert (out.verdict, out.verdict_corrected) == ("indeterminate", "pass")


@settings(max_examples=300, deadline=None)
@given(
    value=st.decimals(min_value="24.900", max_value="25.100", places=4),
    error=st.decimals(min_value="-0.0300", max_value="0.0300", places=4),
    rule=st.sampled_from(["simple", "guarded"]),
    u=st.sampled_from([Decimal("0.001"), Decimal("0.01"), Decimal("0.0015")]),
    edge=st.sampled_from(["lsl", "usl", "lsl-u", "usl+u", "lsl+u", "usl-u", "inside"]),
    verdict=st.sampled_from(["pass", "fail", "indeterminate"]),
)
def test_the_fast_rejudgment_path_agrees_with_the_exact_one(
    value: Decimal, error: Decimal, rule: str, u: Decimal, edge: str, verdict: str
) -> None:
    # `rejudge` decides in floats where the corrected value is clearly off every boundary.
    # Here the limits are placed so that the corrected value (value - error, exactly) lands
    # exactly on a boundary of the rule (lsl, usl, and the guard-band edges +-U), where
    # binary floats get it wrong (25.0123 - 0.005 is 25.007299999999997 in floats): the
    # result must still equal the exact path's, measurement by measurement.
    curve = ErrorCurve(((Fraction(25), Fraction(error)),), "mm")
    at = value - error
    w = u if rule == "guarded" else Decimal(0)
    lsl, usl = {
        "lsl": (at, at + 1),
        "usl": (at - 1, at),
        "lsl-u": (at + w, at + 1),
        "usl+u": (at - 1, at - w),
        "lsl+u": (at - w, at + 1),
        "usl-u": (at - 1, at + w),
        "inside": (at - Decimal("0.02"), at + Decimal("0.02")),
    }[edge]
    m = measurement(
        float(value), lsl=float(lsl), usl=float(usl), rule=rule, u=float(u), verdict=verdict
    )
    assert rejudge([m], curve) == [r for r in [rejudge_one(m, curve)] if r is not None]
