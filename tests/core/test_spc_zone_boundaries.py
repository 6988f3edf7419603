"""Zone boundaries are judged exactly, as the decimals the points and limits print as.

Issue 12.5: with limits 4.4 / 5.0 / 5.6 the point 5.4 is exactly 2σ above the centre, and
"beyond" is strict, yet binary floating point put the 2σ line at 5.3999999999999995 and two
such points fired rule 5. The properties below put decimal data exactly on the 1σ and 2σ
lines of decimal limits (symmetric and not) and require that no strict rule counts them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from station.core.spc import Limits, evaluate_rules


def test_a_point_exactly_on_the_2_sigma_line_is_not_beyond_it() -> None:
    limits = Limits(5.0, 5.6, 4.4)
    assert evaluate_rules([5.4, 5.4], limits, ("nelson-5",)) == []
    assert evaluate_rules([4.6, 4.6], limits, ("nelson-5",)) == []
    fired = evaluate_rules([5.4, 5.41], limits, ("nelson-5",))
    assert fired == []  # one of two beyond: not "two of three"
    assert [s.rule for s in evaluate_rules([5.41, 5.41], limits, ("nelson-5",))] == ["nelson-5"]


def _decimal(places: int, lo: int, hi: int) -> st.SearchStrategy[Decimal]:
    return st.integers(lo, hi).map(lambda n: Decimal(n).scaleb(-places))


@st.composite
def _chart(draw: Any) -> tuple[Limits, Decimal, Decimal, Decimal]:
    """Decimal limits whose sigma lines are decimals too: (limits, centre, σ up, σ down)."""
    places = draw(st.integers(0, 6))
    center = draw(_decimal(places, -(10**7), 10**7))
    up = draw(_decimal(places, 1, 10**5))
    down = draw(st.one_of(st.just(up), _decimal(places, 1, 10**5)))
    limits = Limits(float(center), float(center + 3 * up), float(center - 3 * down))
    return limits, center, up, down


@settings(max_examples=300, deadline=None)
@given(_chart(), st.lists(st.booleans(), min_size=2, max_size=15))
def test_points_on_the_2_sigma_lines_never_fire_rule_5(
    chart: tuple[Limits, Decimal, Decimal, Decimal], above: list[bool]
) -> None:
    limits, c, up, down = chart
    points = [float(c + 2 * up) if a else float(c - 2 * down) for a in above]
    assert evaluate_rules(points, limits, ("nelson-5",)) == []


@settings(max_examples=300, deadline=None)
@given(_chart(), st.lists(st.booleans(), min_size=5, max_size=16))
def test_points_on_the_1_sigma_lines_never_fire_rules_6_7_8(
    chart: tuple[Limits, Decimal, Decimal, Decimal], above: list[bool]
) -> None:
    # On the 1σ line a point is neither beyond 1σ (rules 6, 8) nor strictly within it (7).
    limits, c, up, down = chart
    points = [float(c + up) if a else float(c - down) for a in above]
    assert evaluate_rules(points, limits, ("nelson-6", "nelson-7", "nelson-8")) == []


@settings(max_examples=200, deadline=None)
@given(_chart(), st.integers(1, 2), st.booleans())
def test_the_smallest_decimal_step_past_a_line_is_beyond_it(
    chart: tuple[Limits, Decimal, Decimal, Decimal], k: int, above: bool
) -> None:
    # The other half of exactness: one unit in the data's last decimal place past the line
    # does count (the boundary is not blurred to make the first property pass).
    limits, c, up, down = chart
    step = Decimal("1e-7")  # finer than the data's 6 places; at most 15 digits: float-exact
    line = c + k * up + step if above else c - k * down - step
    rule = "nelson-5" if k == 2 else "nelson-6"
    need = 2 if k == 2 else 4
    fired = evaluate_rules([float(line)] * need, limits, (rule,))
    assert [s.rule for s in fired] == [rule]
