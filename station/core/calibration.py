"""Calibration math: one test point judged, the calibration's result, and its due date.

A calibration compares an instrument's indications with reference values (ISO 10012 and
ISO/IEC 17025 7.7; VIM 2.39). Per point of a procedure (contract `procedure.schema.json`):

- ``error`` test: every reading's error (indication - reference, VIM 4.1 "measurement error")
  must lie within the maximum permissible error (VIM 4.26). The MPE is absolute (`mpe`) or
  relative to the reference (`mpe_rel`). Where the reference comes from a reference
  instrument, each reading *is* a reference value and the indication is the value the
  instrument under test was set to (a click torque wrench set to `nominal`): ISO 6789-1:2017
  6.3 judges the deviation relative to the reference reading, so a wrench set to 20 N·m
  passes at 4 % only while |20 - r| <= 0.04·r, i.e. for r from 20/1.04 = 19.231 to
  20/0.96 = 20.833 N·m (not 19.2 to 20.8).
- ``repeatability`` test: the sample standard deviation of the readings must not exceed
  `limit` (EURAMET cg-18 v4.0, 4.1: repeatability of a balance at about half its capacity).

The uncertainty of the error at a point (k = 2, GUM 6.2 / EA-4/02 M:2022 5) combines the
reference's expanded uncertainty U_ref (k = 2), the resolution of the instrument under test
as a rectangular distribution (half-width d/2: standard uncertainty d/√12, GUM 4.3.7) and
the standard deviation of the mean of n readings:

    u = 2·sqrt((U_ref/2)² + (d/√12)² + s²/n)

and the test uncertainty ratio is TUR = MPE / u (ANSI/NCSL Z540.3 5.3: 4:1 is the usual
floor; below it the bench warns).

Decision rules (ILAC G8:09/2019; ISO 14253-1:2017): ``simple`` passes an error within the
MPE (limits inclusive) and fails it beyond; ``guarded`` accepts only within the MPE reduced
by u, and an error beyond that but within the MPE is ``indeterminate``: conformity is not
proven, nor is non-conformity.

All comparisons are exact (`fractions.Fraction` over the numbers' decimal text, as in
`station.core.verdict`), so an error exactly at the MPE passes under ``simple``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Literal

from station.core.units import Number, exact

PointTest = Literal["error", "repeatability"]
PointSource = Literal["standard", "reference-instrument"]
CalibrationRule = Literal["simple", "guarded"]
PointVerdict = Literal["pass", "fail", "indeterminate"]
CalibrationResult = Literal["pass", "adjusted", "fail"]

TUR_FLOOR = 4.0  # ANSI/NCSL Z540.3: below 4:1 the uncertainty eats a quarter of the MPE


class CalibrationError(ValueError):
    """A point cannot be judged as specified (no MPE for an error test, no readings, ...)."""


@dataclass(frozen=True)
class PointSpec:
    """One test point of a released procedure (contract: `points[]`)."""

    name: str
    nominal: float
    readings: int
    test: PointTest = "error"
    mpe: float | None = None
    mpe_rel: float | None = None
    limit: float | None = None
    source: PointSource = "standard"
    standard_type: str | None = None


@dataclass(frozen=True)
class PointResult:
    """One point as judged: what the record's `as_found`/`as_left` point carries."""

    name: str
    nominal: float
    test: PointTest
    reference: float
    readings: tuple[float, ...]
    error: float | None  # the reading error of largest magnitude (error test)
    mean_error: float | None
    s: float | None  # sample standard deviation; None for one reading
    mpe: float | None  # absolute, at the reference (mpe_rel x reference where relative)
    limit: float | None
    u: float
    tur: float | None
    verdict: PointVerdict

    @property
    def tur_low(self) -> bool:
        """True when the TUR is below the 4:1 floor (the bench warns)."""
        return self.tur is not None and self.tur < TUR_FLOOR


def _mean(xs: Sequence[Fraction]) -> Fraction:
    return sum(xs, Fraction(0)) / len(xs)


def _stdev(xs: Sequence[Fraction]) -> float | None:
    """Sample standard deviation (n - 1), exact up to the final square root; None for n = 1."""
    if len(xs) < 2:
        return None
    m = _mean(xs)
    var = sum(((x - m) ** 2 for x in xs), Fraction(0)) / (len(xs) - 1)
    return math.sqrt(var) if var else 0.0


def expanded_uncertainty(u_ref: Number, resolution: Number, s: float | None, n: int) -> float:
    """u = 2·sqrt((U_ref/2)² + (d/√12)² + s²/n) (k = 2; see the module docstring)."""
    ref = float(exact(u_ref)) / 2
    res = float(exact(resolution)) / math.sqrt(12)
    rep = 0.0 if s is None or n <= 0 else s * s / n
    return 2 * math.sqrt(ref * ref + res * res + rep)


def _within(error: Fraction, mpe: Fraction, u: Fraction, rule: CalibrationRule) -> PointVerdict:
    if abs(error) > mpe:
        return "fail"
    if rule == "guarded" and abs(error) > mpe - u:
        return "indeterminate"
    return "pass"


def _worst(verdicts: Sequence[PointVerdict]) -> PointVerdict:
    if "fail" in verdicts:
        return "fail"
    return "indeterminate" if "indeterminate" in verdicts else "pass"


def judge_point(
    spec: PointSpec,
    readings: Sequence[Number],
    *,
    reference: Number | None,
    u_ref: Number,
    resolution: Number,
    rule: CalibrationRule = "simple",
) -> PointResult:
    """Judge one point from its readings (in the procedure's unit).

    `reference` is the standard's certified value for source ``standard``; for source
    ``reference-instrument`` the readings are the reference values and `reference` is
    ignored (the record's reference is their mean). `u_ref` is the reference's expanded
    uncertainty (k = 2), `resolution` the instrument under test's.

    Raises:
        CalibrationError: no readings, an error test without an MPE, a repeatability test
            without a limit, a standard point without a reference value.
    """
    if not readings:
        raise CalibrationError(f"point {spec.name}: no readings")
    xs = [exact(r) for r in readings]
    n = len(xs)
    if spec.source == "reference-instrument":
        indication = exact(spec.nominal)
        errors = [indication - x for x in xs]
        refs = xs
        ref = _mean(xs)
    else:
        if reference is None:
            raise CalibrationError(f"point {spec.name}: no reference value")
        ref = exact(reference)
        errors = [x - ref for x in xs]
        refs = [ref] * n
    s = _stdev(xs)
    u = expanded_uncertainty(u_ref, resolution, s, n)
    mean_error = float(_mean(errors))
    worst = max(errors, key=abs)
    if spec.test == "repeatability":
        if spec.limit is None:
            raise CalibrationError(f"point {spec.name}: a repeatability test needs `limit`")
        verdict: PointVerdict = "pass" if (s or 0.0) <= spec.limit else "fail"
        return PointResult(
            spec.name, spec.nominal, "repeatability", float(ref), tuple(map(float, xs)),
            float(worst), mean_error, s, None, spec.limit, u, None, verdict,
        )  # fmt: skip
    if spec.mpe is None and spec.mpe_rel is None:
        raise CalibrationError(f"point {spec.name}: an error test needs `mpe` or `mpe_rel`")

    def mpe_at(r: Fraction) -> Fraction:
        return exact(spec.mpe) if spec.mpe is not None else exact(spec.mpe_rel or 0) * abs(r)

    eu = exact(u)
    verdict = _worst([_within(e, mpe_at(r), eu, rule) for e, r in zip(errors, refs, strict=True)])
    mpe = float(mpe_at(ref))
    return PointResult(
        spec.name, spec.nominal, "error", float(ref), tuple(map(float, xs)), float(worst),
        mean_error, s, mpe, None, u, (mpe / u) if u > 0 else None, verdict,
    )  # fmt: skip


def series_verdict(points: Sequence[PointResult]) -> PointVerdict:
    """The verdict of an as-found or as-left series: its worst point."""
    return _worst([p.verdict for p in points])


def calibration_result(
    as_found: Sequence[PointResult], as_left: Sequence[PointResult] | None
) -> CalibrationResult:
    """`pass` when found within limits; `adjusted` when found outside and left within;
    `fail` otherwise (contract `calibration.result`). An indeterminate series is not proven
    within limits (ILAC G8 4.2), so it does not pass."""
    if series_verdict(as_found) == "pass":
        return "pass"
    if as_left and series_verdict(as_left) == "pass":
        return "adjusted"
    return "fail"


def next_due(
    completed_site_date: date, interval_days: int, result: CalibrationResult
) -> date | None:
    """The proposed due date: the completion date on the site's calendar plus the interval;
    None for a failed calibration (contract `calibration.next_due`)."""
    if result == "fail":
        return None
    return completed_site_date + timedelta(days=interval_days)


def statement(rule: CalibrationRule) -> str:
    """The decision rule in words, for the record (ISO/IEC 17025:2017 7.8.6.2)."""
    if rule == "guarded":
        return (
            "Guarded acceptance (ISO 14253-1, ILAC G8): a point passes when every error lies"
            " within the MPE reduced by the expanded uncertainty U (k = 2) of the error; an"
            " error beyond that but within the MPE is indeterminate; beyond the MPE it fails."
        )
    return (
        "Simple acceptance (ILAC G8, guard band w = 0): a point passes when every error lies"
        " within the MPE (limits inclusive) and fails otherwise; the expanded uncertainty U"
        " (k = 2) is reported beside it."
    )


__all__ = [
    "TUR_FLOOR",
    "CalibrationError",
    "CalibrationResult",
    "CalibrationRule",
    "PointResult",
    "PointSource",
    "PointSpec",
    "PointTest",
    "PointVerdict",
    "calibration_result",
    "expanded_uncertainty",
    "judge_point",
    "next_due",
    "series_verdict",
    "statement",
]
