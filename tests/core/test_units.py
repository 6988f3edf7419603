"""Unit conversions: exact factors, every accepted spelling, and errors that say what is known."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station.core.units import (
    UnitError,
    canonical,
    compatible,
    convert,
    exact,
    factor,
    known_units,
    same_unit,
)


@pytest.mark.parametrize(
    ("value", "src", "dst", "expected"),
    [
        (1.0, "in", "mm", 25.4),
        (0.4882, "in", "mm", 12.40028),
        (12.346, "mm", "um", 12346.0),
        (12346.0, "µm", "mm", 12.346),  # U+00B5 micro sign
        (12346.0, "μm", "mm", 12.346),  # U+03BC Greek mu
        (1.0, "kg", "g", 1000.0),
        (250.0, "mg", "g", 0.25),
        (1.0, "lbf.in", "N.m", 0.1129848290276167),
        (1.0, "lbf·in", "N·m", 0.1129848290276167),
        (1.0, "in.lbf", "Nm", 0.1129848290276167),
        (-18.78, "lbFin", "N.m", -18.78 * 0.1129848290276167),
        (100.0, "N.cm", "N.m", 1.0),
        (1.0, "lbf.ft", "lbf.in", 12.0),
        (16.0, "ozf.in", "lbf.in", 1.0),
        (1.0, "lb", "oz", 16.0),
        (1.0, "kgf", "N", 9.80665),
        (5.0, "ct", "g", 1.0),
        (0.5, " mm ", "MM", 0.5),
    ],
)
def test_convert_floats(value: float, src: str, dst: str, expected: float) -> None:
    assert convert(value, src, dst) == pytest.approx(expected, rel=1e-15)


def test_factors_are_exact_and_derived_from_the_definitions() -> None:
    # NIST SP 811 B.8: 1 in = 0.0254 m exactly; lbf = 0.45359237 kg * 9.80665 m/s^2.
    lbf = Fraction("0.45359237") * Fraction("9.80665")
    assert factor("lbf", "N") == lbf
    assert factor("lbf.in", "N.m") == lbf * Fraction("0.0254")
    assert factor("lbf.ft", "N.m") == lbf * Fraction("0.3048")
    assert factor("ozf.in", "N.m") == lbf * Fraction("0.0254") / 16
    assert factor("in", "mm") == Fraction("25.4")
    assert factor("oz", "g") == Fraction("453.59237") / 16


def test_a_converted_limit_value_is_exact_not_float_noise() -> None:
    assert convert(0.4882, "in", "mm") == 12.40028
    assert convert(Fraction("0.4882"), "in", "mm") == Fraction("12.40028")
    assert convert(Decimal("0.4882"), "in", "mm") == Decimal("12.40028")


def test_spellings_share_one_canonical_name() -> None:
    assert canonical("N·m") == canonical("Nm") == canonical("N.m") == "N.m"
    assert canonical("lbf·in") == canonical("in.lbf") == canonical("lbFin") == "lbf.in"
    assert canonical("µm") == canonical("μm") == "um"
    assert same_unit("inch", "in")
    assert not same_unit("in", "mm")
    assert compatible("in", "mm")
    assert not compatible("mm", "g")
    assert not compatible("mm", "furlong")


def test_unit_spellings_are_case_sensitive_so_nm_is_not_a_newton_metre() -> None:
    with pytest.raises(UnitError, match=r"unknown unit 'nm'"):
        canonical("nm")


def test_unknown_unit_names_both_units_and_the_known_ones_of_the_dimension() -> None:
    with pytest.raises(UnitError) as info:
        convert(1.0, "mmm", "in")
    text = str(info.value)
    assert "cannot convert from 'mmm' to 'in': unknown unit 'mmm'" in text
    assert "known length units: m, cm, mm, MM, um, µm" in text
    assert "mass" not in text


def test_incompatible_units_name_both_dimensions_and_their_units() -> None:
    with pytest.raises(UnitError) as info:
        convert(1.0, "mm", "g")
    text = str(info.value)
    assert "cannot convert from 'mm' (length) to 'g' (mass): they measure different things" in text
    assert "known length units:" in text
    assert "known mass units: kg, g, mg" in text


def test_both_units_unknown_lists_every_dimension() -> None:
    with pytest.raises(UnitError, match=r"known length units: .*known torque units: "):
        factor("a", "b")


def test_known_units_by_dimension() -> None:
    assert "N.m" in known_units("torque")
    assert "mm" not in known_units("torque")
    assert set(known_units()) >= {"mm", "g", "N", "N.m"}


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), Decimal("NaN"), "inf", "12,4", True])
def test_exact_refuses_what_is_not_a_finite_number(bad: object) -> None:
    with pytest.raises(ValueError, match=r"expected a (finite|decimal) number|boolean"):
        exact(bad)  # type: ignore[arg-type]


def test_exact_takes_floats_by_their_shortest_repr() -> None:
    assert exact(12.4) == Fraction(124, 10)
    assert exact(" 12.40 ") == Fraction(124, 10)
    assert exact(Decimal("1E-3")) == Fraction(1, 1000)
    assert exact(3) == 3


UNIT_PAIRS = [
    (a, b)
    for dim in ("length", "mass", "force", "torque")
    for a in known_units(dim)
    for b in known_units(dim)
]


@given(
    st.sampled_from(UNIT_PAIRS),
    st.decimals(min_value=-(10**6), max_value=10**6, places=6, allow_nan=False),
)
def test_exact_round_trip(pair: tuple[str, str], value: Decimal) -> None:
    a, b = pair
    x = Fraction(value)
    assert convert(convert(x, a, b), b, a) == x


@given(
    st.sampled_from(UNIT_PAIRS),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
)
def test_float_round_trip_within_a_few_ulps(pair: tuple[str, str], value: float) -> None:
    a, b = pair
    assert convert(convert(value, a, b), b, a) == pytest.approx(value, rel=1e-15, abs=1e-300)
