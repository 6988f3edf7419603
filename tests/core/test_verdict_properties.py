"""Properties of the decision rules that must hold for every value, limit and U."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from station.core.verdict import decide

dec = st.decimals(min_value=-1000, max_value=1000, places=4, allow_nan=False)
pos = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False)


@st.composite
def spec(draw: st.DrawFn) -> tuple[Decimal | None, Decimal | None]:
    a, b = sorted((draw(dec), draw(dec)))
    side = draw(st.sampled_from(["both", "upper", "lower"]))
    return (None if side == "upper" else a, None if side == "lower" else b)


@given(dec, spec(), pos, pos, pos, st.sampled_from(["simple", "guarded"]))
def test_widening_the_limits_never_turns_a_pass_into_a_fail(
    v: Decimal,
    limits: tuple[Decimal | None, Decimal | None],
    u: Decimal,
    down: Decimal,
    up: Decimal,
    rule: str,
) -> None:
    lsl, usl = limits
    before = decide(v, lsl, usl, rule, u)  # type: ignore[arg-type]
    wider = decide(
        v,
        None if lsl is None else lsl - down,
        None if usl is None else usl + up,
        rule,  # type: ignore[arg-type]
        u,
    )
    if before == "pass":
        assert wider == "pass"
    if before != "fail":
        assert wider != "fail"


@given(dec, spec(), pos)
def test_guarded_pass_implies_simple_pass(
    v: Decimal, limits: tuple[Decimal | None, Decimal | None], u: Decimal
) -> None:
    if decide(v, *limits, "guarded", u) == "pass":
        assert decide(v, *limits, "simple") == "pass"


@given(dec, spec(), pos)
def test_simple_fail_implies_guarded_not_pass(
    v: Decimal, limits: tuple[Decimal | None, Decimal | None], u: Decimal
) -> None:
    if decide(v, *limits, "simple") == "fail":
        assert decide(v, *limits, "guarded", u) != "pass"


@given(dec, spec(), pos)
def test_guarded_fail_implies_simple_fail(
    v: Decimal, limits: tuple[Decimal | None, Decimal | None], u: Decimal
) -> None:
    if decide(v, *limits, "guarded", u) == "fail":
        assert decide(v, *limits, "simple") == "fail"


@given(dec, spec(), pos, pos)
def test_a_larger_u_never_proves_more(
    v: Decimal, limits: tuple[Decimal | None, Decimal | None], u: Decimal, more: Decimal
) -> None:
    small = decide(v, *limits, "guarded", u)
    large = decide(v, *limits, "guarded", u + more)
    if large == "pass":
        assert small == "pass"
    if large == "fail":
        assert small == "fail"


@given(dec, spec())
def test_simple_is_never_indeterminate_and_guarded_zero_u_equals_simple(
    v: Decimal, limits: tuple[Decimal | None, Decimal | None]
) -> None:
    simple = decide(v, *limits, "simple")
    assert simple in ("pass", "fail")
    assert decide(v, *limits, "guarded", 0) == simple


@given(spec())
def test_a_float_equal_to_a_limit_passes(limits: tuple[Decimal | None, Decimal | None]) -> None:
    lsl, usl = (None if x is None else float(x) for x in limits)
    for limit in (lsl, usl):
        if limit is not None:
            assert decide(limit, lsl, usl) == "pass"
