"""Gauge R&R by the average-and-range method (AIAG MSA 4th ed., 2010, ch. III §B,
"Average and Range Method": the GRR data sheet and report form).

With a appraisers, n parts and r trials (a balanced, crossed design):

- R̄̄ = mean over appraisers of the mean appraiser-part range; EV = R̄̄·K1(r);
- X̄_DIFF = max - min of the appraiser averages;
  AV = sqrt((X̄_DIFF·K2(a))² - EV²/(n·r)), 0 when the radicand is negative (the report
  form's note);
- GRR = sqrt(EV² + AV²); R_p = range of the part averages, PV = R_p·K3(n);
  TV = sqrt(GRR² + PV²);
- %EV, %AV, %GRR, %PV = 100·x/TV; %tolerance = 100·6·GRR/T (a percent: the 4th edition's
  6σ spread; earlier editions used 5.15σ, which changes nothing in the %TV figures);
- ndc = floor(1.41·PV/GRR) (AIAG: truncated to the integer), None when GRR = 0;
- range chart: UCL_R = D4(r)·R̄̄ (AIAG's range chart); every appraiser-part range above it
  is listed.

Verdict (AIAG MSA 4th ed. guidelines for GRR acceptability): acceptable when %GRR <= 10
and ndc >= 5; conditional when %GRR <= 30; else unacceptable. The limits are overridable
(procedure `limits`: pct_grr, pct_grr_conditional, ndc) and the %GRR judged is that of TV by
default, or of the tolerance (`basis="tolerance"`, AIAG's choice when the gauge is used for
product control).

Readings may come in any order; everything is grouped by (appraiser, part) and summed with
math.fsum, so the order of the readings does not change a single bit of the result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from station.core.msa_tables import MsaError, d4, k1, k2, k3

Verdict = Literal["acceptable", "conditional", "unacceptable"]
Basis = Literal["tv", "tolerance"]

DEFAULT_LIMITS: dict[str, float] = {"pct_grr": 10.0, "pct_grr_conditional": 30.0, "ndc": 5.0}


@dataclass(frozen=True)
class GrrReading:
    """One reading of a gauge R&R: who measured which part in which trial, and the value."""

    appraiser: str
    part: str
    trial: int
    value: float | Decimal


@dataclass(frozen=True)
class Design:
    """A checked, balanced crossed design: values[appraiser][part] = the trials' values."""

    appraisers: tuple[str, ...]
    parts: tuple[str, ...]
    trials: int
    cells: Mapping[str, Mapping[str, tuple[float, ...]]]


def design(readings: Iterable[GrrReading]) -> Design:
    """Group readings into a balanced design, or say exactly what is missing or doubled."""
    cells: dict[str, dict[str, dict[int, float]]] = {}
    for r in readings:
        trials = cells.setdefault(r.appraiser, {}).setdefault(r.part, {})
        if r.trial in trials:
            raise MsaError(f"appraiser {r.appraiser} part {r.part} trial {r.trial} given twice")
        value = float(r.value)
        if not math.isfinite(value):
            raise MsaError(f"appraiser {r.appraiser} part {r.part}: value {r.value} not finite")
        trials[r.trial] = value
    appraisers = tuple(sorted(cells))
    parts = tuple(sorted({p for by_part in cells.values() for p in by_part}))
    if len(appraisers) < 2 or len(parts) < 2:
        raise MsaError(f"need 2+ appraisers and 2+ parts, got {len(appraisers)}, {len(parts)}")
    wanted = {t for by_part in cells.values() for ts in by_part.values() for t in ts}
    trial_numbers = tuple(sorted(wanted))
    if len(trial_numbers) < 2:
        raise MsaError("need 2 or more trials per appraiser and part")
    missing = [
        f"{a}/{p}/{t}"
        for a in appraisers
        for p in parts
        for t in trial_numbers
        if t not in cells[a].get(p, {})
    ]
    if missing:
        raise MsaError(f"unbalanced study, missing appraiser/part/trial: {', '.join(missing)}")
    return Design(
        appraisers,
        parts,
        len(trial_numbers),
        {a: {p: tuple(cells[a][p][t] for t in trial_numbers) for p in parts} for a in appraisers},
    )


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean with a correctly rounded sum (order-independent)."""
    return math.fsum(values) / len(values)


@dataclass(frozen=True)
class RangeOutlier:
    """An appraiser-part range above the range chart's UCL."""

    appraiser: str
    part: str
    range: float


@dataclass(frozen=True)
class GrrResult:
    """EV, AV, GRR, PV, TV (in the reading unit, sigma units), their % of TV, and the rest."""

    method: Literal["average-range", "anova"]
    ev: float
    av: float
    grr: float
    pv: float
    tv: float
    pct_ev: float | None
    pct_av: float | None
    pct_grr: float | None
    pct_pv: float | None
    pct_tolerance: float | None
    ndc: int | None
    verdict: Verdict
    notes: tuple[str, ...] = ()


def percents(
    ev: float, av: float, grr: float, pv: float, tv: float
) -> tuple[float | None, float | None, float | None, float | None]:
    """%EV, %AV, %GRR, %PV of TV; all None when TV is 0 (nothing varied at all)."""
    if tv == 0.0:
        return None, None, None, None
    return 100.0 * ev / tv, 100.0 * av / tv, 100.0 * grr / tv, 100.0 * pv / tv


def ndc_of(pv: float, grr: float) -> int | None:
    """floor(1.41·PV/GRR), AIAG ch. III §B; None when GRR is 0 (infinitely many categories)."""
    return None if grr == 0.0 else math.floor(1.41 * pv / grr)


def pct_tolerance(grr: float, tolerance: float | None) -> float | None:
    """100·6·GRR/T, a percent of the tolerance (AIAG 4th ed.: 6σ)."""
    if tolerance is None:
        return None
    if tolerance <= 0.0:
        raise MsaError(f"the tolerance must be positive, got {tolerance}")
    return 100.0 * 6.0 * grr / tolerance


def grr_verdict(
    pct_of_tv: float | None,
    pct_of_tol: float | None,
    ndc: int | None,
    limits: Mapping[str, float] | None = None,
    basis: Basis = "tv",
) -> Verdict:
    """AIAG's GRR guidelines: acceptable <= 10 % and ndc >= 5, conditional <= 30 %, else not."""
    lim = {**DEFAULT_LIMITS, **(limits or {})}
    pct = pct_of_tv if basis == "tv" else pct_of_tol
    if pct is None:
        if basis == "tolerance":
            raise MsaError("a %tolerance verdict needs the tolerance")
        pct = 0.0  # TV = 0: no variation at all, the gauge adds none
    ndc_ok = ndc is None or ndc >= lim["ndc"]
    if pct <= lim["pct_grr"] and ndc_ok:
        return "acceptable"
    if pct <= lim["pct_grr_conditional"]:
        return "conditional"
    return "unacceptable"


def components(
    r_bar_bar: float, x_diff: float, r_p: float, *, appraisers: int, parts: int, trials: int
) -> tuple[float, float, float, float, float, list[str]]:
    """EV, AV, GRR, PV, TV from the three statistics of the data sheet (AIAG report form),
    and the notes (AV floored at 0)."""
    ev = r_bar_bar * k1(trials)
    radicand = (x_diff * k2(appraisers)) ** 2 - ev * ev / (parts * trials)
    notes: list[str] = []
    if radicand < 0.0:
        notes.append("AV radicand negative: AV set to 0 (AIAG MSA 4th ed. report form)")
    av = math.sqrt(max(radicand, 0.0))
    grr = math.hypot(ev, av)
    pv = r_p * k3(parts)
    return ev, av, grr, pv, math.hypot(grr, pv), notes


@dataclass(frozen=True)
class AverageRange:
    """The average-and-range study: the components, the intermediates and the range chart."""

    result: GrrResult
    r_bar_bar: float
    x_diff: float
    r_p: float
    ucl_r: float
    beyond_ucl: tuple[RangeOutlier, ...]


def average_range(
    readings: Iterable[GrrReading],
    tolerance: float | None = None,
    limits: Mapping[str, float] | None = None,
    basis: Basis = "tv",
) -> AverageRange:
    """Gauge R&R by the average-and-range method (AIAG MSA 4th ed., ch. III §B)."""
    d = design(readings)
    a, n, r = len(d.appraisers), len(d.parts), d.trials
    ranges = {
        (ap, p): max(v) - min(v) for ap, by_part in d.cells.items() for p, v in by_part.items()
    }
    r_bars = [mean([ranges[ap, p] for p in d.parts]) for ap in d.appraisers]
    r_bar_bar = mean(r_bars)
    x_bars = [mean([v for p in d.parts for v in d.cells[ap][p]]) for ap in d.appraisers]
    x_diff = max(x_bars) - min(x_bars)
    part_means = [mean([v for ap in d.appraisers for v in d.cells[ap][p]]) for p in d.parts]
    r_p = max(part_means) - min(part_means)
    ev, av, grr, pv, tv, notes = components(r_bar_bar, x_diff, r_p, appraisers=a, parts=n, trials=r)
    pct_ev, pct_av, pct_grr, pct_pv = percents(ev, av, grr, pv, tv)
    pct_tol = pct_tolerance(grr, tolerance)
    ndc = ndc_of(pv, grr)
    ucl = d4(r) * r_bar_bar
    beyond = tuple(
        RangeOutlier(ap, p, ranges[ap, p])
        for ap in d.appraisers
        for p in d.parts
        if ranges[ap, p] > ucl
    )
    if beyond:
        notes.append(
            f"{len(beyond)} appraiser-part range(s) above UCL_R {ucl:.6g}: "
            "repeat those readings or find the cause (AIAG range chart)"
        )
    verdict = grr_verdict(pct_grr, pct_tol, ndc, limits, basis)
    result = GrrResult(
        "average-range", ev, av, grr, pv, tv, pct_ev, pct_av, pct_grr, pct_pv, pct_tol, ndc,
        verdict, tuple(notes),
    )  # fmt: skip
    return AverageRange(result, r_bar_bar, x_diff, r_p, ucl, beyond)


__all__ = [
    "DEFAULT_LIMITS",
    "AverageRange",
    "Basis",
    "Design",
    "GrrReading",
    "GrrResult",
    "RangeOutlier",
    "Verdict",
    "average_range",
    "components",
    "design",
    "grr_verdict",
    "mean",
    "ndc_of",
    "pct_tolerance",
    "percents",
]
