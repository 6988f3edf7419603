"""Nelson's eight tests for special causes (Nelson, J. Quality Technology 16(4), 1984).

Zones are counted in sigma of the plotted statistic, one sigma per side: (ucl - center)/3
above, (center - lcl)/3 below, so asymmetric (approved or R/S/MR) limits work too.

1. one point beyond 3σ (above UCL or below LCL);
2. nine points in a row on the same side of the centre line;
3. six points in a row steadily increasing or steadily decreasing;
4. fourteen points in a row alternating up and down;
5. two of three points in a row beyond 2σ, on the same side;
6. four of five points in a row beyond 1σ, on the same side;
7. fifteen points in a row within 1σ, either side;
8. eight points in a row beyond 1σ, either side (none within 1σ).

Decisions (documented because implementations differ):

- "Beyond" is strict (x > center + kσ; a point exactly on UCL is not beyond it) and "within
  1σ" is strict too: a point exactly on a zone boundary counts toward neither rule 7 nor 8.
- Zone boundaries are exact. Points and limits are taken by their shortest decimal repr, as
  the verdicts take readings (`verdict`, "Exact arithmetic"), and center ± kσ is compared in
  exact rational arithmetic: in binary floating point 5.0 + 2·(5.6 - 5.0)/3 is
  5.3999999999999995, so 5.4, exactly 2σ above, fired rule 5 (about 9 % of decimal
  boundary cases for rules 5-7 were misjudged so).
- Ties break runs. A point exactly on the centre line is on neither side, so it ends a rule-2
  run; two equal consecutive points end a rule-3 trend and a rule-4 alternation.
- Rules 5 and 6 fire only when the last point of the window is itself one of the points
  beyond the zone, on the same side, so a pattern is reported once, at the point that
  completes it, and not again at an in-zone point that follows. At the start of a series
  the window is shorter (two points beyond 2σ as the first two points are two of three).
- A signal is reported for every window that satisfies its rule; a run of twelve on one side
  gives rule-2 signals at its 9th, 10th, 11th and 12th points (Minitab flags points the same
  way). `Signal.index` is the window's last point, `Signal.indices` the whole window.
- "New" signals are those whose window ends at the latest point (`new_signals`): what the
  bench reacts to when a part has just been measured. Every rule's window is at most 15
  points, so only the last 15 points are examined for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from station.core.model import NelsonRule, SpcSpec
from station.core.spc_charts import ControlLimits, Limits, SpcError, check_finite
from station.core.units import exact

NELSON_RULES: tuple[NelsonRule, ...] = get_args(NelsonRule)
DEFAULT_RULES: tuple[NelsonRule, ...] = SpcSpec().rules  # the plan schema's default
_ORDER = {rule: k for k, rule in enumerate(NELSON_RULES)}
WINDOW: dict[NelsonRule, int] = {
    "nelson-1": 1,
    "nelson-2": 9,
    "nelson-3": 6,
    "nelson-4": 14,
    "nelson-5": 3,
    "nelson-6": 5,
    "nelson-7": 15,
    "nelson-8": 8,
}
MAX_WINDOW = max(WINDOW.values())
ChartSide = Literal["location", "dispersion"]


@dataclass(frozen=True)
class Signal:
    """One rule firing: the rule, its window's last point and all points of the window.

    Indices are 0-based positions in the evaluated series. `chart` says which chart of the
    pair the points belong to ("dispersion" only from `spc.evaluate`).
    """

    rule: NelsonRule
    index: int
    indices: tuple[int, ...]
    message: str
    chart: ChartSide = "location"


@dataclass(frozen=True)
class _Zones:
    """Per-point classification, computed once per evaluation."""

    xs: tuple[float, ...]
    limits: Limits
    side: tuple[int, ...]  # +1 above the centre line, -1 below, 0 on it
    beyond1: tuple[int, ...]  # side when more than 1σ from centre, else 0
    beyond2: tuple[int, ...]  # side when more than 2σ from centre, else 0
    within1: tuple[bool, ...]  # strictly within 1σ (centre line included)


def evaluate_rules(
    points: Sequence[float],
    limits: Limits | ControlLimits,
    rules: Iterable[NelsonRule] = DEFAULT_RULES,
) -> list[Signal]:
    """All signals of `rules` in `points`, ordered by index, then by rule number.

    `limits` may be one chart's Limits or a ControlLimits (then its location chart is used).
    Raises SpcError for an unknown rule or a non-finite point.
    """
    selected = _selected(rules)
    lim = limits.location if isinstance(limits, ControlLimits) else limits
    zones = _zones(points, lim)
    out: list[Signal] = []
    for rule in selected:
        out.extend(_CHECKS[rule](zones))
    out.sort(key=lambda s: (s.index, _ORDER[s.rule]))
    return out


def new_signals(
    points: Sequence[float],
    limits: Limits | ControlLimits,
    rules: Iterable[NelsonRule] = DEFAULT_RULES,
) -> list[Signal]:
    """Signals whose window ends at the latest point: the ones the bench must react to now."""
    if not points:
        return []
    offset = max(len(points) - MAX_WINDOW, 0)
    tail = list(points[offset:])
    last = len(tail) - 1
    return [
        Signal(s.rule, s.index + offset, tuple(i + offset for i in s.indices), s.message, s.chart)
        for s in evaluate_rules(tail, limits, rules)
        if s.index == last
    ]


def _selected(rules: Iterable[NelsonRule]) -> list[NelsonRule]:
    wanted = list(rules)
    for r in wanted:
        if r not in WINDOW:
            raise SpcError(f"unknown SPC rule {r!r}; expected one of {', '.join(NELSON_RULES)}")
    return [r for r in NELSON_RULES if r in wanted]


def _zones(points: Sequence[float], lim: Limits) -> _Zones:
    check_finite(points, "chart point")
    xs = [float(v) for v in points]
    c, su, sl = lim.center, lim.sigma_upper, lim.sigma_lower
    bounds = (c - 2.0 * sl, c - sl, c + su, c + 2.0 * su)
    l2, l1, u1, u2 = bounds
    side = tuple(1 if x > c else -1 if x < c else 0 for x in xs)
    beyond1 = [1 if x > u1 else -1 if x < l1 else 0 for x in xs]
    beyond2 = [1 if x > u2 else -1 if x < l2 else 0 for x in xs]
    within1 = [l1 < x < u1 for x in xs]
    # The float boundaries above are off by a few ulp of the limits' magnitude, and a point
    # read as the decimal it prints as differs from its binary value by half an ulp. Only a
    # point that close to a boundary can be misjudged: it is judged again exactly (filter
    # first, so the per-part cost stays that of plain floats; benchmarks/spc_bench.py).
    tol = 2.0**-40 * max(abs(c), abs(lim.ucl), abs(lim.lcl))
    near = [i for i, x in enumerate(xs) if any(abs(x - b) <= tol for b in bounds)]
    if near:
        exact_zones = _ExactZones(lim)
        for i in near:
            beyond1[i], beyond2[i], within1[i] = exact_zones.classify(xs[i])
    return _Zones(tuple(xs), lim, side, tuple(beyond1), tuple(beyond2), tuple(within1))


class _ExactZones:
    """Zone boundaries in exact rational arithmetic, points and limits taken by their
    shortest decimal repr (as `verdict` takes readings): x > c + kσ  <=>  3x > 3c + k(ucl - c),
    with no division at all."""

    def __init__(self, lim: Limits) -> None:
        c, u, lo = exact(lim.center), exact(lim.ucl), exact(lim.lcl)
        up, dn = u - c, c - lo
        self.u1, self.u2 = 3 * c + up, 3 * c + 2 * up
        self.l1, self.l2 = 3 * c - dn, 3 * c - 2 * dn

    def classify(self, x: float) -> tuple[int, int, bool]:
        """(beyond 1σ side, beyond 2σ side, strictly within 1σ) of one point."""
        x3 = 3 * exact(x)
        beyond1 = 1 if x3 > self.u1 else -1 if x3 < self.l1 else 0
        beyond2 = 1 if x3 > self.u2 else -1 if x3 < self.l2 else 0
        return beyond1, beyond2, self.l1 < x3 < self.u1


def _where(s: int) -> str:
    return "above" if s > 0 else "below"


def _window(rule: NelsonRule, i: int) -> tuple[int, ...]:
    return tuple(range(i - WINDOW[rule] + 1, i + 1))


def _rule1(z: _Zones) -> list[Signal]:
    out = []
    for i, x in enumerate(z.xs):
        if x > z.limits.ucl:
            msg = f"point {x:g} above the upper control limit {z.limits.ucl:g}"
        elif x < z.limits.lcl:
            msg = f"point {x:g} below the lower control limit {z.limits.lcl:g}"
        else:
            continue
        out.append(Signal("nelson-1", i, (i,), msg))
    return out


def _rule2(z: _Zones) -> list[Signal]:
    out, run = [], 0
    for i, s in enumerate(z.side):
        run = run + 1 if s != 0 and i > 0 and z.side[i - 1] == s else (1 if s != 0 else 0)
        if run >= 9:
            msg = f"9 points in a row {_where(s)} the centre line"
            out.append(Signal("nelson-2", i, _window("nelson-2", i), msg))
    return out


def _rule3(z: _Zones) -> list[Signal]:
    out, up, down = [], 0, 0
    for i in range(1, len(z.xs)):
        d = z.xs[i] - z.xs[i - 1]
        up, down = (up + 1 if d > 0 else 0), (down + 1 if d < 0 else 0)
        if up >= 5 or down >= 5:
            msg = f"6 points in a row steadily {'increasing' if up else 'decreasing'}"
            out.append(Signal("nelson-3", i, _window("nelson-3", i), msg))
    return out


def _rule4(z: _Zones) -> list[Signal]:
    out, alt, prev = [], 0, 0
    for i in range(1, len(z.xs)):
        d = z.xs[i] - z.xs[i - 1]
        s = 1 if d > 0 else -1 if d < 0 else 0
        alt = alt + 1 if s != 0 and s == -prev else (1 if s != 0 else 0)
        prev = s
        if alt >= 13:
            msg = "14 points in a row alternating up and down"
            out.append(Signal("nelson-4", i, _window("nelson-4", i), msg))
    return out


def _k_of_m(rule: NelsonRule, marks: tuple[int, ...], k: int, sig: str) -> list[Signal]:
    """k of the last m points beyond a zone on one side, the last point among them."""
    m, out = WINDOW[rule], []
    for i, s in enumerate(marks):
        if s == 0:
            continue
        first = i - m + 1 if i >= m else 0
        if marks[first : i + 1].count(s) >= k:
            msg = f"{k} of {m} points more than {sig} {_where(s)} the centre line"
            out.append(Signal(rule, i, tuple(range(first, i + 1)), msg))
    return out


def _rule5(z: _Zones) -> list[Signal]:
    return _k_of_m("nelson-5", z.beyond2, 2, "2σ")


def _rule6(z: _Zones) -> list[Signal]:
    return _k_of_m("nelson-6", z.beyond1, 4, "1σ")


def _run_of(
    flags: Iterable[bool], rule: NelsonRule, msg: str
) -> list[Signal]:  # a run of `WINDOW[rule]` flagged points in a row
    out, run, need = [], 0, WINDOW[rule]
    for i, f in enumerate(flags):
        run = run + 1 if f else 0
        if run >= need:
            out.append(Signal(rule, i, _window(rule, i), msg))
    return out


def _rule7(z: _Zones) -> list[Signal]:
    return _run_of(z.within1, "nelson-7", "15 points in a row within 1σ of the centre line")


def _rule8(z: _Zones) -> list[Signal]:
    return _run_of(
        (b != 0 for b in z.beyond1),
        "nelson-8",
        "8 points in a row more than 1σ from the centre line (either side)",
    )


_CHECKS: dict[NelsonRule, Callable[[_Zones], list[Signal]]] = {
    "nelson-1": _rule1,
    "nelson-2": _rule2,
    "nelson-3": _rule3,
    "nelson-4": _rule4,
    "nelson-5": _rule5,
    "nelson-6": _rule6,
    "nelson-7": _rule7,
    "nelson-8": _rule8,
}
