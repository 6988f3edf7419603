"""Decision rules at every boundary: simple (ILAC G8, w = 0) and guarded (ISO 14253-1, w = U)."""

from __future__ import annotations

from datetime import date

import pytest

from station.core.model import Characteristic, Instrument
from station.core.units import UnitError
from station.core.verdict import (
    ConfigurationError,
    acceptance_zone,
    decide,
    inspection_result,
    judge_attribute,
    judge_variable,
)

BORE = Characteristic(
    id="bore-dia", kind="variable", nominal=12.35, lsl=12.3, usl=12.4, unit="mm",
    instrument_type="caliper",
)  # fmt: skip
GUARDED = Characteristic(
    id="bore-dia", kind="variable", nominal=12.35, lsl=12.3, usl=12.4, unit="mm",
    instrument_type="caliper", rule="guarded",
)  # fmt: skip
VISUAL = Characteristic(id="burr-free", kind="attribute")


def caliper(
    unit: str = "mm", resolution: float = 0.001, u: float | None = None, iid: str = "CAL-0042"
) -> Instrument:
    return Instrument(iid, "caliper", "active", date(2027, 3, 1), unit, resolution, u=u)


SIMPLE_TABLE = [
    # value, lsl, usl, verdict
    ("12.299", 12.3, 12.4, "fail"),
    ("12.3", 12.3, 12.4, "pass"),  # exactly on lsl
    ("12.35", 12.3, 12.4, "pass"),
    ("12.4", 12.3, 12.4, "pass"),  # exactly on usl
    ("12.4000000001", 12.3, 12.4, "fail"),  # above, however little
    ("12.401", 12.3, 12.4, "fail"),
    ("-1000", None, 12.4, "pass"),  # one-sided: no lower limit
    ("12.4", None, 12.4, "pass"),
    ("12.41", None, 12.4, "fail"),
    ("12.29", 12.3, None, "fail"),
    ("12.3", 12.3, None, "pass"),
    ("1e9", 12.3, None, "pass"),
    ("5", 5, 5, "pass"),  # zero-width tolerance
    ("5.0001", 5, 5, "fail"),
]


@pytest.mark.parametrize(("value", "lsl", "usl", "expected"), SIMPLE_TABLE)
def test_simple_acceptance_limits_are_inclusive(
    value: str, lsl: float | None, usl: float | None, expected: str
) -> None:
    assert decide(value, lsl, usl, "simple") == expected


GUARDED_TABLE = [
    # value, verdict with lsl 12.3, usl 12.4, U 0.01 -> accept [12.31, 12.39], reject <12.29 >12.41
    ("12.2899", "fail"),
    ("12.29", "indeterminate"),  # exactly lsl - U: not proven non-conforming
    ("12.3", "indeterminate"),  # on the limit, inside U
    ("12.3099", "indeterminate"),
    ("12.31", "pass"),  # exactly lsl + U
    ("12.35", "pass"),
    ("12.39", "pass"),  # exactly usl - U
    ("12.3901", "indeterminate"),
    ("12.4", "indeterminate"),
    ("12.41", "indeterminate"),  # exactly usl + U
    ("12.4101", "fail"),
]


@pytest.mark.parametrize(("value", "expected"), GUARDED_TABLE)
def test_guarded_zones(value: str, expected: str) -> None:
    assert decide(value, 12.3, 12.4, "guarded", 0.01) == expected


@pytest.mark.parametrize(("value", "lsl", "usl", "expected"), SIMPLE_TABLE)
def test_guarded_with_zero_u_is_simple(
    value: str, lsl: float | None, usl: float | None, expected: str
) -> None:
    assert decide(value, lsl, usl, "guarded", 0) == expected


def test_guarded_one_sided() -> None:
    assert decide("12.39", None, 12.4, "guarded", 0.01) == "pass"
    assert decide("12.40", None, 12.4, "guarded", 0.01) == "indeterminate"
    assert decide("12.42", None, 12.4, "guarded", 0.01) == "fail"
    assert decide("-5", None, 12.4, "guarded", 0.01) == "pass"


def test_guarded_band_wider_than_half_the_tolerance_never_passes() -> None:
    assert decide("12.35", 12.3, 12.4, "guarded", 0.06) == "indeterminate"
    zone = acceptance_zone(12.3, 12.4, "guarded", 0.06)
    assert zone.empty
    assert zone.lower == pytest.approx(12.36)
    assert zone.upper == pytest.approx(12.34)


def test_guard_band_of_exactly_half_the_tolerance_leaves_one_passing_value() -> None:
    # Issue 12.6: the zone is empty only when 2U > tolerance.
    assert decide("12.35", 12.3, 12.4, "guarded", 0.05) == "pass"
    assert decide("12.351", 12.3, 12.4, "guarded", 0.05) == "indeterminate"
    zone = acceptance_zone(12.3, 12.4, "guarded", 0.05)
    assert not zone.empty
    assert zone.lower == zone.upper == 12.35


def test_guarded_without_u_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"guarded decision rule \(ISO 14253-1\) needs"):
        decide("12.35", 12.3, 12.4, "guarded", None)


@pytest.mark.parametrize(
    ("lsl", "usl", "rule", "u", "message"),
    [
        (None, None, "simple", None, "needs lsl, usl or both; got none"),
        (12.4, 12.3, "simple", None, "lsl 12.4 is above usl 12.3"),
        (12.3, 12.4, "guarded", -0.01, r"U must be >= 0, got -0.01"),
        (
            12.3,
            12.4,
            "strict",
            None,
            r"unknown decision rule 'strict' \(expected simple or guarded\)",
        ),
    ],
)
def test_bad_rule_configuration_messages(
    lsl: float | None, usl: float | None, rule: str, u: float | None, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        decide("12.35", lsl, usl, rule, u)  # type: ignore[arg-type]


def test_value_exactly_on_a_limit_passes_despite_float32_noise() -> None:
    # A Modbus float32 register holding 12.4 decodes to 12.399999618530273 (and 12.3 to
    # 12.300000190734863); quantized to the instrument's 0.001 mm resolution it is the limit.
    j = judge_variable(BORE, 12.399999618530273, "mm", instrument=caliper())
    assert (j.verdict, j.value, j.quantized) == ("pass", 12.4, True)
    assert judge_variable(BORE, 12.300000190734863, "mm", instrument=caliper()).verdict == "pass"
    assert judge_variable(BORE, 12.4 + 1e-12, "mm", instrument=caliper()).verdict == "pass"


SHIM = Characteristic("shim", "variable", lsl=3.2, usl=3.3, unit="mm")


def test_float_arithmetic_noise_on_a_limit_is_removed_by_quantization() -> None:
    value = 1.1 * 3  # 3.3 in decimal, 3.3000000000000003 in binary (a driver's scale factor)
    assert value != 3.3
    j = judge_variable(SHIM, value, "mm", instrument=caliper())
    assert (j.verdict, j.value, j.quantized) == ("pass", 3.3, True)


def test_without_an_instrument_nothing_is_quantized() -> None:
    j = judge_variable(SHIM, 1.1 * 3, "mm")
    assert (j.verdict, j.quantized) == ("fail", False)


def test_a_real_digit_beyond_the_registered_resolution_is_kept_not_rounded() -> None:
    # The record carries the instrument's value: 3.305 from a gauge registered at 0.01 mm
    # stays 3.305 (and fails a 3.3 limit) instead of being rounded into tolerance.
    coarse = caliper(resolution=0.01)
    j = judge_variable(SHIM, "3.305", "mm", instrument=coarse)
    assert (j.value, j.verdict, j.quantized) == (3.305, "fail", False)


def test_float_noise_is_snapped_to_the_resolution_grid() -> None:
    # float32 of 3.3 from a Modbus register: 3.299999952316284
    coarse = caliper(resolution=0.001)
    j = judge_variable(SHIM, 3.299999952316284, "mm", instrument=coarse)
    assert (j.value, j.verdict, j.quantized) == (3.3, "pass", True)


INCH_TABLE = [
    # reading in inch (instrument in inch, resolution 0.0001 in) against 12.3..12.4 mm
    ("0.4882", "fail", 12.40028),  # 12.40028 mm: just above 12.4
    ("0.4881", "pass", 12.39774),
    ("0.4842", "fail", 12.29868),  # just below 12.3
    ("0.4843", "pass", 12.30122),
]


@pytest.mark.parametrize(("reading", "verdict", "mm"), INCH_TABLE)
def test_unit_converted_readings(reading: str, verdict: str, mm: float) -> None:
    j = judge_variable(BORE, float(reading), "in", instrument=caliper("in", 0.0001))
    assert j.verdict == verdict
    assert j.value == pytest.approx(mm, abs=1e-12)
    assert j.unit == "mm"
    assert (j.reading, j.reading_unit) == (reading, "in")
    assert j.resolution == pytest.approx(0.00254)


def test_a_limit_in_inch_is_met_exactly_by_its_mm_equivalent() -> None:
    inch_plan = Characteristic("od", "variable", lsl=0.4, usl=0.5, unit="in")
    # 12.7 mm is exactly 0.5 in: on the limit, so it passes.
    assert judge_variable(inch_plan, 12.7, "mm", instrument=caliper()).verdict == "pass"
    assert judge_variable(inch_plan, 12.701, "mm", instrument=caliper()).verdict == "fail"


def test_reading_in_another_unit_than_the_instrument_is_not_quantized() -> None:
    # The instrument is registered in mm (0.01 mm) but the reading arrives in inch: its
    # resolution in inch is unknown, so the reading is converted exactly, not rounded.
    j = judge_variable(BORE, 0.4882, "in", instrument=caliper("mm", 0.01))
    assert (j.verdict, j.value, j.quantized) == ("fail", 12.40028, False)


def test_guarded_uses_the_instruments_u_converted_to_the_plan_unit() -> None:
    inst = caliper("um", 1, u=10.0)  # U = 10 µm = 0.01 mm
    assert judge_variable(GUARDED, 12390, "um", instrument=inst).verdict == "pass"
    assert judge_variable(GUARDED, 12395, "um", instrument=inst).verdict == "indeterminate"
    assert judge_variable(GUARDED, 12411, "um", instrument=inst).verdict == "fail"
    j = judge_variable(GUARDED, 12390, "um", instrument=inst)
    assert j.u == pytest.approx(0.01)
    assert j.zone.lower == pytest.approx(12.31)
    assert j.zone.upper == pytest.approx(12.39)
    assert j.zone.reject_above == pytest.approx(12.41)


def test_guarded_without_instrument_u_names_the_characteristic_and_instrument() -> None:
    with pytest.raises(
        ConfigurationError,
        match=r"characteristic bore-dia uses the guarded decision rule \(ISO 14253-1\), which "
        r"needs the instrument's expanded uncertainty U, but instrument CAL-0042 has none",
    ):
        judge_variable(GUARDED, 12.35, "mm", instrument=caliper())
    with pytest.raises(ConfigurationError, match="but no instrument was given"):
        judge_variable(GUARDED, 12.35, "mm")


def test_simple_rule_records_a_known_u_but_does_not_use_it() -> None:
    j = judge_variable(BORE, 12.4, "mm", instrument=caliper(u=0.005))
    assert (j.verdict, j.u, j.zone.guard_band) == ("pass", 0.005, 0.0)


def test_position_in_tolerance() -> None:
    assert judge_variable(BORE, 12.3, "mm").position == 0.0
    assert judge_variable(BORE, 12.35, "mm").position == pytest.approx(0.5)
    assert judge_variable(BORE, 12.4, "mm").position == 1.0
    assert judge_variable(BORE, 12.45, "mm").position == pytest.approx(1.5)
    one_sided = Characteristic("runout", "variable", usl=0.02, unit="mm")
    assert judge_variable(one_sided, 0.01, "mm").position is None


def test_judgement_carries_the_limits_as_the_plan_gives_them() -> None:
    j = judge_variable(BORE, "12.346", "mm", instrument=caliper())
    assert (j.lsl, j.usl, j.nominal, j.rule, j.instrument) == (
        12.3, 12.4, 12.35, "simple", "CAL-0042",
    )  # fmt: skip
    assert (j.zone.lower, j.zone.upper) == (12.3, 12.4)


def test_incompatible_reading_unit_is_a_unit_error() -> None:
    with pytest.raises(UnitError, match=r"cannot convert from 'g' \(mass\) to 'mm' \(length\)"):
        judge_variable(BORE, 12.3, "g")


def test_nan_reading_is_refused() -> None:
    with pytest.raises(ValueError, match="expected a finite number, got nan"):
        judge_variable(BORE, float("nan"), "mm")


def test_characteristic_configuration_errors_name_it() -> None:
    with pytest.raises(ConfigurationError, match="characteristic burr-free is an attribute"):
        judge_variable(VISUAL, 1.0, "mm")
    no_unit = Characteristic("x", "variable", lsl=1.0)
    with pytest.raises(ConfigurationError, match="characteristic x has no unit"):
        judge_variable(no_unit, 1.0, "mm")
    no_limits = Characteristic("y", "variable", unit="mm")
    with pytest.raises(
        ConfigurationError, match="characteristic y: a variable characteristic needs"
    ):
        judge_variable(no_limits, 1.0, "mm")


def test_attribute_verdicts() -> None:
    assert judge_attribute(VISUAL, True) == "pass"
    assert judge_attribute(VISUAL, False) == "fail"
    with pytest.raises(TypeError, match=r"must be True or False, got 'yes'"):
        judge_attribute(VISUAL, "yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="characteristic bore-dia is a variable"):
        judge_attribute(BORE, True)


@pytest.mark.parametrize(
    ("verdicts", "result"),
    [
        (["pass"], "accept"),
        (["pass", "pass"], "accept"),
        (["pass", "indeterminate"], "indeterminate"),
        (["indeterminate", "fail", "pass"], "reject"),
        (["fail"], "reject"),
        (["indeterminate"], "indeterminate"),
    ],
)
def test_inspection_result(verdicts: list[str], result: str) -> None:
    assert inspection_result(verdicts) == result  # type: ignore[arg-type]


def test_inspection_result_needs_verdicts() -> None:
    with pytest.raises(ValueError, match="needs at least one measurement verdict"):
        inspection_result([])
    with pytest.raises(ValueError, match=r"unknown verdicts \['ok'\]"):
        inspection_result(["pass", "ok"])  # type: ignore[list-item]
