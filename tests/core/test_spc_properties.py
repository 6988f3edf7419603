"""Properties of the SPC core, checked with hypothesis.

- the rule engine (one pass with run counters) equals a brute-force reading of each rule's
  definition over every window, on series full of ties and zone-boundary values;
- rules are mirror-symmetric, `new_signals` is the tail of `evaluate_rules`;
- X/X̄ limits are symmetric about the centre; shifting data by c shifts centre and limits by
  c, leaves the dispersion chart and the capability indices unchanged; scaling the spec
  width by k scales Cp by k; `chart_rows` always has the requested shape.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from station.core.model import ChartKind, NelsonRule, SpcSpec
from station.core.spc import (
    NELSON_RULES,
    Limits,
    SpcError,
    capability,
    chart_rows,
    compute_limits,
    evaluate_rules,
    new_signals,
)

UNIT = Limits(center=0.0, ucl=3.0, lcl=-3.0)
# Values on and around every zone boundary, so ties and boundaries are common.
LEVELS = [-3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
_level = st.sampled_from(LEVELS)


@st.composite
def _segment(draw: Any) -> list[float]:
    """A stretch shaped to sit near one rule's threshold, so runs of 13-16 actually occur."""
    kind = draw(st.sampled_from(["random", "alternate", "trend", "side", "within", "beyond"]))
    if kind == "random":
        return list(draw(st.lists(_level, max_size=12)))
    if kind == "alternate":
        n, a, b = draw(st.integers(10, 16)), draw(_level), draw(_level)
        return [a if k % 2 else b for k in range(n)]
    if kind == "trend":
        start, n = draw(st.integers(0, 8)), draw(st.integers(4, 8))
        return LEVELS[start : start + n][:: draw(st.sampled_from([1, -1]))]
    if kind == "side":
        side = draw(st.sampled_from([1.0, -1.0]))
        pool = st.sampled_from([0.5, 1.0, 1.5, 2.5] + [0.0] * draw(st.integers(0, 1)))
        return [side * v for v in draw(st.lists(pool, min_size=7, max_size=11))]
    if kind == "within":
        pool = st.sampled_from([-0.5, 0.0, 0.5] * 8 + [-1.0, 1.0])
        return list(draw(st.lists(pool, min_size=12, max_size=17)))
    pool = st.sampled_from([-3.5, -2.5, -1.5, 1.5, 2.5, 3.5] * 4 + [-1.0, 1.0, 2.0, -2.0])
    return list(draw(st.lists(pool, min_size=6, max_size=10)))


series = st.lists(_segment(), max_size=6).map(lambda parts: [v for p in parts for v in p])
rule_sets = st.sets(st.sampled_from(NELSON_RULES), min_size=1)


def _sign(v: float) -> int:
    return (v > 0) - (v < 0)


def _oracle(xs: list[float]) -> set[tuple[str, int, tuple[int, ...]]]:
    """Each rule read literally, window by window, with the documented conventions."""
    out: set[tuple[str, int, tuple[int, ...]]] = set()
    diffs = [_sign(b - a) for a, b in pairwise(xs)]  # diffs[i-1]: x[i]-x[i-1]

    def add(rule: str, first: int, last: int) -> None:
        out.add((rule, last, tuple(range(first, last + 1))))

    for i, x in enumerate(xs):
        if x > 3.0 or x < -3.0:
            add("nelson-1", i, i)
        if (
            i >= 8
            and len({_sign(v) for v in xs[i - 8 : i + 1]} - {0}) == 1
            and 0.0 not in xs[i - 8 : i + 1]
        ):
            add("nelson-2", i - 8, i)
        if i >= 5 and len(set(diffs[i - 5 : i])) == 1 and diffs[i - 1] != 0:
            add("nelson-3", i - 5, i)
        d = diffs[i - 13 : i] if i >= 13 else []
        if d and all(d[k] != 0 and d[k] == -d[k - 1] for k in range(1, 13)) and d[0] != 0:
            add("nelson-4", i - 13, i)
        for rule, m, k, level in (("nelson-5", 3, 2, 2.0), ("nelson-6", 5, 4, 1.0)):
            first = max(0, i - m + 1)
            for side in (1, -1):
                beyond = [side * v > level for v in xs[first : i + 1]]
                if beyond[-1] and sum(beyond) >= k:
                    add(rule, first, i)
        if i >= 14 and all(-1.0 < v < 1.0 for v in xs[i - 14 : i + 1]):
            add("nelson-7", i - 14, i)
        if i >= 7 and all(abs(v) > 1.0 for v in xs[i - 7 : i + 1]):
            add("nelson-8", i - 7, i)
    return out


@settings(max_examples=200, deadline=None)
@given(series)
def test_rule_engine_equals_the_brute_force_definitions(xs: list[float]) -> None:
    got = {(s.rule, s.index, s.indices) for s in evaluate_rules(xs, UNIT, NELSON_RULES)}
    assert got == _oracle(xs)


@settings(max_examples=60, deadline=None)
@given(series, rule_sets)
def test_rules_are_mirror_symmetric(xs: list[float], rules: set[NelsonRule]) -> None:
    def key(points: list[float]) -> list[tuple[str, int, tuple[int, ...]]]:
        return [(s.rule, s.index, s.indices) for s in evaluate_rules(points, UNIT, rules)]

    assert key(xs) == key([-v for v in xs])


@settings(max_examples=60, deadline=None)
@given(series, rule_sets)
def test_new_signals_are_the_signals_ending_at_the_last_point(
    xs: list[float], rules: set[NelsonRule]
) -> None:
    last = len(xs) - 1
    assert new_signals(xs, UNIT, rules) == [
        s for s in evaluate_rules(xs, UNIT, rules) if s.index == last
    ]


gauge_values = st.integers(-5000, 5000).map(lambda i: i / 100)


@st.composite
def baselines(draw: Any) -> tuple[SpcSpec, list[tuple[float, ...]]]:
    chart: ChartKind = draw(st.sampled_from(["imr", "xbar-r", "xbar-s"]))
    n = 1 if chart == "imr" else draw(st.integers(2, 6))
    k = draw(st.integers(2, 25))
    groups = draw(st.lists(st.tuples(*[gauge_values] * n), min_size=k, max_size=k))
    return SpcSpec(chart=chart, subgroup=n, baseline=k), groups


def _limits_or_reject(spec: SpcSpec, groups: list[tuple[float, ...]]) -> Any:
    try:
        return compute_limits(spec, groups)
    except SpcError as e:  # a baseline without spread is refused; not this property's case
        assert "no spread" in str(e)
        assume(False)


@settings(max_examples=60, deadline=None)
@given(baselines())
def test_location_limits_are_symmetric_about_the_centre(case: Any) -> None:
    limits = _limits_or_reject(*case)
    loc = limits.location
    assert loc.ucl - loc.center == pytest.approx(loc.center - loc.lcl, rel=1e-9, abs=1e-12)
    assert limits.sigma > 0
    assert limits.dispersion.lcl >= 0.0


@settings(max_examples=60, deadline=None)
@given(baselines(), st.integers(-100_000, 100_000).map(lambda i: i / 100))
def test_shifting_the_data_shifts_the_limits_and_keeps_capability(case: Any, c: float) -> None:
    spec, groups = case
    before = _limits_or_reject(spec, groups)
    after = compute_limits(spec, [tuple(v + c for v in g) for g in groups])
    for name in ("center", "ucl", "lcl"):
        assert getattr(after.location, name) == pytest.approx(
            getattr(before.location, name) + c, rel=1e-9, abs=1e-9
        )
        assert getattr(after.dispersion, name) == pytest.approx(
            getattr(before.dispersion, name), rel=1e-6, abs=1e-9
        )
    assert after.sigma == pytest.approx(before.sigma, rel=1e-6)
    values = [v for g in groups for v in g]
    lsl, usl = before.location.center - 10.0, before.location.center + 7.0
    cap = capability(values, lsl, usl, before.sigma)
    moved = capability([v + c for v in values], lsl + c, usl + c, after.sigma)
    for name in ("cp", "cpk", "cpu", "cpl", "pp", "ppk", "ppu", "ppl"):
        a, b = getattr(cap, name), getattr(moved, name)
        assert (a is None) == (b is None)
        if a is not None:
            assert b == pytest.approx(a, rel=1e-6, abs=1e-9)


@settings(deadline=None)
@given(
    st.lists(gauge_values, min_size=2, max_size=50),
    st.floats(0.01, 10.0),
    st.floats(0.1, 100.0),
    st.floats(0.01, 100.0),
)
def test_scaling_the_spec_width_scales_cp(
    values: list[float], sigma: float, half: float, k: float
) -> None:
    mid = 3.0
    base = capability(values, mid - half, mid + half, sigma)
    wide = capability(values, mid - k * half, mid + k * half, sigma)
    assert base.cp is not None
    assert wide.cp == pytest.approx(k * base.cp, rel=1e-9)
    if base.pp is not None:
        assert wide.pp == pytest.approx(k * base.pp, rel=1e-9)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), max_size=80),
    st.integers(1, 40),
    st.integers(5, 15),
)
def test_chart_rows_always_has_the_requested_shape(
    points: list[float], width: int, height: int
) -> None:
    rows = chart_rows(points, UNIT, width, height)
    assert len(rows) == height
    assert all(len(r) == width for r in rows)
    shown = min(len(points), width)
    assert [sum(r[c] in "*X" for r in rows) for c in range(width)] == [1] * shown + [0] * (
        width - shown
    )
