"""Shewhart variables charts (I-MR, X̄-R, X̄-S): constants, subgroups, frozen control limits.

Why this module exists: control limits decide whether the bench stops the operator, so they
are computed by pure functions over frozen data, and only from the process itself. They come
either from the plan's approved centre/UCL/LCL (`SpcSpec.approved_limits`) or from the first
`spec.baseline` subgroups; once computed they are frozen (later data never moves them). The
specification limits (lsl/usl) are never an input here: spec limits typed in as control limits
are a known misuse (AIAG SPC manual 2nd ed.: control limits come from the process, never the spec;
InfinityQS refuses typed-in limits).

Factors: Montgomery, *Introduction to Statistical Quality Control*, Appendix VI ("Factors for
constructing variables control charts"), the same table as ASTM E2587 and ASTM MNL 7 (Manual
on Presentation of Data and Control Chart Analysis). The table is used *as printed*, so that
hand calculations and the published worked examples agree to the printed digit. c4 and d2 are
also computed from their definitions (`c4_exact`, `d2_exact`); the tests check every tabled
factor against its defining formula.

Formulas (Montgomery ch. 6; NIST/SEMATECH e-Handbook §6.3.2):

- I-MR: centre x̄, MR̄ = mean |x_i - x_{i-1}|, σ̂ = MR̄/d2(2), limits x̄ ± 3σ̂ (NIST §6.3.2.2
  uses 3·MR̄/1.128 exactly so); MR chart MR̄, UCL D4(2)·MR̄, LCL D3(2)·MR̄ = 0.
- X̄-R: centre x̿, limits x̿ ± A2·R̄; R chart D3·R̄ .. D4·R̄; σ̂ = R̄/d2.
- X̄-S: centre x̿, limits x̿ ± A3·S̄; S chart B3·S̄ .. B4·S̄; σ̂ = S̄/c4 (s with n - 1).

Approved limits: the plan gives centre/UCL/LCL of the I or X̄ chart only. The within sigma is
then (UCL - LCL)/6 (times √n for X̄), and the dispersion chart is derived from it with the
same factors (R̄ = d2·σ̂, S̄ = c4·σ̂, MR̄ = d2(2)·σ̂), which equals D2·σ̂ / B6·σ̂ by definition.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from station.core.model import ChartKind, SpcSpec

MIN_SUBGROUP = 2
MAX_SUBGROUP = 25
LimitSource = Literal["baseline", "approved"]
_NUMBER_TYPES: set[type] = {int, float}
_DISPERSION_NAME: dict[ChartKind, str] = {"imr": "MR", "xbar-r": "R", "xbar-s": "S"}


class SpcError(ValueError):
    """SPC input that cannot be charted; the message names what, where, expected and got."""


@dataclass(frozen=True)
class Factors:
    """Control chart factors for subgroup size n (textbook notation, hence the capitals)."""

    n: int
    A2: float
    A3: float
    c4: float
    B3: float
    B4: float
    d2: float
    D3: float
    D4: float


# n: A2, A3, c4, B3, B4, d2, D3, D4 (Montgomery Appendix VI; ASTM E2587).
_TABLE: dict[int, tuple[float, float, float, float, float, float, float, float]] = {
    2: (1.880, 2.659, 0.7979, 0.000, 3.267, 1.128, 0.000, 3.267),
    3: (1.023, 1.954, 0.8862, 0.000, 2.568, 1.693, 0.000, 2.574),
    4: (0.729, 1.628, 0.9213, 0.000, 2.266, 2.059, 0.000, 2.282),
    5: (0.577, 1.427, 0.9400, 0.000, 2.089, 2.326, 0.000, 2.114),
    6: (0.483, 1.287, 0.9515, 0.030, 1.970, 2.534, 0.000, 2.004),
    7: (0.419, 1.182, 0.9594, 0.118, 1.882, 2.704, 0.076, 1.924),
    8: (0.373, 1.099, 0.9650, 0.185, 1.815, 2.847, 0.136, 1.864),
    9: (0.337, 1.032, 0.9693, 0.239, 1.761, 2.970, 0.184, 1.816),
    10: (0.308, 0.975, 0.9727, 0.284, 1.716, 3.078, 0.223, 1.777),
    11: (0.285, 0.927, 0.9754, 0.321, 1.679, 3.173, 0.256, 1.744),
    12: (0.266, 0.886, 0.9776, 0.354, 1.646, 3.258, 0.283, 1.717),
    13: (0.249, 0.850, 0.9794, 0.382, 1.618, 3.336, 0.307, 1.693),
    14: (0.235, 0.817, 0.9810, 0.406, 1.594, 3.407, 0.328, 1.672),
    15: (0.223, 0.789, 0.9823, 0.428, 1.572, 3.472, 0.347, 1.653),
    16: (0.212, 0.763, 0.9835, 0.448, 1.552, 3.532, 0.363, 1.637),
    17: (0.203, 0.739, 0.9845, 0.466, 1.534, 3.588, 0.378, 1.622),
    18: (0.194, 0.718, 0.9854, 0.482, 1.518, 3.640, 0.391, 1.608),
    19: (0.187, 0.698, 0.9862, 0.497, 1.503, 3.689, 0.403, 1.597),
    20: (0.180, 0.680, 0.9869, 0.510, 1.490, 3.735, 0.415, 1.585),
    21: (0.173, 0.663, 0.9876, 0.523, 1.477, 3.778, 0.425, 1.575),
    22: (0.167, 0.647, 0.9882, 0.534, 1.466, 3.819, 0.434, 1.566),
    23: (0.162, 0.633, 0.9887, 0.545, 1.455, 3.858, 0.443, 1.557),
    24: (0.157, 0.619, 0.9892, 0.555, 1.445, 3.895, 0.451, 1.548),
    25: (0.153, 0.606, 0.9896, 0.565, 1.435, 3.931, 0.459, 1.541),
}
FACTORS: dict[int, Factors] = {n: Factors(n, *row) for n, row in _TABLE.items()}


def factors(n: int) -> Factors:
    """The tabled factors for subgroup size n (2..25); SpcError outside the table."""
    if n not in FACTORS:
        raise SpcError(
            f"control chart factors exist for subgroup sizes {MIN_SUBGROUP}..{MAX_SUBGROUP}, "
            f"got {n!r}"
        )
    return FACTORS[n]


def c4_exact(n: int) -> float:
    """c4(n) = sqrt(2/(n-1))·Γ(n/2)/Γ((n-1)/2): E[s] = c4·σ for normal samples of size n."""
    if n < 2:
        raise SpcError(f"c4 needs a sample size of at least 2, got {n}")
    return math.sqrt(2.0 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))


def d2_exact(n: int) -> float:
    """d2(n) = E[R]/σ = ∫ 1 - Φ(x)^n - (1 - Φ(x))^n dx over the real line.

    No closed form exists for n > 3 (d2(2) = 2/√π), so the integral is taken with the
    trapezoid rule on [-10, 10], step 0.005: the integrand is analytic with Gaussian tails, for
    which the trapezoid rule converges geometrically (d2(2) comes out at 2/√π to ~1e-15).
    """
    if n < 2:
        raise SpcError(f"d2 needs a sample size of at least 2, got {n}")
    step, half_width = 0.005, 10.0
    count = round(2 * half_width / step)
    total = 0.0
    for i in range(count + 1):
        p = 0.5 * math.erfc((half_width - i * step) / math.sqrt(2.0))
        total += 1.0 - p**n - (1.0 - p) ** n
    return total * step


@dataclass(frozen=True)
class Limits:
    """Centre line and control limits of one chart (I, X̄, MR, R or S).

    Limits need not be symmetric (the R/S/MR charts are not, and approved limits may not be);
    the rules then use a separate sigma per side: (ucl - center)/3 and (center - lcl)/3.
    """

    center: float
    ucl: float
    lcl: float

    def __post_init__(self) -> None:
        values = (self.lcl, self.center, self.ucl)
        if not all(math.isfinite(v) for v in values) or not self.lcl < self.center < self.ucl:
            raise SpcError(
                "control limits must be finite with lcl < center < ucl, got "
                f"lcl={self.lcl!r} center={self.center!r} ucl={self.ucl!r}"
            )

    @property
    def sigma_upper(self) -> float:
        """One sigma above the centre line: (ucl - center)/3."""
        return (self.ucl - self.center) / 3.0

    @property
    def sigma_lower(self) -> float:
        """One sigma below the centre line: (center - lcl)/3."""
        return (self.center - self.lcl) / 3.0


@dataclass(frozen=True)
class ControlLimits:
    """Frozen limits of a characteristic's pair of charts, and what they rest on.

    `location` is the I or X̄ chart (the one the Nelson rules run on), `dispersion` the MR, R
    or S chart. `sigma` is the within-subgroup sigma estimate (MR̄/d2, R̄/d2, S̄/c4), the one
    Cp/Cpk use. `n_subgroups` is how many subgroups the baseline used (0 when approved).
    """

    chart: ChartKind
    subgroup: int
    location: Limits
    dispersion: Limits
    sigma: float
    n_subgroups: int
    source: LimitSource

    @property
    def location_name(self) -> str:
        """'I' for individuals, 'X̄' for subgroup means."""
        return "I" if self.chart == "imr" else "X̄"

    @property
    def dispersion_name(self) -> str:
        """'MR', 'R' or 'S'."""
        return _DISPERSION_NAME[self.chart]


@dataclass(frozen=True)
class ChartPoints:
    """The plotted points of both charts, one location point per subgroup.

    For I-MR the first value has no moving range: `dispersion[k]` belongs to subgroup
    `k + dispersion_offset` (offset 1 for MR, 0 for R and S).
    """

    location: tuple[float, ...]
    dispersion: tuple[float, ...]
    dispersion_offset: int


def check_spec(spec: SpcSpec) -> None:
    """Raise SpcError when the `spc` block cannot be charted as written."""
    if spec.chart == "imr":
        if spec.subgroup != 1:
            raise SpcError(
                f"spc chart 'imr' takes one value per subgroup: expected subgroup 1, "
                f"got {spec.subgroup}"
            )
    elif spec.chart in ("xbar-r", "xbar-s"):
        if not MIN_SUBGROUP <= spec.subgroup <= MAX_SUBGROUP:
            raise SpcError(
                f"spc chart {spec.chart!r} needs subgroups of {MIN_SUBGROUP}..{MAX_SUBGROUP}, "
                f"got subgroup {spec.subgroup}"
            )
    else:
        raise SpcError(f"spc chart must be 'imr', 'xbar-r' or 'xbar-s', got {spec.chart!r}")
    if spec.baseline < 2:
        raise SpcError(f"spc baseline needs at least 2 subgroups, got {spec.baseline}")
    given = [k for k in ("center", "ucl", "lcl") if getattr(spec, k) is not None]
    if given and len(given) < 3:
        raise SpcError(
            "spc approved limits need center, ucl and lcl together, got only " + ", ".join(given)
        )


def baseline_ready(spec: SpcSpec, n_subgroups: int) -> bool:
    """True when limits can be had: approved in the plan, or `baseline` subgroups collected."""
    return spec.approved_limits or n_subgroups >= spec.baseline


def group_values(
    spec: SpcSpec, values: Sequence[float], *, start: int = 0
) -> tuple[tuple[float, ...], ...]:
    """Cut a characteristic's flat series of values into subgroups of `spec.subgroup`.

    `start` is the 0-based position of `values[0]` in the characteristic's whole series (the
    store hands out windows of the last N values): values before the first subgroup boundary
    belong to a subgroup begun outside the window and are dropped, as is an incomplete
    trailing subgroup (still being measured). Non-finite values are refused, not skipped.
    """
    check_spec(spec)
    if start < 0:
        raise SpcError(f"start must be the 0-based position of the first value, got {start}")
    size = spec.subgroup
    check_finite(values, "value")
    skip = (-start) % size
    full = (len(values) - skip) // size
    return tuple(
        tuple(float(v) for v in values[skip + k * size : skip + (k + 1) * size])
        for k in range(max(full, 0))
    )


def chart_points(spec: SpcSpec, subgroups: Sequence[Sequence[float]]) -> ChartPoints:
    """Plotted points: values and moving ranges (I-MR), means and ranges/std devs (X̄-R/S)."""
    check_spec(spec)
    _check_subgroups(spec, subgroups)
    if spec.chart == "imr":
        xs = tuple([float(g[0]) for g in subgroups])
        return ChartPoints(xs, tuple(abs(b - a) for a, b in pairwise(xs)), 1)
    means = tuple(_mean(g) for g in subgroups)
    if spec.chart == "xbar-r":
        spread = tuple(float(max(g)) - float(min(g)) for g in subgroups)
    else:
        spread = tuple(_stdev(g) for g in subgroups)
    return ChartPoints(means, spread, 0)


def compute_limits(spec: SpcSpec, subgroups: Sequence[Sequence[float]]) -> ControlLimits:
    """Control limits from the plan's approved values, else from the first `baseline` subgroups.

    Subgroups past the baseline are ignored: limits are frozen once the baseline is complete.
    Raises SpcError for a spec that cannot be charted, too few subgroups, wrong subgroup sizes,
    non-finite values, or a baseline without any spread (limits would collapse onto the centre).
    """
    check_spec(spec)
    if spec.approved_limits:
        return approved_limits(spec)
    if len(subgroups) < spec.baseline:
        raise SpcError(
            f"spc baseline needs {spec.baseline} subgroups of {spec.subgroup}, got {len(subgroups)}"
        )
    base = subgroups[: spec.baseline]
    pts = chart_points(spec, base)
    center = _mean(pts.location)
    spread = _mean(pts.dispersion)
    if spread <= 0.0:
        raise SpcError(
            f"spc baseline of {len(base)} subgroups has no spread "
            f"(mean {_DISPERSION_NAME[spec.chart]} = 0): control "
            "limits would collapse onto the centre line; is the gauge resolution too coarse?"
        )
    f = factors(2 if spec.chart == "imr" else spec.subgroup)
    if spec.chart == "imr":
        sigma = spread / f.d2
        location = Limits(center, center + 3.0 * sigma, center - 3.0 * sigma)
        dispersion = Limits(spread, f.D4 * spread, f.D3 * spread)
    elif spec.chart == "xbar-r":
        sigma = spread / f.d2
        location = Limits(center, center + f.A2 * spread, center - f.A2 * spread)
        dispersion = Limits(spread, f.D4 * spread, f.D3 * spread)
    else:
        sigma = spread / f.c4
        location = Limits(center, center + f.A3 * spread, center - f.A3 * spread)
        dispersion = Limits(spread, f.B4 * spread, f.B3 * spread)
    return ControlLimits(
        spec.chart, spec.subgroup, location, dispersion, sigma, len(base), "baseline"
    )


def approved_limits(spec: SpcSpec) -> ControlLimits:
    """ControlLimits from the plan's approved centre/UCL/LCL of the I or X̄ chart."""
    check_spec(spec)
    if spec.center is None or spec.ucl is None or spec.lcl is None:
        raise SpcError("spc block carries no approved limits (center, ucl and lcl)")
    location = Limits(float(spec.center), float(spec.ucl), float(spec.lcl))
    n = spec.subgroup
    sigma = (location.ucl - location.lcl) / 6.0 * math.sqrt(n)
    f = factors(2 if spec.chart == "imr" else n)
    if spec.chart == "xbar-s":
        s_bar = f.c4 * sigma
        dispersion = Limits(s_bar, f.B4 * s_bar, f.B3 * s_bar)
    else:
        r_bar = f.d2 * sigma
        dispersion = Limits(r_bar, f.D4 * r_bar, f.D3 * r_bar)
    return ControlLimits(spec.chart, n, location, dispersion, sigma, 0, "approved")


def _check_subgroups(spec: SpcSpec, subgroups: Sequence[Sequence[float]]) -> None:
    for k, g in enumerate(subgroups):
        if len(g) != spec.subgroup:
            raise SpcError(
                f"subgroup {k} has {len(g)} values, expected spec.subgroup = {spec.subgroup}"
            )
    try:  # one fast check over all values; per subgroup only to name a bad one
        check_finite([v for g in subgroups for v in g], "value")
    except SpcError:
        for k, g in enumerate(subgroups):
            check_finite(g, f"subgroup {k} value")
        raise


def check_finite(values: Sequence[float], what: str) -> None:
    """SpcError naming the first value that is not a finite int/float (bools refused too).

    Fast path first (this runs on every chart update): plain ints and floats whose exact sum
    is finite are all finite; only otherwise is the series walked to name the culprit.
    """
    try:
        if set(map(type, values)) <= _NUMBER_TYPES and math.isfinite(math.fsum(values)):
            return
    except (OverflowError, ValueError):
        pass  # inf - inf or an overflowing sum: find the value below
    for i, v in enumerate(values):
        if type(v) not in _NUMBER_TYPES or not math.isfinite(v):
            raise SpcError(f"{what} {i} must be a finite number, got {v!r}")


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def mean_stdev(values: Sequence[float]) -> tuple[float, float]:
    """(mean, sample standard deviation with n - 1) of at least two finite values.

    Data without spread gives exactly (value, 0.0). Why this matters: in floating point the
    mean of [30.1] * 5 is not 30.1, so the two-pass formula alone gave deviations, and a
    standard deviation, around 1e-15 instead of 0; the "no spread" refusal of
    `compute_limits` and the "sigma is 0" note of `capability` then never triggered, and
    limits 1e-14 wide or a Pp of 1e15 were shown instead (issue 12.4). The test is exact:
    the spread is zero exactly when every value is the same float (the same decimal, since
    shortest reprs are one-to-one). Otherwise some value differs from the mean, the IEEE
    difference of two different floats is never 0, and the two-pass fsum formula (relative
    error a few ulp) is used: an exact rational computation gives the same digits but cost
    three times as much per subgroup, which the 5 ms per-part budget of benchmarks/spc_bench.py
    could not afford.
    """
    n = len(values)
    if n < 2:
        raise SpcError(f"a standard deviation needs at least 2 values, got {n}")
    lo, hi = min(values), max(values)
    if lo == hi:
        return float(lo), 0.0
    m = math.fsum(values) / n
    return m, math.sqrt(math.fsum([(v - m) ** 2 for v in values]) / (n - 1))


def _stdev(values: Sequence[float]) -> float:
    """Sample standard deviation (n - 1); exactly 0 without spread (see `mean_stdev`)."""
    return mean_stdev(values)[1]
