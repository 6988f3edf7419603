"""Nelson rules 1-8 (Nelson 1984, J. Quality Technology 16(4)): a firing and a near-miss series.

Limits are centre 0, UCL 3, LCL -3, so one sigma is 1 and the series read in sigma units.
"""

from __future__ import annotations

import pytest

from station.core.model import NelsonRule, SpcSpec
from station.core.spc import (
    NELSON_RULES,
    Limits,
    SpcError,
    compute_limits,
    evaluate,
    evaluate_rules,
    new_signals,
)

UNIT = Limits(center=0.0, ucl=3.0, lcl=-3.0)


def fired(points: list[float], rule: NelsonRule) -> list[tuple[int, tuple[int, ...]]]:
    return [(s.index, s.indices) for s in evaluate_rules(points, UNIT, [rule])]


# (rule, firing series, index of the signal, its message, near-miss series)
CASES: list[tuple[NelsonRule, list[float], int, str, list[float]]] = [
    (
        "nelson-1",
        [0.0, 1.0, 3.2],
        2,
        "point 3.2 above the upper control limit 3",
        [0.0, 3.0, -3.0, 2.9],  # exactly on a limit is not beyond it
    ),
    (
        "nelson-2",
        [0.5] * 9,
        8,
        "9 points in a row above the centre line",
        [0.5] * 4 + [0.0] + [0.5] * 8,  # a point on the centre line breaks the run
    ),
    (
        "nelson-3",
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
        5,
        "6 points in a row steadily increasing",
        [0.0, 0.1, 0.2, 0.2, 0.3, 0.4, 0.5],  # a tie breaks the trend
    ),
    (
        "nelson-4",
        [0.5, -0.5] * 7,
        13,
        "14 points in a row alternating up and down",
        [0.5, -0.5] * 6 + [0.5],  # 13 points only
    ),
    (
        "nelson-5",
        [0.0, 2.5, 0.0, 2.5],
        3,
        "2 of 3 points more than 2σ above the centre line",
        [2.5, 0.0, 0.0, 2.5, 0.0, -2.5, 2.0],  # 2 of 4, opposite sides, exactly 2σ
    ),
    (
        "nelson-6",
        [0.0, 1.5, 1.5, 0.0, 1.5, 1.5],
        5,
        "4 of 5 points more than 1σ above the centre line",
        [1.5, 1.5, 0.9, -1.5, 1.5, 1.0],  # 3 of 5 same side; 1.0 is not beyond 1σ
    ),
    (
        "nelson-7",
        [0.4, -0.4, 0.0] * 5,
        14,
        "15 points in a row within 1σ of the centre line",
        [0.4, -0.4, 0.0] * 4 + [0.4, -0.4, 1.0, 0.4],  # exactly 1σ is not within
    ),
    (
        "nelson-8",
        [1.5, -1.5, 2.0, -2.0] * 2,
        7,
        "8 points in a row more than 1σ from the centre line (either side)",
        [1.5, -1.5, 2.0, -2.0, -1.0, 1.5, -1.5, 2.0],  # one point exactly at 1σ
    ),
]


@pytest.mark.parametrize(("rule", "series", "index", "message", "near"), CASES)
def test_each_rule_fires_on_its_pattern_and_not_on_the_near_miss(
    rule: NelsonRule, series: list[float], index: int, message: str, near: list[float]
) -> None:
    signals = evaluate_rules(series, UNIT, [rule])
    assert [s.index for s in signals] == [index]
    assert signals[0].rule == rule
    assert signals[0].message == message
    assert signals[0].indices[-1] == index
    assert evaluate_rules(near, UNIT, [rule]) == []


def test_mirror_patterns_fire_on_the_other_side() -> None:
    assert evaluate_rules([0.0, -3.2], UNIT, ["nelson-1"])[0].message == (
        "point -3.2 below the lower control limit -3"
    )
    assert evaluate_rules([-0.5] * 9, UNIT, ["nelson-2"])[0].message == (
        "9 points in a row below the centre line"
    )
    assert evaluate_rules([0.5, 0.4, 0.3, 0.2, 0.1, 0.0], UNIT, ["nelson-3"])[0].message == (
        "6 points in a row steadily decreasing"
    )
    assert evaluate_rules([-2.5, -2.5], UNIT, ["nelson-5"])[0].message == (
        "2 of 3 points more than 2σ below the centre line"
    )


def test_windows_and_repeated_signals_along_a_long_run() -> None:
    assert fired([0.5] * 12, "nelson-2") == [
        (i, tuple(range(i - 8, i + 1))) for i in (8, 9, 10, 11)
    ]
    assert fired([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], "nelson-3") == [(5, (0, 1, 2, 3, 4, 5))]


def test_rules_5_and_6_report_at_the_completing_point_only() -> None:
    # 2 of 3 beyond 2σ completed at index 1 (start of series); the following in-zone point
    # does not repeat the signal although its window still holds two such points.
    assert fired([2.5, 2.5, 0.0], "nelson-5") == [(1, (0, 1))]
    assert fired([1.5, 1.5, 1.5, 1.5, 0.0], "nelson-6") == [(3, (0, 1, 2, 3))]


def test_zones_use_each_side_of_asymmetric_limits() -> None:
    lopsided = Limits(center=0.0, ucl=3.0, lcl=-6.0)  # 1σ above, 2σ below
    assert evaluate_rules([-3.5, -3.5], lopsided, ["nelson-5"]) == []  # < 2σ below
    assert len(evaluate_rules([-4.5, -4.5], lopsided, ["nelson-5"])) == 1
    assert len(evaluate_rules([2.5, 2.5], lopsided, ["nelson-5"])) == 1


def test_default_rules_are_1_and_2_and_unknown_rules_are_refused() -> None:
    trend = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert evaluate_rules(trend, UNIT) == []
    assert evaluate_rules([0.0, 3.5], UNIT)[0].rule == "nelson-1"
    with pytest.raises(SpcError, match="unknown SPC rule 'nelson-9'; expected one of nelson-1"):
        evaluate_rules(trend, UNIT, ["nelson-9"])  # type: ignore[list-item]
    with pytest.raises(SpcError, match="chart point 1 must be a finite number, got inf"):
        evaluate_rules([0.0, float("inf")], UNIT)


def test_signals_are_ordered_by_index_then_rule() -> None:
    series = [0.5] * 8 + [3.5]
    rules = [s.rule for s in evaluate_rules(series, UNIT, list(reversed(NELSON_RULES)))]
    assert rules[-2:] == ["nelson-1", "nelson-2"]
    indices = [s.index for s in evaluate_rules(series, UNIT, NELSON_RULES)]
    assert indices == sorted(indices)


def test_new_signals_are_those_completed_by_the_latest_point() -> None:
    run = [0.5] * 9
    assert [s.rule for s in new_signals(run, UNIT)] == ["nelson-2"]
    assert new_signals([*run, -0.5], UNIT) == []  # the run ended: nothing new
    long = [0.1, -0.1] * 40 + [0.5] * 9  # 89 points, the window starts deep in the series
    (sig,) = new_signals(long, UNIT)
    assert (sig.index, sig.indices) == (88, tuple(range(80, 89)))
    assert new_signals([], UNIT) == []


def test_control_limits_use_their_location_chart() -> None:
    limits = compute_limits(SpcSpec(center=10.0, ucl=13.0, lcl=7.0), [])
    assert evaluate_rules([10.0, 13.5], limits)[0].index == 1


def test_evaluate_checks_both_charts_and_maps_mr_points_to_values() -> None:
    spec = SpcSpec(chart="imr", baseline=10, rules=("nelson-1",))
    values = [10.0, 10.2, 9.9, 10.1, 9.8, 10.0, 10.1, 9.9, 10.2, 10.0]
    limits = compute_limits(spec, [(v,) for v in values])
    # Two values inside the I chart limits; the swing between them (about 1.08) exceeds the
    # MR chart's UCL (3.267 · 0.222 = 0.726): a jump in spread the I chart alone misses.
    jump = [*values, limits.location.lcl + 0.05, limits.location.ucl - 0.05]
    result = evaluate(spec, limits, [(v,) for v in jump])
    assert result.location == ()
    # MR point k belongs to value k + 1: the moving range 10 -> 11 is reported at value 11.
    assert [(s.index, s.indices, s.chart) for s in result.dispersion] == [(11, (11,), "dispersion")]
    assert result.dispersion[0].message.startswith("MR chart: point ")
    assert [s.index for s in result.new] == [11]


def test_evaluate_xbar_r_flags_a_wide_subgroup() -> None:
    spec = SpcSpec(chart="xbar-r", subgroup=2, baseline=3)
    groups = [(1.0, 2.0), (2.0, 3.0), (1.5, 2.5), (0.0, 4.0)]
    limits = compute_limits(spec, groups)
    result = evaluate(spec, limits, groups)
    assert [(s.index, s.chart) for s in result.signals] == [(3, "dispersion")]
    assert result.new[0].message.startswith("R chart: point 4 above the upper control limit")
    with pytest.raises(SpcError, match="limits are for chart 'xbar-r' with subgroup 2"):
        evaluate(SpcSpec(chart="xbar-s", subgroup=2), limits, groups)
