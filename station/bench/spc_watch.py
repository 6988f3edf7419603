"""SPC at the bench: limits frozen from a baseline, run rules after each part, capability.

Everything is computed locally from the store (anchors.md F4: web SPC tools stop checking when
the network is down; this one works offline exactly as online). For each characteristic with
an `spc` block:

- Control limits are the plan's approved `center`/`ucl`/`lcl` when given; otherwise they are
  computed once from the first `baseline` subgroups of that plan revision and characteristic,
  then frozen: the store keeps them and an `spc-baseline` event records them. Spec limits are
  never used as control limits.
- After every completed subgroup, the characteristic's rules (default Nelson 1 and 2) run on
  the recent window; a rule that fires at the latest point is an alert that must be
  acknowledged with an assignable cause before the next part of the plan (`spc-signal` event
  with the rule, the characteristic, the points involved and the cause).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from station.core.model import Characteristic, Plan
from station.core.spc import (
    ControlLimits,
    Limits,
    SpcError,
    baseline_ready,
    capability,
    chart_rows,
    evaluate,
    group_values,
    limits_for,
)
from station.store import Store

SPC_CAUSES: tuple[str, ...] = (
    "tool-wear",
    "setup-change",
    "material-lot-change",
    "machine-adjustment",
    "measurement-error",
    "operator-change",
    "environment",
    "no-cause-found",
    "other",
)
WINDOW_SUBGROUPS = 125  # the recent window the rules and the chart look at
CHART_WIDTH = 40
CHART_HEIGHT = 7


@dataclass(frozen=True)
class SpcAlert:
    """A run rule that fired at the latest point of a characteristic's chart."""

    plan_id: str
    rev: str
    characteristic: str
    rule: str
    message: str
    chart: str
    values: list[float]  # the points involved, in order
    indices: list[int]  # their subgroup positions in the evaluated window


@dataclass(frozen=True)
class SpcView:
    """What the bench shows beside a characteristic: chart, limits and capability."""

    characteristic: str
    n: int
    chart_rows: list[str]
    limits_text: str
    capability_text: str


def limits_to_doc(lim: ControlLimits) -> dict[str, Any]:
    """ControlLimits as plain JSON (stored and written into the `spc-baseline` event)."""
    return asdict(lim)


def limits_from_doc(doc: dict[str, Any]) -> ControlLimits:
    """The inverse of `limits_to_doc`."""
    return ControlLimits(
        chart=doc["chart"],
        subgroup=int(doc["subgroup"]),
        location=Limits(**doc["location"]),
        dispersion=Limits(**doc["dispersion"]),
        sigma=float(doc["sigma"]),
        n_subgroups=int(doc["n_subgroups"]),
        source=doc["source"],
    )


def _known_limits(store: Store, plan: Plan, c: Characteristic) -> ControlLimits | None:
    """The plan's approved limits, else the limits frozen in the store, else None."""
    if c.spc is not None and c.spc.approved_limits:
        return limits_for(c, [])
    doc = store.spc_limits(plan.id, plan.rev, c.id)
    return None if doc is None else limits_from_doc(doc)


def current_limits(
    store: Store, plan: Plan, c: Characteristic, operator: str | None
) -> ControlLimits | None:
    """The characteristic's control limits: approved, frozen, or frozen now from the baseline.

    Returns None while the baseline is still being collected.
    """
    spec = c.spc
    if spec is None:
        return None
    known = _known_limits(store, plan, c)
    if known is not None:
        return known
    need = spec.baseline * spec.subgroup
    values = store.first_values(plan.id, c.id, n=need, rev=plan.rev)
    groups = group_values(spec, values)
    if not baseline_ready(spec, len(groups)):
        return None
    lim = limits_for(c, groups[: spec.baseline])
    store.freeze_spc_limits(plan.id, plan.rev, c.id, limits_to_doc(lim), operator)
    return lim


def _window(store: Store, plan: Plan, c: Characteristic) -> tuple[list[float], int]:
    """The recent values (oldest first) and the index of the first in the whole series."""
    assert c.spc is not None
    total = store.count_values(plan.id, c.id, rev=plan.rev)
    values = store.last_values(plan.id, c.id, n=WINDOW_SUBGROUPS * c.spc.subgroup, rev=plan.rev)
    return values, total - len(values)


def check_after_part(store: Store, plan: Plan, operator: str | None) -> list[SpcAlert]:
    """Run the rules of every SPC characteristic of `plan` after a part was recorded."""
    alerts: list[SpcAlert] = []
    for c in plan.characteristics:
        spec = c.spc
        if spec is None or c.kind != "variable":
            continue
        try:
            lim = current_limits(store, plan, c, operator)
            if lim is None:
                continue
            values, start = _window(store, plan, c)
            if (start + len(values)) % spec.subgroup:
                continue  # the latest subgroup is not complete yet
            groups = group_values(spec, values, start=start)
            if not groups:
                continue
            ev = evaluate(spec, lim, groups)
        except SpcError as exc:
            alerts.append(
                SpcAlert(plan.id, plan.rev, c.id, "spc-error", str(exc), "location", [], [])
            )
            continue
        pts = ev.points
        for s in ev.new:
            series = pts.location if s.chart == "location" else pts.dispersion
            off = 0 if s.chart == "location" else pts.dispersion_offset
            vals = [series[i - off] for i in s.indices if 0 <= i - off < len(series)]
            alerts.append(
                SpcAlert(plan.id, plan.rev, c.id, s.rule, s.message, s.chart, vals, list(s.indices))
            )
    return alerts


def view(store: Store, plan: Plan, c: Characteristic) -> SpcView | None:
    """The chart, limits and capability of one characteristic (None without SPC)."""
    spec = c.spc
    if spec is None or c.kind != "variable":
        return None
    values, start = _window(store, plan, c)
    try:
        lim = _known_limits(store, plan, c)
        if lim is None:
            need = spec.baseline * spec.subgroup
            return SpcView(
                c.id,
                len(values),
                [],
                f"baseline: {min(start + len(values), need)}/{need} values collected",
                "",
            )
        groups = group_values(spec, values, start=start)
        pts = evaluate(spec, lim, groups).points.location if groups else ()
        rows = chart_rows(list(pts), lim, CHART_WIDTH, CHART_HEIGHT)
        cap = capability(values, c.lsl, c.usl, lim.sigma)
    except SpcError as exc:
        return SpcView(c.id, len(values), [], f"SPC error: {exc}", "")
    loc = lim.location
    limits_text = (
        f"{lim.location_name}: CL {loc.center:.5g}  UCL {loc.ucl:.5g}  LCL {loc.lcl:.5g} "
        f"({lim.source}, {lim.n_subgroups} subgroups)"
    )

    def f(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.2f}"

    cap_text = f"Cp {f(cap.cp)}  Cpk {f(cap.cpk)}  Pp {f(cap.pp)}  Ppk {f(cap.ppk)}  (n={cap.n})"
    return SpcView(c.id, len(values), rows, limits_text, cap_text)


__all__ = [
    "SPC_CAUSES",
    "SpcAlert",
    "SpcView",
    "check_after_part",
    "current_limits",
    "limits_from_doc",
    "limits_to_doc",
    "view",
]
