"""The constants of the average-and-range gauge R&R (AIAG MSA 4th ed., 2010, ch. III §B and
Appendix C) and of its range chart, with the rule for counts outside the printed tables.

AIAG prints the K factors in sigma units (the 4th edition dropped the 5.15 of earlier
editions): EV = R̄̄·K1, AV from X̄_DIFF·K2, PV = R_p·K3 (MSA 4th ed. ch. III §B, the
"Gage Repeatability and Reproducibility Report" form). They are reciprocals of d2 factors:

- K1 = 1/d2(m), m = trials: a large number of ranges (appraisers x parts), so the d2 of the
  control-chart tables (Appendix C, g → ∞): 1/1.128 = 0.8862, 1/1.693 = 0.5908.
- K2 = 1/d2*(m, 1), m = appraisers, and K3 = 1/d2*(m, 1), m = parts: ONE range (of the
  appraiser averages, of the part averages), so Duncan's d2* for g = 1 (Appendix C):
  d2*(m, 1)² = E[W²]/σ² with W the range of m normal values.

Counts outside the printed tables (trials or appraisers above 3, parts above 10, up to
`MAX_COUNT`) are not refused: the factor is computed from the same definition, d2(m) by
`spc_charts.d2_exact` and d2*(m, 1) = sqrt(E[W²]) by numerical integration below, and
`tests/core/test_msa_grr.py` checks that the computation reproduces every printed value to
its 4 digits. Counts below 2 or above `MAX_COUNT` raise `MsaError`.

D4 (range chart UCL = D4·R̄̄, MSA 4th ed. ch. III §B; Appendix C / ASTM E2587 Table 3 to three
decimals) is tabled for 2..10 trials and computed beyond as 1 + 3·d3/d2 with
d3 = sqrt(E[W²] - d2²). AIAG's worked example prints D4 = 2.58 for 3 trials (rounded), the
control-chart table 2.574.
"""

from __future__ import annotations

import math
from functools import cache

from station.core.spc_charts import d2_exact

MAX_COUNT = 100

# AIAG MSA 4th ed., GRR report form (ch. III §B) and Appendix C.
K1: dict[int, float] = {2: 0.8862, 3: 0.5908}  # by trials
K2: dict[int, float] = {2: 0.7071, 3: 0.5231}  # by appraisers
K3: dict[int, float] = {  # by parts
    2: 0.7071,
    3: 0.5231,
    4: 0.4467,
    5: 0.4030,
    6: 0.3742,
    7: 0.3534,
    8: 0.3375,
    9: 0.3249,
    10: 0.3146,
}
# Range chart factor D4 by subgroup size (= trials), Appendix C / ASTM E2587 Table 3.
D4: dict[int, float] = {
    2: 3.267,
    3: 2.574,
    4: 2.282,
    5: 2.114,
    6: 2.004,
    7: 1.924,
    8: 1.864,
    9: 1.816,
    10: 1.777,
}


class MsaError(ValueError):
    """A gauge study that cannot be computed as asked (design, counts, inputs)."""


def _check(what: str, m: int) -> None:
    if not 2 <= m <= MAX_COUNT:
        raise MsaError(f"{what} must be between 2 and {MAX_COUNT}, got {m}")


def _phi(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@cache
def range_second_moment(m: int) -> float:
    """E[W²]/σ² for the range W of m independent normal values.

    E[W²] = 2∫∫_{x<y} 1 - F(y)^m - (1 - F(x))^m + (F(y) - F(x))^m dx dy (the range's
    survival function integrated against 2w), written with y = x + w: trapezoid in x on
    [-9, 9] (analytic, Gaussian tails: geometric convergence) and Simpson in w on [0, 14].
    m = 2 gives 2 exactly (W = |X1 - X2| ~ |N(0, 2)|) to ~1e-9.
    """
    _check("the count", m)
    h = 0.04
    xs = [-9.0 + i * h for i in range(int(18.0 / h) + 1)]
    fx = [_cdf(x) for x in xs]
    steps = 350  # even, w step 0.04
    hw = 14.0 / steps
    total_w: list[float] = []
    for j in range(steps + 1):
        w = j * hw
        terms = []
        for x, f in zip(xs, fx, strict=True):
            fy = _cdf(x + w)
            terms.append(1.0 - fy**m - (1.0 - f) ** m + (fy - f) ** m)
        total_w.append(math.fsum(terms) * h)
    simpson = [total_w[0], total_w[-1]]
    simpson += [(4.0 if j % 2 else 2.0) * total_w[j] for j in range(1, steps)]
    return 2.0 * math.fsum(simpson) * hw / 3.0


def d2_star_single(m: int) -> float:
    """Duncan's d2*(m, g = 1) = sqrt(E[W²])/σ: AIAG Appendix C, first row."""
    return math.sqrt(range_second_moment(m))


def k1(trials: int) -> float:
    """K1 by number of trials: the printed value, else 1/d2(trials)."""
    _check("trials", trials)
    return K1.get(trials) or 1.0 / d2_exact(trials)


def k2(appraisers: int) -> float:
    """K2 by number of appraisers: the printed value, else 1/d2*(appraisers, 1)."""
    _check("appraisers", appraisers)
    return K2.get(appraisers) or 1.0 / d2_star_single(appraisers)


def k3(parts: int) -> float:
    """K3 by number of parts: the printed value, else 1/d2*(parts, 1)."""
    _check("parts", parts)
    return K3.get(parts) or 1.0 / d2_star_single(parts)


def d4(trials: int) -> float:
    """D4 by subgroup size (trials): the table, else 1 + 3·d3/d2."""
    _check("trials", trials)
    if trials in D4:
        return D4[trials]
    d2 = d2_exact(trials)
    d3 = math.sqrt(range_second_moment(trials) - d2 * d2)
    return 1.0 + 3.0 * d3 / d2


__all__ = [
    "D4",
    "K1",
    "K2",
    "K3",
    "MAX_COUNT",
    "MsaError",
    "d2_star_single",
    "d4",
    "k1",
    "k2",
    "k3",
    "range_second_moment",
]
