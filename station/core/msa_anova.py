"""Gauge R&R by two-way ANOVA with interaction (AIAG MSA 4th ed., 2010, ch. III §B,
"Analysis of Variance (ANOVA) Method": the ANOVA table and the tabulated results).

Sums of squares over a appraisers, n parts, r trials (balanced, crossed, random effects):
SS_A = n·r·Σ(x̄_a - x̄)², SS_P = a·r·Σ(x̄_p - x̄)², SS_AP = r·Σ(x̄_ap - x̄_a - x̄_p + x̄)²,
SS_E = Σ(x - x̄_ap)²; degrees of freedom a-1, n-1, (a-1)(n-1), a·n·(r-1).

The interaction is tested with F = MS_AP/MS_E against F((a-1)(n-1), a·n·(r-1)); its p-value
is computed here (regularized incomplete beta, below). When p > 0.25 the interaction is pooled
into repeatability, as AIAG does (ANOVA method, p. 127ff: a non-significant interaction is
pooled with the equipment error; `pool_p` overrides the level): MS_E' = (SS_AP + SS_E)/(df_AP +
df_E).

Variance components (AIAG, ANOVA method), each negative estimate set to 0 (as AIAG does):
not pooled: EV² = MS_E, INT² = (MS_AP - MS_E)/r, AV² = (MS_A - MS_AP)/(n·r),
            PV² = (MS_P - MS_AP)/(a·r);
pooled:     EV² = MS_E', INT² = 0, AV² = (MS_A - MS_E')/(n·r), PV² = (MS_P - MS_E')/(a·r).
GRR² = EV² + AV² + INT²; TV² = GRR² + PV². `av` is the appraiser component and
`interaction` the appraiser-by-part one; reproducibility = sqrt(AV² + INT²).
The percentages, ndc, %tolerance and verdict are those of `msa_grr`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from station.core.msa_grr import (
    Basis,
    GrrReading,
    GrrResult,
    design,
    grr_verdict,
    mean,
    ndc_of,
    pct_tolerance,
    percents,
)
from station.core.msa_tables import MsaError

POOL_P = 0.25


def _beta_cf(a: float, b: float, x: float) -> float:
    """Continued fraction of I_x(a, b) by the modified Lentz method (Numerical Recipes §6.4,
    Abramowitz & Stegun 26.5.8)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            return h
    raise MsaError(f"incomplete beta did not converge (a={a}, b={b}, x={x})")


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), a, b > 0, 0 <= x <= 1."""
    if a <= 0.0 or b <= 0.0:
        raise MsaError(f"incomplete beta needs a, b > 0, got {a}, {b}")
    if not 0.0 <= x <= 1.0:
        raise MsaError(f"incomplete beta needs 0 <= x <= 1, got {x}")
    if x in (0.0, 1.0):
        return x
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
        + a * math.log(x) + b * math.log1p(-x)
    )  # fmt: skip
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_cf(a, b, x) / a
    return 1.0 - front * _beta_cf(b, a, 1.0 - x) / b


def f_sf(f: float, df1: float, df2: float) -> float:
    """P(F > f) for F ~ F(df1, df2): I_{df2/(df2 + df1·f)}(df2/2, df1/2)."""
    if f <= 0.0:
        return 1.0
    return betainc(df2 / 2.0, df1 / 2.0, df2 / (df2 + df1 * f))


@dataclass(frozen=True)
class AnovaRow:
    """One row of AIAG's ANOVA table: source, df, SS, MS, F (None where not tested)."""

    source: str
    df: int
    ss: float
    ms: float
    f: float | None


@dataclass(frozen=True)
class AnovaStudy:
    """The ANOVA study: the table, the interaction's p-value and what was pooled."""

    result: GrrResult
    table: tuple[AnovaRow, ...]
    interaction: float  # sigma of the appraiser-by-part interaction, 0 when pooled
    reproducibility: float  # sqrt(AV² + INT²)
    p_interaction: float | None  # None when MS_E is 0 (no test possible)
    pooled: bool


def anova(
    readings: Iterable[GrrReading],
    tolerance: float | None = None,
    limits: Mapping[str, float] | None = None,
    basis: Basis = "tv",
    pool_p: float = POOL_P,
) -> AnovaStudy:
    """Gauge R&R by two-way ANOVA with interaction (AIAG MSA 4th ed., ch. III §B)."""
    d = design(readings)
    a, n, r = len(d.appraisers), len(d.parts), d.trials
    values = [v for by_part in d.cells.values() for vs in by_part.values() for v in vs]
    grand = mean(values)
    cell = {(ap, p): mean(d.cells[ap][p]) for ap in d.appraisers for p in d.parts}
    x_a = {ap: mean([cell[ap, p] for p in d.parts]) for ap in d.appraisers}
    x_p = {p: mean([cell[ap, p] for ap in d.appraisers]) for p in d.parts}
    ss_a = n * r * math.fsum((x_a[ap] - grand) ** 2 for ap in d.appraisers)
    ss_p = a * r * math.fsum((x_p[p] - grand) ** 2 for p in d.parts)
    ss_ap = r * math.fsum(
        (cell[ap, p] - x_a[ap] - x_p[p] + grand) ** 2 for ap in d.appraisers for p in d.parts
    )
    ss_e = math.fsum(
        (v - cell[ap, p]) ** 2 for ap in d.appraisers for p in d.parts for v in d.cells[ap][p]
    )
    df_a, df_p, df_ap, df_e = a - 1, n - 1, (a - 1) * (n - 1), a * n * (r - 1)
    ms_a, ms_p, ms_ap, ms_e = ss_a / df_a, ss_p / df_p, ss_ap / df_ap, ss_e / df_e
    f_ap = ms_ap / ms_e if ms_e > 0.0 else None
    p_int = None if f_ap is None else f_sf(f_ap, df_ap, df_e)
    notes: list[str] = []
    # MS_E = 0 (every trial repeated exactly): nothing to test against; keep the interaction.
    pooled = p_int is not None and p_int > pool_p
    if pooled:
        ms_pool = (ss_ap + ss_e) / (df_ap + df_e)
        ev2, int2 = ms_pool, 0.0
        av2 = (ms_a - ms_pool) / (n * r)
        pv2 = (ms_p - ms_pool) / (a * r)
        notes.append(f"interaction p = {p_int:.4f} > {pool_p}: pooled into repeatability")
    else:
        ev2 = ms_e
        int2 = (ms_ap - ms_e) / r
        av2 = (ms_a - ms_ap) / (n * r)
        pv2 = (ms_p - ms_ap) / (a * r)
    for name, v in (("interaction", int2), ("appraiser", av2), ("part", pv2)):
        if v < 0.0:
            notes.append(
                f"{name} variance estimate negative ({v:.6g}): set to 0 (AIAG ANOVA method)"
            )
    int2, av2, pv2 = max(int2, 0.0), max(av2, 0.0), max(pv2, 0.0)
    ev, av, inter, pv = math.sqrt(ev2), math.sqrt(av2), math.sqrt(int2), math.sqrt(pv2)
    grr = math.sqrt(math.fsum((ev2, av2, int2)))
    tv = math.sqrt(math.fsum((ev2, av2, int2, pv2)))
    pct_ev, pct_av, pct_grr, pct_pv = percents(ev, av, grr, pv, tv)
    pct_tol = pct_tolerance(grr, tolerance)
    ndc = ndc_of(pv, grr)
    result = GrrResult(
        "anova", ev, av, grr, pv, tv, pct_ev, pct_av, pct_grr, pct_pv, pct_tol, ndc,
        grr_verdict(pct_grr, pct_tol, ndc, limits, basis), tuple(notes),
    )  # fmt: skip

    def f_of(ms: float) -> float | None:  # AIAG's table tests A and P against MS_AP
        return ms / ms_ap if ms_ap > 0.0 else None

    table = (
        AnovaRow("appraiser", df_a, ss_a, ms_a, f_of(ms_a)),
        AnovaRow("part", df_p, ss_p, ms_p, f_of(ms_p)),
        AnovaRow("appraiser-by-part", df_ap, ss_ap, ms_ap, f_ap),
        AnovaRow("equipment", df_e, ss_e, ms_e, None),
        AnovaRow("total", a * n * r - 1, math.fsum((ss_a, ss_p, ss_ap, ss_e)), math.nan, None),
    )
    return AnovaStudy(result, table, inter, math.hypot(av, inter), p_int, pooled)


__all__ = ["POOL_P", "AnovaRow", "AnovaStudy", "anova", "betainc", "f_sf"]
