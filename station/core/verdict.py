"""Decision rules: is one measured value conforming to its specification?

Two rules, named by the plan's characteristic (`rule`):

- ``simple`` - simple acceptance (ILAC G8:09/2019, guard band w = 0): pass when
  lsl <= value <= usl, fail otherwise. Limits are inclusive: a value exactly on a limit
  conforms. Never indeterminate.
- ``guarded`` - the ISO 14253-1 default rule (guard band w = U, the instrument's expanded
  uncertainty, k = 2): conformity is proven only inside the specification zone *shrunk* by
  U (lsl + U <= value <= usl - U: pass), non-conformity only outside the zone *grown* by U
  (value < lsl - U or value > usl + U: fail); in between neither is proven
  (indeterminate). The boundaries of the acceptance zone are inclusive (as for `simple`);
  a value exactly at lsl - U or usl + U is indeterminate, not fail. With U = 0 the rule is
  `simple`. When 2U > usl - lsl the acceptance zone is empty and no value can pass: that
  is the honest outcome of an instrument too coarse for the tolerance (ILAC G8 asks the
  decision rule to state it; `fitness` warns about it before use). At 2U = usl - lsl the
  zone is the single value lsl + U (inclusive bounds), which still passes.

One-sided specifications leave lsl or usl as None; the missing side never rejects.

Exact arithmetic (why and how). A value exactly on a limit must pass under `simple`, yet
binary floating point turns 12.4 into 12.4000000000000003552713678800500929355621337890625
and float32 Modbus registers turn it into 12.399999618530273. So every comparison is done
in exact rational arithmetic (`fractions.Fraction`):

1. The reading is taken by its decimal text: a str as given, a float by its shortest repr
   (``Decimal(repr(x))``), which is the decimal the driver parsed.
2. When the reading arrives in the instrument's registered unit and lies within a
   thousandth of a resolution step of a multiple of the instrument's `resolution`, it is
   snapped to that multiple. This removes binary float noise (a float32 Modbus register's
   12.399999618530273 at resolution 0.001 is 12.400) but never moves a real digit: a
   reading with more digits than the registered resolution (12.346 from a caliper
   registered at 0.01) is kept exactly as the instrument sent it, because the record must
   carry the instrument's value, not an invented one. A reading in another unit of the
   same dimension (a caliper switched to inch) is never snapped.
3. The value is converted to the plan's unit with the exact factor (`units.factor`): 0.4882
   in is exactly 12.40028 mm, which exceeds a 12.4 mm limit (fail), however it would print.
4. Limits and U are taken by their decimal repr too (U converted exactly from the
   instrument's unit to the plan's unit); the comparison itself is exact.

Floats are produced only at the end, for the record and the UI (`Judgement`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from station.core.model import Characteristic, DecisionRuleName, Instrument
from station.core.units import Number, exact, factor, same_unit

Verdict = Literal["pass", "fail", "indeterminate"]
InspectionResult = Literal["accept", "reject", "indeterminate"]


class ConfigurationError(ValueError):
    """Master data cannot be applied as configured (e.g. a guarded rule without U)."""


@dataclass(frozen=True)
class AcceptanceZone:
    """The zones a rule used, in the plan's unit, for the record and the UI.

    `lower`..`upper` is the acceptance zone (inclusive; None = open on that side);
    values below `reject_below` or above `reject_above` fail. Under `simple` the two pairs
    are the specification limits; under `guarded` they are the limits shrunk / grown by U.
    """

    rule: DecisionRuleName
    lower: float | None
    upper: float | None
    reject_below: float | None
    reject_above: float | None
    guard_band: float

    @property
    def empty(self) -> bool:
        """True when no value can pass (guard band of more than half the tolerance; at
        exactly half, the zone is the one value lower == upper, which passes)."""
        return self.lower is not None and self.upper is not None and self.lower > self.upper


@dataclass(frozen=True)
class Judgement:
    """The verdict on one variable reading, with everything needed to record and show it.

    Attributes:
        characteristic: the characteristic id.
        verdict: pass / fail / indeterminate.
        value: the judged value in the plan's unit (after quantization and conversion).
        unit: the plan's unit, as the plan spells it.
        position: where the value lies in the tolerance, 0 at lsl and 1 at usl (below 0
            or above 1 outside); None for one-sided limits or a zero-width tolerance.
        zone: the acceptance / rejection limits the rule used.
        rule: the decision rule applied.
        u: the instrument's expanded uncertainty in the plan's unit, when known (recorded
            under both rules; only `guarded` uses it).
        lsl, usl, nominal: the plan's limits, as the plan gives them.
        reading: the reading as received (decimal text) and `reading_unit` its unit.
        resolution: the instrument's resolution in the plan's unit, when known.
        quantized: True when the reading was rounded to the instrument's resolution.
        instrument: the instrument id, when one was given.
    """

    characteristic: str
    verdict: Verdict
    value: float
    unit: str
    position: float | None
    zone: AcceptanceZone
    rule: DecisionRuleName
    u: float | None
    lsl: float | None
    usl: float | None
    nominal: float | None
    reading: str
    reading_unit: str
    resolution: float | None = None
    quantized: bool = False
    instrument: str | None = None


def _limits(lsl: Number | None, usl: Number | None) -> tuple[Fraction | None, Fraction | None]:
    lo = None if lsl is None else exact(lsl)
    hi = None if usl is None else exact(usl)
    if lo is None and hi is None:
        raise ConfigurationError("a variable characteristic needs lsl, usl or both; got none")
    if lo is not None and hi is not None and lo > hi:
        raise ConfigurationError(f"lsl {lsl} is above usl {usl}")
    return lo, hi


def _guard_band(rule: str, u: Number | None) -> Fraction:
    if rule == "simple":
        return Fraction(0)
    if rule != "guarded":
        raise ConfigurationError(f"unknown decision rule {rule!r} (expected simple or guarded)")
    if u is None:
        raise ConfigurationError(
            "the guarded decision rule (ISO 14253-1) needs the expanded uncertainty U; got none"
        )
    w = exact(u)
    if w < 0:
        raise ConfigurationError(f"expanded uncertainty U must be >= 0, got {u}")
    return w


def decide(
    value: Number,
    lsl: Number | None,
    usl: Number | None,
    rule: DecisionRuleName = "simple",
    u: Number | None = None,
) -> Verdict:
    """Apply a decision rule to one value; all numbers in one unit, compared exactly.

    Raises:
        ConfigurationError: no limit, lsl > usl, an unknown rule, guarded without U, U < 0.
        ValueError: a non-finite number.
    """
    lo, hi = _limits(lsl, usl)
    w = _guard_band(rule, u)
    v = exact(value)
    if (lo is None or v >= lo + w) and (hi is None or v <= hi - w):
        return "pass"
    if (lo is not None and v < lo - w) or (hi is not None and v > hi + w):
        return "fail"
    return "indeterminate"


def acceptance_zone(
    lsl: Number | None,
    usl: Number | None,
    rule: DecisionRuleName = "simple",
    u: Number | None = None,
) -> AcceptanceZone:
    """The acceptance and rejection limits a rule uses (floats, for records and display)."""
    lo, hi = _limits(lsl, usl)
    w = _guard_band(rule, u)

    def f(x: Fraction | None) -> float | None:
        return None if x is None else float(x)

    return AcceptanceZone(
        rule=rule,
        lower=f(None if lo is None else lo + w),
        upper=f(None if hi is None else hi - w),
        reject_below=f(None if lo is None else lo - w),
        reject_above=f(None if hi is None else hi + w),
        guard_band=float(w),
    )


def position_in_tolerance(value: Number, lsl: Number | None, usl: Number | None) -> float | None:
    """0 at lsl, 1 at usl; None when one-sided or the tolerance has zero width."""
    if lsl is None or usl is None:
        return None
    lo, hi = exact(lsl), exact(usl)
    if hi == lo:
        return None
    return float((exact(value) - lo) / (hi - lo))


def snap_to_resolution(reading: Fraction, unit: str, instrument: Instrument) -> Fraction:
    """`reading` without binary float noise (step 2 of the module docstring).

    Snapped to the nearest multiple of the instrument's resolution only when it arrived in
    the instrument's unit and lies within a thousandth of a step of that multiple; a real
    digit beyond the registered resolution is kept, never rounded away.
    """
    res = exact(instrument.resolution)
    if res <= 0 or not same_unit(unit, instrument.unit):
        return reading
    snapped = round(reading / res) * res
    return snapped if abs(snapped - reading) <= res / 1000 else reading


def _reading_text(value: Number) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value.strip()
    return str(value)


def judge_variable(
    characteristic: Characteristic,
    value: Number,
    unit: str,
    *,
    instrument: Instrument | None = None,
) -> Judgement:
    """Judge one reading of a variable characteristic (see the module docstring for how).

    Args:
        characteristic: the plan's characteristic (limits, unit, rule).
        value: the reading, as a float from a driver or its decimal text.
        unit: the unit the reading arrived in.
        instrument: the instrument that produced it: its resolution quantizes the reading,
            its `u` is the U of a guarded rule (both in the instrument's unit).

    Raises:
        ConfigurationError: the characteristic is not a variable, has no unit or no
            limits, or uses `guarded` while the instrument has no U.
        UnitError: the reading's unit is unknown or not convertible to the plan's unit.
        ValueError: the reading is not a finite number.
    """
    cid = characteristic.id
    if characteristic.kind != "variable":
        raise ConfigurationError(f"characteristic {cid} is an attribute: it has no limits")
    if not characteristic.unit:
        raise ConfigurationError(f"characteristic {cid} has no unit")
    plan_unit = characteristic.unit
    lsl, usl = characteristic.lsl, characteristic.usl
    try:
        _limits(lsl, usl)
    except ConfigurationError as exc:
        raise ConfigurationError(f"characteristic {cid}: {exc}") from None

    u_plan: Fraction | None = None
    if instrument is not None and instrument.u is not None:
        u_plan = exact(instrument.u) * factor(instrument.unit, plan_unit)
    if characteristic.rule == "guarded" and u_plan is None:
        if instrument is None:
            whose = "no instrument was given"
        else:
            whose = f"instrument {instrument.id} has none (u is empty)"
        raise ConfigurationError(
            f"characteristic {cid} uses the guarded decision rule (ISO 14253-1), which needs "
            f"the instrument's expanded uncertainty U, but {whose}"
        )

    reading = exact(value)
    quantized_reading = reading
    resolution_plan: Fraction | None = None
    if instrument is not None:
        resolution_plan = exact(instrument.resolution) * factor(instrument.unit, plan_unit)
        quantized_reading = snap_to_resolution(reading, unit, instrument)
    v = quantized_reading * factor(unit, plan_unit)

    w = u_plan if characteristic.rule == "guarded" else None
    return Judgement(
        characteristic=cid,
        verdict=decide(v, lsl, usl, characteristic.rule, w),
        value=float(v),
        unit=plan_unit,
        position=position_in_tolerance(v, lsl, usl),
        zone=acceptance_zone(lsl, usl, characteristic.rule, w),
        rule=characteristic.rule,
        u=None if u_plan is None else float(u_plan),
        lsl=lsl,
        usl=usl,
        nominal=characteristic.nominal,
        reading=_reading_text(value),
        reading_unit=unit,
        resolution=None if resolution_plan is None else float(resolution_plan),
        quantized=quantized_reading != reading,
        instrument=None if instrument is None else instrument.id,
    )


def judge_attribute(characteristic: Characteristic, passed: bool) -> Verdict:
    """The verdict on an attribute characteristic: the operator's pass/fail, as given.

    Raises:
        ConfigurationError: the characteristic is a variable (it must be measured).
        TypeError: `passed` is not a bool (a truthy string must not become a pass).
    """
    if characteristic.kind != "attribute":
        raise ConfigurationError(
            f"characteristic {characteristic.id} is a variable: it needs a measured value"
        )
    if not isinstance(passed, bool):
        raise TypeError(f"attribute verdict must be True or False, got {passed!r}")
    return "pass" if passed else "fail"


def inspection_result(verdicts: Iterable[Verdict]) -> InspectionResult:
    """Combine measurement verdicts: reject if any fails, else indeterminate if any is,
    else accept.

    Why this order: one proven non-conformity rejects the part whatever else is unproven;
    an unproven conformity (ISO 14253-1) must not be reported as an accept.

    Raises:
        ValueError: no verdicts (nothing measured cannot be accepted), or an unknown one.
    """
    seen = list(verdicts)
    if not seen:
        raise ValueError("an inspection result needs at least one measurement verdict")
    unknown = sorted({v for v in seen if v not in ("pass", "fail", "indeterminate")})
    if unknown:
        raise ValueError(f"unknown verdicts {unknown} (expected pass, fail or indeterminate)")
    if "fail" in seen:
        return "reject"
    if "indeterminate" in seen:
        return "indeterminate"
    return "accept"


__all__ = [
    "AcceptanceZone",
    "ConfigurationError",
    "InspectionResult",
    "Judgement",
    "Verdict",
    "acceptance_zone",
    "decide",
    "inspection_result",
    "judge_attribute",
    "judge_variable",
    "position_in_tolerance",
    "snap_to_resolution",
]
