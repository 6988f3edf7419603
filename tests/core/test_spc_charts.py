"""Control chart factors, subgroups and frozen limits against published worked examples.

Sources used (only numbers we are sure of):
- NIST/SEMATECH e-Handbook of Statistical Methods §6.3.2.2 "Individuals control charts":
  flow rate of 10 batches; printed x̄ = 50.81, MR̄ = 1.8778, UCL = 55.8041, LCL = 45.8159.
- Montgomery, Introduction to Statistical Quality Control, Example 6.1 (piston ring inside
  diameters, 25 samples of n = 5, Table 6.3 in the 6th ed.): printed x̿ = 74.001, R̄ = 0.023,
  UCL = 74.014, LCL = 73.988, R chart UCL = D4·R̄ = 2.114(0.023) = 0.049. The raw values are
  the R qcc package's `pistonrings` data set (samples 1-25); their x̿ and R̄ reproduce qcc's
  printed "Center 74.00118, StdDev 0.009785039" (σ = R̄/2.326), which checks the transcription.
- Factor table: Montgomery Appendix VI / ASTM E2587, checked against the defining formulas.
"""

from __future__ import annotations

import math
import statistics

import pytest

from station.core.model import Characteristic, SpcSpec
from station.core.spc import (
    FACTORS,
    Limits,
    SpcError,
    approved_limits,
    baseline_ready,
    c4_exact,
    chart_points,
    compute_limits,
    d2_exact,
    factors,
    group_values,
    limits_for,
)
from station.core.spc_charts import mean_stdev

NIST_FLOW = [49.6, 47.6, 49.9, 51.3, 47.8, 51.2, 52.6, 52.4, 53.6, 52.1]

PISTON_RINGS_1_25 = [
    (74.030, 74.002, 74.019, 73.992, 74.008),
    (73.995, 73.992, 74.001, 74.011, 74.004),
    (73.988, 74.024, 74.021, 74.005, 74.002),
    (74.002, 73.996, 73.993, 74.015, 74.009),
    (73.992, 74.007, 74.015, 73.989, 74.014),
    (74.009, 73.994, 73.997, 73.985, 73.993),
    (73.995, 74.006, 73.994, 74.000, 74.005),
    (73.985, 74.003, 73.993, 74.015, 73.988),
    (74.008, 73.995, 74.009, 74.005, 74.004),
    (73.998, 74.000, 73.990, 74.007, 73.995),
    (73.994, 73.998, 73.994, 73.995, 73.990),
    (74.004, 74.000, 74.007, 74.000, 73.996),
    (73.983, 74.002, 73.998, 73.997, 74.012),
    (74.006, 73.967, 73.994, 74.000, 73.984),
    (74.012, 74.014, 73.998, 73.999, 74.007),
    (74.000, 73.984, 74.005, 73.998, 73.996),
    (73.994, 74.012, 73.986, 74.005, 74.007),
    (74.006, 74.010, 74.018, 74.003, 74.000),
    (73.984, 74.002, 74.003, 74.005, 73.997),
    (74.000, 74.010, 74.013, 74.020, 74.003),
    (73.988, 74.001, 74.009, 74.005, 73.996),
    (74.004, 73.999, 73.990, 74.006, 74.009),
    (74.010, 73.989, 73.990, 74.009, 74.014),
    (74.015, 74.008, 73.993, 74.000, 74.010),
    (73.982, 73.984, 73.995, 74.017, 74.013),
]


# --- factors ---------------------------------------------------------------------------------


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _d3(n: int) -> float:
    """d3(n) = sd(R)/σ from E[R²] = 2∬_{x<y} 1 - Φ(y)^n - (1-Φ(x))^n + (Φ(y)-Φ(x))^n.

    Trapezoid rule on the triangle (error O(h²)), Richardson-extrapolated from h = 0.1 and
    0.05: d3(2) = sqrt(2 - 4/π) comes out to ~1e-7, ample for 3-decimal D3/D4.
    """

    def second_moment(h: float) -> float:
        cdf = [_phi(-8.0 + i * h) for i in range(round(16.0 / h) + 1)]
        total = 0.0
        for i, pi in enumerate(cdf):
            qi = (1.0 - pi) ** n
            row = 0.5 * (1.0 - pi**n - qi)  # the diagonal carries half weight
            for pj in cdf[i + 1 :]:
                row += 1.0 - pj**n - qi + (pj - pi) ** n
            total += row
        return 2.0 * total * h * h

    moment = (4.0 * second_moment(0.05) - second_moment(0.1)) / 3.0
    return math.sqrt(moment - d2_exact(n) ** 2)


def test_exact_factors_match_their_closed_forms() -> None:
    assert d2_exact(2) == pytest.approx(2.0 / math.sqrt(math.pi), abs=1e-12)
    assert d2_exact(3) == pytest.approx(3.0 / math.sqrt(math.pi), abs=1e-12)
    assert c4_exact(2) == pytest.approx(math.sqrt(2.0 / math.pi), abs=1e-15)
    assert _d3(2) == pytest.approx(math.sqrt(2.0 - 4.0 / math.pi), abs=1e-6)
    with pytest.raises(SpcError, match="c4 needs a sample size of at least 2, got 1"):
        c4_exact(1)


# Published D3/D4 were derived from d2 and d3 already rounded to 3 decimals, so a few differ
# from the exactly computed value by more than half a unit in the last place (never by more
# than one unit). These are the table's printed values, kept as printed.
_ROUNDING_QUIRKS = {(3, "D4"), (18, "D4"), (19, "D3"), (19, "D4"), (22, "D3"), (22, "D4")}
_ROUNDING_QUIRKS |= {(24, "D3")}


def test_factor_table_agrees_with_the_defining_formulas() -> None:
    assert sorted(FACTORS) == list(range(2, 26))
    off: set[tuple[int, str]] = set()
    for n, f in FACTORS.items():
        c4, d2, d3 = c4_exact(n), d2_exact(n), _d3(n)
        exact = {
            "A2": 3.0 / (d2 * math.sqrt(n)),
            "A3": 3.0 / (c4 * math.sqrt(n)),
            "c4": c4,
            "B3": max(0.0, 1.0 - 3.0 * math.sqrt(1.0 - c4 * c4) / c4),
            "B4": 1.0 + 3.0 * math.sqrt(1.0 - c4 * c4) / c4,
            "d2": d2,
            "D3": max(0.0, 1.0 - 3.0 * d3 / d2),
            "D4": 1.0 + 3.0 * d3 / d2,
        }
        for name, value in exact.items():
            unit = 1e-4 if name == "c4" else 1e-3
            err = abs(getattr(f, name) - value)
            assert err <= unit + 1e-9, (n, name, getattr(f, name), value)
            if err > unit / 2 + 1e-9:
                off.add((n, name))
    assert off == _ROUNDING_QUIRKS


def test_factors_outside_the_table_are_refused() -> None:
    assert factors(5).A2 == 0.577
    with pytest.raises(SpcError, match=r"subgroup sizes 2\.\.25, got 26"):
        factors(26)


# --- published worked examples -----------------------------------------------------------------


def test_nist_individuals_chart_flow_rate_example() -> None:
    """NIST/SEMATECH e-Handbook §6.3.2.2: printed to 4 decimals."""
    spec = SpcSpec(chart="imr", subgroup=1, baseline=10)
    limits = compute_limits(spec, group_values(spec, NIST_FLOW))
    assert round(limits.location.center, 4) == 50.81
    assert round(limits.dispersion.center, 4) == 1.8778
    assert round(limits.location.ucl, 4) == 55.8041
    assert round(limits.location.lcl, 4) == 45.8159
    # MR chart: derived from the factors (D4(2) = 3.267, D3(2) = 0), not a printed figure.
    assert limits.dispersion.ucl == pytest.approx(3.267 * 16.9 / 9, rel=1e-12)
    assert limits.dispersion.lcl == 0.0
    assert limits.sigma == pytest.approx(16.9 / 9 / 1.128, rel=1e-12)
    assert (limits.n_subgroups, limits.source) == (10, "baseline")


def test_montgomery_example_6_1_piston_rings_xbar_r() -> None:
    spec = SpcSpec(chart="xbar-r", subgroup=5, baseline=25)
    limits = compute_limits(spec, PISTON_RINGS_1_25)
    # Transcription check against qcc's printed output (x̿, and σ̂ = R̄/d2 with d2 = 2.326).
    assert round(limits.location.center, 5) == 74.00118
    assert round(limits.dispersion.center, 5) == 0.02276
    assert round(limits.sigma, 9) == 0.009785039
    # Montgomery's printed figures (3 decimals).
    assert round(limits.location.center, 3) == 74.001
    assert round(limits.dispersion.center, 3) == 0.023
    assert round(limits.location.ucl, 3) == 74.014
    assert round(limits.location.lcl, 3) == 73.988
    # qcc prints LCL 73.98805 / UCL 74.01431; it uses 3σ̂/√n where Montgomery uses A2 = 0.577:
    # the two routes differ by 4e-6 here.
    assert limits.location.ucl == pytest.approx(74.01431, abs=1e-5)
    assert limits.location.lcl == pytest.approx(73.98805, abs=1e-5)
    assert limits.dispersion.lcl == 0.0  # D3 = 0 for n = 5
    # Montgomery computes the R chart UCL from the rounded R̄: D4·R̄ = 2.114(0.023) = 0.049.
    assert round(factors(5).D4 * 0.023, 3) == 0.049
    assert limits.dispersion.ucl == pytest.approx(2.114 * 0.02276, abs=1e-9)


def test_xbar_s_limits_follow_a3_b3_b4_c4() -> None:
    """X̄-S on the piston rings: derived from the factors (no printed figures relied on)."""
    spec = SpcSpec(chart="xbar-s", subgroup=5, baseline=25)
    limits = compute_limits(spec, PISTON_RINGS_1_25)
    s_bar = sum(
        math.sqrt(sum((v - sum(g) / 5) ** 2 for v in g) / 4) for g in PISTON_RINGS_1_25
    ) / len(PISTON_RINGS_1_25)
    assert limits.dispersion.center == pytest.approx(s_bar, rel=1e-12)
    assert limits.location.ucl == pytest.approx(74.001176 + 1.427 * s_bar, abs=1e-9)
    assert limits.location.lcl == pytest.approx(74.001176 - 1.427 * s_bar, abs=1e-9)
    assert limits.dispersion.ucl == pytest.approx(2.089 * s_bar, rel=1e-12)
    assert limits.dispersion.lcl == 0.0
    assert limits.sigma == pytest.approx(s_bar / 0.9400, rel=1e-12)


def test_larger_subgroups_get_a_positive_r_chart_lcl() -> None:
    spec = SpcSpec(chart="xbar-r", subgroup=7, baseline=2)
    limits = compute_limits(spec, [(1, 2, 3, 4, 5, 6, 7), (2, 3, 4, 5, 6, 7, 9)])
    assert limits.dispersion.center == 6.5
    assert limits.dispersion.lcl == pytest.approx(0.076 * 6.5)
    assert limits.dispersion.ucl == pytest.approx(1.924 * 6.5)


# --- baseline, freezing, approved limits -------------------------------------------------------


def test_limits_use_only_the_first_baseline_subgroups() -> None:
    spec = SpcSpec(chart="xbar-r", subgroup=5, baseline=20)
    drifted = [*PISTON_RINGS_1_25, *[(75.0, 75.1, 75.2, 75.3, 75.4)] * 10]
    assert compute_limits(spec, drifted) == compute_limits(spec, PISTON_RINGS_1_25[:20])
    assert compute_limits(spec, drifted).n_subgroups == 20


def test_baseline_ready_and_too_short_baseline() -> None:
    spec = SpcSpec(chart="xbar-r", subgroup=5, baseline=25)
    assert not baseline_ready(spec, 24)
    assert baseline_ready(spec, 25)
    assert baseline_ready(SpcSpec(center=1.0, ucl=2.0, lcl=0.0), 0)
    with pytest.raises(SpcError, match="spc baseline needs 25 subgroups of 5, got 24"):
        compute_limits(spec, PISTON_RINGS_1_25[:24])


def test_approved_limits_are_taken_as_given_and_ignore_data() -> None:
    spec = SpcSpec(chart="xbar-r", subgroup=4, center=10.0, ucl=10.6, lcl=9.4)
    limits = compute_limits(spec, [])
    assert limits.source == "approved"
    assert limits.location == Limits(10.0, 10.6, 9.4)
    assert limits.n_subgroups == 0
    assert limits.sigma == pytest.approx(0.2 * 2.0)  # (ucl - lcl)/6 · √n
    r_bar = 2.059 * 0.4
    assert limits.dispersion.center == pytest.approx(r_bar)
    assert limits.dispersion.ucl == pytest.approx(2.282 * r_bar)
    assert approved_limits(spec) == limits
    imr = compute_limits(SpcSpec(center=5.0, ucl=5.3, lcl=4.7), [])
    assert imr.dispersion.center == pytest.approx(1.128 * 0.1)
    s_chart = compute_limits(SpcSpec(chart="xbar-s", subgroup=9, center=0, ucl=1, lcl=-1), [])
    assert s_chart.dispersion.center == pytest.approx(0.9693 * (2 / 6) * 3)


def test_asymmetric_approved_limits_are_accepted() -> None:
    limits = compute_limits(SpcSpec(center=10.0, ucl=13.0, lcl=4.0), [])
    assert limits.location.sigma_upper == 1.0
    assert limits.location.sigma_lower == 2.0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            SpcSpec(chart="imr", subgroup=5),
            r"'imr' takes one value per subgroup: expected subgroup 1, got 5",
        ),
        (
            SpcSpec(chart="xbar-r", subgroup=1),
            r"'xbar-r' needs subgroups of 2\.\.25, got subgroup 1",
        ),
        (
            SpcSpec(chart="xbar-s", subgroup=26),
            r"'xbar-s' needs subgroups of 2\.\.25, got subgroup 26",
        ),
        (SpcSpec(baseline=1), "spc baseline needs at least 2 subgroups, got 1"),
        (SpcSpec(center=1.0, ucl=2.0), "need center, ucl and lcl together, got only center, ucl"),
        (SpcSpec(center=1.0, ucl=2.0, lcl=1.0), r"lcl < center < ucl, got lcl=1\.0 center=1\.0"),
        (SpcSpec(center=1.0, ucl=0.5, lcl=0.0), r"lcl < center < ucl"),
        (SpcSpec(chart="p", subgroup=1), "spc chart must be 'imr', 'xbar-r' or 'xbar-s', got 'p'"),  # type: ignore[arg-type]
    ],
)
def test_unchartable_specs_are_refused_with_the_reason(spec: SpcSpec, message: str) -> None:
    with pytest.raises(SpcError, match=message):
        compute_limits(spec, [(1.0,), (2.0,)])


def test_bad_subgroups_are_refused_not_repaired() -> None:
    spec = SpcSpec(chart="xbar-r", subgroup=3, baseline=2)
    with pytest.raises(SpcError, match=r"subgroup 1 has 2 values, expected spec\.subgroup = 3"):
        compute_limits(spec, [(1, 2, 3), (1, 2)])
    with pytest.raises(SpcError, match="subgroup 0 value 2 must be a finite number, got nan"):
        compute_limits(spec, [(1, 2, float("nan")), (1, 2, 3)])
    with pytest.raises(SpcError, match="value 1 must be a finite number, got 'x'"):
        group_values(spec, [1.0, "x", 2.0])  # type: ignore[list-item]


def test_a_baseline_without_spread_is_refused() -> None:
    spec = SpcSpec(baseline=5)
    with pytest.raises(SpcError, match=r"no spread \(mean MR = 0\).*gauge resolution"):
        compute_limits(spec, group_values(spec, [2.5] * 5))


@pytest.mark.parametrize("value", [30.1, 0.1, 12.345, 1e-9, 7.0])
def test_constant_subgroups_have_no_spread_on_an_xbar_s_chart(value: float) -> None:
    # Issue 12.4: in floating point the mean of [30.1] * 5 is not 30.1, which gave every
    # subgroup an S of ~1e-15 and limits 1e-14 wide instead of the "no spread" refusal.
    spec = SpcSpec("xbar-s", 5, ("nelson-1",), 25)
    groups = [(value,) * 5] * 25
    assert chart_points(spec, groups).dispersion == (0.0,) * 25
    with pytest.raises(SpcError, match=r"no spread \(mean S = 0\)"):
        compute_limits(spec, groups)


def test_mean_stdev_agrees_with_the_statistics_module() -> None:
    data = [74.030, 74.002, 74.019, 73.992, 74.008]
    mean, sd = mean_stdev(data)
    assert mean == pytest.approx(statistics.fmean(data), rel=1e-15)
    assert sd == pytest.approx(statistics.stdev(data), rel=1e-14)
    # the smallest spread there is (one ulp) is still a spread, not zero
    assert mean_stdev([30.1, math.nextafter(30.1, 31.0)])[1] > 0
    assert mean_stdev([0.1] * 3) == (0.1, 0.0)


def test_spec_limits_posing_as_control_limits_are_refused() -> None:
    spc = SpcSpec(center=10.0, ucl=10.5, lcl=9.5)
    char = Characteristic(id="d1", kind="variable", lsl=9.5, usl=10.5, spc=spc)
    with pytest.raises(SpcError, match="equal the specification limits"):
        limits_for(char, [])
    ok = Characteristic(id="d1", kind="variable", lsl=9.0, usl=11.0, spc=spc)
    assert limits_for(ok, []).location.ucl == 10.5
    with pytest.raises(SpcError, match="'a1' has no spc block"):
        limits_for(Characteristic(id="a1", kind="variable"), [])
    with pytest.raises(SpcError, match="need a variable characteristic, got 'attribute'"):
        limits_for(Characteristic(id="a2", kind="attribute", spc=SpcSpec()), [])


# --- subgroups and points --------------------------------------------------------------------


def test_group_values_drops_incomplete_subgroups_at_both_ends() -> None:
    spec = SpcSpec(chart="xbar-r", subgroup=3)
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert group_values(spec, values) == ((1.0, 2.0, 3.0), (4.0, 5.0, 6.0))
    # values[0] is the 5th value (position 4) of the series: positions 4 and 5 finish a
    # subgroup begun before the window, so the first full subgroup is positions 6, 7, 8.
    assert group_values(spec, values, start=4) == ((3.0, 4.0, 5.0), (6.0, 7.0, 8.0))
    assert group_values(spec, values, start=3) == ((1.0, 2.0, 3.0), (4.0, 5.0, 6.0))
    assert group_values(spec, [1.0, 2.0]) == ()
    assert group_values(SpcSpec(), [1.0, 2.0]) == ((1.0,), (2.0,))
    with pytest.raises(SpcError, match="start must be the 0-based position"):
        group_values(spec, values, start=-1)


def test_chart_points_per_chart_kind() -> None:
    imr = chart_points(SpcSpec(), [(1.0,), (3.0,), (2.0,)])
    assert imr.location == (1.0, 3.0, 2.0)
    assert imr.dispersion == (2.0, 1.0)
    assert imr.dispersion_offset == 1
    xr = chart_points(SpcSpec(chart="xbar-r", subgroup=2), [(1.0, 3.0), (2.0, 2.0)])
    assert (xr.location, xr.dispersion, xr.dispersion_offset) == ((2.0, 2.0), (2.0, 0.0), 0)
    xs = chart_points(SpcSpec(chart="xbar-s", subgroup=2), [(1.0, 3.0)])
    assert xs.dispersion == pytest.approx((math.sqrt(2.0),))
