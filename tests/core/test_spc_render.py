"""chart_rows: a plain-ASCII control chart of fixed shape for a 16-colour console."""

from __future__ import annotations

import pytest

from station.core.model import SpcSpec
from station.core.spc import Limits, SpcError, chart_rows, compute_limits

UNIT = Limits(center=0.0, ucl=3.0, lcl=-3.0)


def test_layout_of_an_empty_chart() -> None:
    assert chart_rows([], UNIT, width=6, height=7) == [
        "      ",
        "======",
        "      ",
        "------",
        "      ",
        "======",
        "      ",
    ]


def test_points_within_and_beyond_the_limits() -> None:
    rows = chart_rows([0.0, 3.0, -3.0, 1.6, 4.0, -9.0], UNIT, width=8, height=7)
    assert rows == [
        "    X   ",
        "=*======",
        "   *    ",
        "*-------",
        "        ",
        "==*=====",
        "     X  ",
    ]


def test_only_the_latest_points_fit_and_every_row_has_the_width() -> None:
    points = [float(i % 7 - 3) for i in range(50)]
    rows = chart_rows(points, UNIT, width=20, height=9)
    assert len(rows) == 9
    assert {len(r) for r in rows} == {20}
    marks_per_column = [sum(r[c] in "*X" for r in rows) for c in range(20)]
    assert marks_per_column == [1] * 20
    # The last point (49 % 7 - 3 = -3.0) sits on the LCL row; the first shown is point 30.
    assert [r[19] for r in rows].index("*") == 7
    assert [r[0] for r in rows].index("*") == 5  # 30 % 7 - 3 = -1.0: 1 + round(4/6 * 6)


def test_control_limits_draw_their_location_chart() -> None:
    limits = compute_limits(SpcSpec(center=10.0, ucl=11.0, lcl=9.0), [])
    assert chart_rows([10.0, 12.0], limits, width=2, height=5) == [
        " X",
        "==",
        "*-",
        "==",
        "  ",
    ]


def test_too_small_a_chart_is_refused() -> None:
    with pytest.raises(SpcError, match="width >= 1 and height >= 5, got width=0 height=7"):
        chart_rows([1.0], UNIT, width=0, height=7)
    with pytest.raises(SpcError, match="got width=10 height=4"):
        chart_rows([1.0], UNIT, width=10, height=4)
    with pytest.raises(SpcError, match="chart point 1 must be a finite number, got nan"):
        chart_rows([1.0, float("nan")], UNIT, width=10, height=5)
