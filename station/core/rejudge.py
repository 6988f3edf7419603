"""Re-judging earlier results after an as-found calibration that was not within limits.

ISO 9001:2015 7.1.5.2 and IATF 16949:2016 7.1.5.2.1 require the organisation to assess the
validity of earlier results when a measuring instrument is found unfit. The as-found series
says how wrong the instrument was: at each error-test point, its mean error. An earlier
value v is corrected by minus that error, interpolated at v (linear between the two nearest
points by nominal; beyond the outermost points, the nearest point's error: no extrapolation
of a trend the calibration never saw), and re-decided by the measurement's own recorded
rule, limits and U (`verdict.decide`). A measurement whose verdict changes is listed in the
suspect record's `rejudged` (contract `record.schema.json`, `suspect.rejudged`).

Units: the calibration's errors are in the procedure's unit; a measurement recorded in
another unit of the same dimension has the correction converted exactly (`units.factor`).

Cost: the exact arithmetic costs ~150 µs per measurement, too slow for a year of parts
(issue 15: a million stored inspections in under 2 s). `rejudge` therefore decides each
measurement in binary floating point first and keeps the float verdict only when the
corrected value lies clearly away from every boundary (more than 1e-9 relative: float error
here is ~1e-15); near a boundary, and for every measurement whose verdict changes (the ones
recorded), the exact path decides and computes the figures. The float path can only say "the
verdict stays", never write a number (tests/core/test_rejudge.py checks both paths agree).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from station.core.calibration import PointResult
from station.core.model import DecisionRuleName
from station.core.units import Number, exact, factor
from station.core.verdict import Verdict, decide


@dataclass(frozen=True)
class ErrorCurve:
    """The as-found mean errors by nominal, sorted (error-test points only)."""

    points: tuple[tuple[Fraction, Fraction], ...]
    unit: str

    @classmethod
    def of(cls, as_found: Sequence[PointResult], unit: str) -> ErrorCurve:
        pts = sorted(
            (exact(p.nominal), exact(p.mean_error))
            for p in as_found
            if p.test == "error" and p.mean_error is not None
        )
        return cls(tuple(pts), unit)

    def error_at(self, value: Number) -> Fraction:
        """The interpolated error at `value` (in the curve's unit); 0 without points."""
        if not self.points:
            return Fraction(0)
        v = exact(value)
        pts = self.points
        if v <= pts[0][0]:
            return pts[0][1]
        if v >= pts[-1][0]:
            return pts[-1][1]
        for (x0, e0), (x1, e1) in itertools.pairwise(pts):
            if x0 <= v <= x1:
                if x1 == x0:  # two points at one nominal: their mean
                    return (e0 + e1) / 2
                return e0 + (e1 - e0) * (v - x0) / (x1 - x0)
        raise AssertionError("unreachable: v lies between the first and last nominal")


@dataclass(frozen=True)
class RecordedMeasurement:
    """One measurement of an earlier inspection, as its record holds it."""

    inspection: str
    characteristic: str
    sample: int
    value: float
    unit: str
    lsl: float | None
    usl: float | None
    rule: DecisionRuleName
    u: float | None
    verdict: Verdict


@dataclass(frozen=True)
class Rejudged:
    """A measurement whose verdict changes once corrected (contract `suspect.rejudged[]`)."""

    inspection: str
    characteristic: str
    sample: int
    value: float
    correction: float
    corrected: float
    verdict: Verdict
    verdict_corrected: Verdict


def rejudge_one(m: RecordedMeasurement, curve: ErrorCurve) -> Rejudged | None:
    """`m` re-decided with its value corrected by the curve; None when the verdict stays."""
    to_curve = factor(m.unit, curve.unit)  # exact; raises for another dimension
    at = exact(m.value) * to_curve
    correction = -curve.error_at(at) / to_curve
    corrected = exact(m.value) + correction
    # With the guarded rule and no recorded U the measurement was not judged by it: keep the
    # recorded verdict's rule as it was applied (`decide` needs U for guarded).
    u = m.u if m.rule == "guarded" else None
    again = decide(corrected, m.lsl, m.usl, m.rule, u)
    if again == m.verdict:
        return None
    return Rejudged(
        m.inspection,
        m.characteristic,
        m.sample,
        m.value,
        float(correction),
        float(corrected),
        m.verdict,
        again,
    )


_NEAR = 1e-9  # relative distance to a boundary below which the exact path decides


class _FloatCurve:
    """The curve in floats, for the fast path (`rejudge`)."""

    def __init__(self, curve: ErrorCurve) -> None:
        self.xs = [float(x) for x, _ in curve.points]
        self.es = [float(e) for _, e in curve.points]
        self.unit = curve.unit
        self.factors: dict[str, float] = {}

    def error_at(self, v: float) -> float:
        xs, es = self.xs, self.es
        if not xs:
            return 0.0
        if v <= xs[0]:
            return es[0]
        if v >= xs[-1]:
            return es[-1]
        i = bisect.bisect_left(xs, v)  # xs[i-1] < v <= xs[i]
        x0, x1, e0, e1 = xs[i - 1], xs[i], es[i - 1], es[i]
        return e0 + (e1 - e0) * (v - x0) / (x1 - x0)


def _float_verdict(m: RecordedMeasurement, fc: _FloatCurve) -> Verdict | None:
    """The corrected verdict in floats, or None when the value is too close to a boundary
    (or the case is unusual: guarded without U, crossed limits) for floats to decide."""
    to_curve = fc.factors.get(m.unit)
    if to_curve is None:
        to_curve = fc.factors[m.unit] = float(factor(m.unit, fc.unit))
    corrected = m.value - fc.error_at(m.value * to_curve) / to_curve
    if m.rule == "guarded":
        if m.u is None:
            return None
        w = float(m.u)
    else:
        w = 0.0
    lo, hi = m.lsl, m.usl
    if (lo is None and hi is None) or (lo is not None and hi is not None and lo > hi):
        return None
    edges = [e for e in (lo, hi) if e is not None]
    scale = max(1.0, abs(corrected), *(abs(e) + w for e in edges))
    for edge in edges:
        for b in (edge - w, edge + w):
            if abs(corrected - b) <= _NEAR * scale:
                return None
    if not math.isfinite(corrected):
        return None
    if (lo is None or corrected >= lo + w) and (hi is None or corrected <= hi - w):
        return "pass"
    if (lo is not None and corrected < lo - w) or (hi is not None and corrected > hi + w):
        return "fail"
    return "indeterminate"


def rejudge(measurements: Iterable[RecordedMeasurement], curve: ErrorCurve) -> list[Rejudged]:
    """Every measurement whose verdict changes, in the order given (streams: one at a time).

    Equal to `rejudge_one` over each measurement; the float fast path only skips the exact
    computation where the verdict clearly stays (module docstring)."""
    fc = _FloatCurve(curve)
    out: list[Rejudged] = []
    for m in measurements:
        if _float_verdict(m, fc) == m.verdict:
            continue
        changed = rejudge_one(m, curve)
        if changed is not None:
            out.append(changed)
    return out


__all__ = ["ErrorCurve", "RecordedMeasurement", "Rejudged", "rejudge", "rejudge_one"]
