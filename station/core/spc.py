"""SPC at the bench: the public API (charts, Nelson rules, capability, a console chart).

The pieces live in `spc_charts` (factors, subgroups, frozen limits), `spc_rules` (Nelson 1-8)
and `spc_capability` (Cp/Cpk/Pp/Ppk); this module re-exports them and adds what ties them
together for one characteristic: `limits_for` (which refuses spec limits posing as control
limits), `evaluate` (both charts of the pair) and `chart_rows` (a plain-text chart).

Typical bench use, after a part was measured::

    first = group_values(spec, first_values)          # the characteristic's first values
    if not baseline_ready(spec, len(first)):          # show "baseline 12/25", no signals
        ...
    limits = compute_limits(spec, first)              # first `baseline` subgroups: frozen
    groups = group_values(spec, last_values, start=position_of_first_of_last_values)
    result = evaluate(spec, limits, groups)
    result.new                                        # signals completed by this subgroup

Limits rest on the *first* `baseline` subgroups of the characteristic (or on the plan), so
the caller computes them from those (or keeps them), never from a moving window of the
latest values: that would let a drifting process drag its own limits along.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from station.core.model import Characteristic, SpcSpec
from station.core.spc_capability import Capability, capability
from station.core.spc_charts import (
    FACTORS,
    ChartPoints,
    ControlLimits,
    Factors,
    Limits,
    SpcError,
    approved_limits,
    baseline_ready,
    c4_exact,
    chart_points,
    check_finite,
    check_spec,
    compute_limits,
    d2_exact,
    factors,
    group_values,
)
from station.core.spc_rules import (
    DEFAULT_RULES,
    NELSON_RULES,
    WINDOW,
    Signal,
    evaluate_rules,
    new_signals,
)

MIN_CHART_HEIGHT = 5


@dataclass(frozen=True)
class Evaluation:
    """Both charts of a characteristic evaluated against frozen limits.

    `location` holds the signals of `spec.rules` on the I/X̄ chart; `dispersion` holds rule 1
    on the MR/R/S chart (a jump in spread). The run rules are not applied to the dispersion
    chart: its statistic is skewed and, for MR, autocorrelated, so Nelson's zone
    probabilities do not hold there. All indices are subgroup positions in `points.location`.
    """

    points: ChartPoints
    location: tuple[Signal, ...]
    dispersion: tuple[Signal, ...]

    @property
    def signals(self) -> tuple[Signal, ...]:
        """All signals of both charts, by subgroup index."""
        return tuple(sorted(self.location + self.dispersion, key=lambda s: s.index))

    @property
    def new(self) -> tuple[Signal, ...]:
        """Signals completed by the latest subgroup: what the bench reacts to now."""
        last = len(self.points.location) - 1
        return tuple(s for s in self.signals if s.index == last)


def limits_for(
    characteristic: Characteristic, subgroups: Sequence[Sequence[float]]
) -> ControlLimits:
    """`compute_limits` for a characteristic, refusing approved limits equal to its spec limits.

    Spec limits are never control limits (AIAG SPC manual 2nd ed.: control limits come from the
    process, never the spec): a plan whose approved UCL/LCL are
    exactly the USL/LSL is almost certainly that misuse, so it is an error, not a chart.
    """
    spec = characteristic.spc
    if spec is None:
        raise SpcError(f"characteristic {characteristic.id!r} has no spc block")
    if characteristic.kind != "variable":
        raise SpcError(
            f"characteristic {characteristic.id!r}: SPC charts need a variable characteristic, "
            f"got {characteristic.kind!r}"
        )
    if spec.approved_limits and spec.ucl == characteristic.usl and spec.lcl == characteristic.lsl:
        raise SpcError(
            f"characteristic {characteristic.id!r}: approved control limits "
            f"{spec.lcl!r}..{spec.ucl!r} equal the specification limits; control limits must "
            "come from the process, not the tolerance"
        )
    return compute_limits(spec, subgroups)


def evaluate(
    spec: SpcSpec, limits: ControlLimits, subgroups: Sequence[Sequence[float]]
) -> Evaluation:
    """Points of both charts, `spec.rules` on the location chart, rule 1 on the dispersion one."""
    if limits.chart != spec.chart or limits.subgroup != spec.subgroup:
        raise SpcError(
            f"limits are for chart {limits.chart!r} with subgroup {limits.subgroup}, "
            f"the spec asks for {spec.chart!r} with subgroup {spec.subgroup}"
        )
    pts = chart_points(spec, subgroups)
    location = evaluate_rules(pts.location, limits.location, spec.rules)
    off, name = pts.dispersion_offset, limits.dispersion_name
    dispersion = [
        replace(
            s,
            index=s.index + off,
            indices=tuple(i + off for i in s.indices),
            message=f"{name} chart: {s.message}",
            chart="dispersion",
        )
        for s in evaluate_rules(pts.dispersion, limits.dispersion, ("nelson-1",))
    ]
    return Evaluation(pts, tuple(location), tuple(dispersion))


def chart_rows(
    points: Sequence[float], limits: Limits | ControlLimits, width: int, height: int
) -> list[str]:
    """A plain-ASCII chart: `height` strings of exactly `width` characters.

    Fixed layout so limits never move while points arrive: row 1 is the UCL ('='), row
    height-2 the LCL ('='), the centre line ('-') between them at its scaled position; rows 0
    and height-1 are reserved for points beyond the limits ('X'); points within are '*'. One
    column per point, the latest `width` points, oldest on the left. No labels: the UI adds
    them. ControlLimits draw their location (I/X̄) chart.
    """
    if width < 1 or height < MIN_CHART_HEIGHT:
        raise SpcError(
            f"chart needs width >= 1 and height >= {MIN_CHART_HEIGHT}, "
            f"got width={width} height={height}"
        )
    lim = limits.location if isinstance(limits, ControlLimits) else limits
    top, bottom = 1, height - 2

    def row_of(v: float) -> int:
        if v > lim.ucl:
            return 0
        if v < lim.lcl:
            return height - 1
        return top + round((lim.ucl - v) / (lim.ucl - lim.lcl) * (bottom - top))

    grid = [[" "] * width for _ in range(height)]
    grid[top] = ["="] * width
    grid[bottom] = ["="] * width
    grid[min(max(row_of(lim.center), top + 1), bottom - 1)] = ["-"] * width
    check_finite(points, "chart point")
    for col, v in enumerate(points[-width:]):
        r = row_of(float(v))
        grid[r][col] = "X" if r in (0, height - 1) else "*"
    return ["".join(row) for row in grid]


__all__ = [
    "DEFAULT_RULES",
    "FACTORS",
    "NELSON_RULES",
    "WINDOW",
    "Capability",
    "ChartPoints",
    "ControlLimits",
    "Evaluation",
    "Factors",
    "Limits",
    "Signal",
    "SpcError",
    "approved_limits",
    "baseline_ready",
    "c4_exact",
    "capability",
    "chart_points",
    "chart_rows",
    "check_finite",
    "check_spec",
    "compute_limits",
    "d2_exact",
    "evaluate",
    "evaluate_rules",
    "factors",
    "group_values",
    "limits_for",
    "new_signals",
]
