"""Type-1 gauge study (Bosch Booklet 10 §4.1, VDA 5): Cg, Cgk, bias, resolution, verdict."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import sqrt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.core.msa_tables import MsaError
from station.core.msa_type1 import type1

# The Type-1 example of the R package qualityTools (T. Roth, vignette "qualityTools:
# Statistics in Quality Science", §"Gage Capability - MSA Type I"): 25 readings of a unit
# with reference 10.003, specification 9.903 .. 10.103 (T = 0.2). The vignette shows the
# result only as a figure, so the expected values are derived here independently in exact
# rational arithmetic from the definitions, not taken from printed digits.
ROTH = [
    "9.991", "10.013", "10.001", "10.007", "10.010", "10.013", "10.008", "10.017", "10.005",
    "10.005", "10.002", "10.017", "10.005", "10.002", "9.996", "10.011", "10.009", "10.006",
    "10.008", "10.003", "10.002", "10.006", "10.010", "9.992", "10.013",
]  # fmt: skip


# A published Type-1 study with its reference results: the data set `Type1.csv` of JASP's
# quality-control module (jasp-stats/jaspQualityControl, tests/testthat; "Type 1 Study,
# Schweinfurt, gauge S-441-0, 13-Nov-10": 50 readings of dm in µm, reference -4.0 µm,
# resolution 0.1 µm, tolerance 15 µm) and the results JASP's test prints for it
# (test-msaType1Gauge.R): mean -3.946, bias 0.054, s 0.420014577006512, 6s 2.52008746203907,
# Cg 1.19, Cgk 1.15, %Var(repeatability) 16.8, %Var(repeatability and bias) 17.43.
JASP_DM = [
    "-4", "-4.1", "-4.1", "-4.1", "-4.1", "-3.9", "-3.9", "-3.9", "-4.1", "-4.2",
    "-3.9", "-4.2", "-4", "-3.8", "-3.9", "-3.9", "-3.9", "-3.9", "-4.6", "-4.3",
    "-3.9", "-3.7", "-3.7", "-3.9", "-4", "-5", "-3.9", "-3.8", "-3.7", "-3.8",
    "-3.7", "-3.8", "-3.6", "-3.5", "-3.6", "-3.6", "-3.4", "-5.1", "-3.5", "-4",
    "-4.5", "-3.5", "-5.1", "-5", "-3.5", "-3.5", "-3.5", "-3.6", "-3.6", "-3.5",
]  # fmt: skip


def test_the_published_jasp_type1_study_to_its_printed_digits() -> None:
    r = type1([Decimal(v) for v in JASP_DM], Decimal("-4"), Decimal("15"), Decimal("0.1"))
    assert r.n == 50
    assert round(r.mean, 3) == -3.946 and round(r.bias, 3) == 0.054
    assert r.s == pytest.approx(0.420014577006512, rel=1e-12)
    assert 6 * r.s == pytest.approx(2.52008746203907, rel=1e-12)
    assert r.cg is not None and r.cgk is not None
    assert (round(r.cg, 2), round(r.cgk, 2)) == (1.19, 1.15)
    # Minitab's %Var figures are 20 / Cg and 20 / Cgk (K = 20 % of the tolerance).
    assert (round(20 / r.cg, 1), round(20 / r.cgk, 2)) == (16.8, 17.43)
    assert r.verdict == "unacceptable"  # both below 1.33 (Bosch booklet 10)
    assert r.resolution_pct == pytest.approx(100 * 0.1 / 15)  # 0.67 %: no warning


def test_roth_example_against_exact_arithmetic() -> None:
    xs = [Fraction(v) for v in ROTH]
    n = len(xs)
    mean = sum(xs, Fraction(0)) / n
    var = sum(((x - mean) ** 2 for x in xs), Fraction(0)) / (n - 1)
    assert mean == Fraction("10.00608")
    s = sqrt(var)
    t, ref = Fraction("0.2"), Fraction("10.003")
    cg = float(Fraction(2, 10) * t) / (6 * s)
    cgk = float(Fraction(1, 10) * t - abs(mean - ref)) / (3 * s)
    r = type1(
        [Decimal(v) for v in ROTH], reference=Decimal("10.003"), tolerance=0.2, resolution=0.001
    )
    assert r.n == 25
    assert r.mean == pytest.approx(float(mean), rel=1e-15)
    assert r.s == pytest.approx(s, rel=1e-12)
    assert r.bias == pytest.approx(0.00308, abs=1e-12)
    assert r.cg == pytest.approx(cg, rel=1e-12)
    assert r.cgk == pytest.approx(cgk, rel=1e-12)
    assert (round(r.cg or 0, 2), round(r.cgk or 0, 2)) == (1.00, 0.84)
    assert r.resolution_pct == pytest.approx(0.5)
    assert r.verdict == "unacceptable"  # both below 1.33
    assert r.notes == ()


def test_hand_example_on_the_limit() -> None:
    """9.99, 10.00, 10.01: s = 0.01; T = 0.4: Cg = 0.08/0.06 = 1.333.., Cgk = 0.04/0.03."""
    r = type1([9.99, 10.0, 10.01], reference=10.0, tolerance=0.4)
    assert r.cg == pytest.approx(4 / 3) and r.cgk == pytest.approx(4 / 3)
    assert r.verdict == "acceptable"
    assert "at least 25" in r.notes[0]
    biased = type1([9.99, 10.0, 10.01], reference=9.995, tolerance=0.4)
    assert biased.cgk == pytest.approx((0.04 - 0.005) / 0.03)
    assert biased.verdict == "unacceptable"
    assert type1([9.99, 10.0, 10.01], 9.995, 0.4, limits={"cgk": 1.1}).verdict == "acceptable"


def test_coarse_resolution_warns_and_zero_spread_is_not_divided() -> None:
    warned = type1([1.0, 1.1] * 13, reference=1.05, tolerance=1.0, resolution=0.1)
    assert warned.resolution_pct == pytest.approx(10.0)
    assert any("above 5 %" in n for n in warned.notes)
    flat = type1([2.0] * 30, reference=2.0, tolerance=0.1, resolution=0.01)
    assert (flat.cg, flat.cgk, flat.s, flat.verdict) == (None, None, 0.0, "unacceptable")
    assert any("s = 0" in n for n in flat.notes)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(MsaError, match="at least 2"):
        type1([1.0], 1.0, 0.1)
    with pytest.raises(MsaError, match="positive"):
        type1([1.0, 1.1], 1.0, 0.0)
    with pytest.raises(MsaError, match="finite"):
        type1([1.0, float("nan")], 1.0, 0.1)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=60),
    st.floats(-1e3, 1e3),
    st.floats(1e-3, 1e3),
    st.randoms(use_true_random=False),
)
def test_cg_is_never_below_cgk_and_order_is_irrelevant(
    values: list[float], ref: float, tol: float, rnd: object
) -> None:
    r = type1(values, ref, tol)
    if r.cg is not None and r.cgk is not None:
        assert r.cg >= r.cgk
    shuffled = list(values)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    again = type1(shuffled, ref, tol)
    assert (again.mean, again.cg, again.cgk, again.verdict) == (r.mean, r.cg, r.cgk, r.verdict)
