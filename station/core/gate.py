"""The operator gate: may this operator inspect against this plan, now?

Why: ISO 9001 7.2 requires persons doing work that affects quality to be competent, and the
QMS (not the station) records who is qualified for what. The plan lists the qualification
codes it needs; the station only checks them at the moment of use and names every gap, so
the operator or supervisor knows exactly what to renew.

Dates: a qualification is valid through its `expires` date inclusive, compared with the
site's calendar date at `now` (in `zone`, the `[station] timezone` of contract 1.1): an
expiry date is a day on the plant's calendar, whereas record timestamps stay UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from station.core.model import Operator, Plan, Qualification
from station.core.timefmt import site_date


@dataclass(frozen=True)
class GateResult:
    """Whether the operator may start the inspection, and why not.

    Attributes:
        allowed: True when nothing blocks.
        reasons: every blocking reason (empty when allowed).
        warnings: non-blocking notes (a needed qualification expiring soon).
    """

    allowed: bool
    reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _valid_through(quals: list[Qualification]) -> date | None:
    """The latest expiry among entries with one code; None when one never expires."""
    dates = [q.expires for q in quals]
    if any(d is None for d in dates):
        return None
    return max(d for d in dates if d is not None)


def assess_operator(
    operator: Operator,
    plan: Plan,
    now: datetime,
    *,
    zone: tzinfo,
    expiring_soon_days: int = 14,
) -> GateResult:
    """Check that `operator` is active and holds every qualification `plan` requires.

    Args:
        operator: the logged-in operator.
        plan: the plan about to be inspected.
        now: the current instant (timezone-aware).
        zone: the site's time zone, in which `expires` dates are judged.
        expiring_soon_days: warn when a needed qualification expires within this many days.

    Returns:
        A GateResult whose reasons name the operator and each missing or expired code,
        e.g. ``qualification DIM-2 expired on 2026-06-30``.

    Raises:
        ValueError: `now` is naive.
    """
    today = site_date(now, zone)
    reasons: list[str] = []
    warnings: list[str] = []
    if not operator.active:
        reasons.append(f"operator {operator.id} ({operator.name}) is not active")
    held: dict[str, list[Qualification]] = {}
    for q in operator.qualifications:
        held.setdefault(q.code, []).append(q)
    for code in plan.qualifications:
        if code not in held:
            reasons.append(
                f"qualification {code} missing (required by plan {plan.id} rev {plan.rev})"
            )
            continue
        expires = _valid_through(held[code])
        if expires is None:
            continue
        days = (expires - today).days
        if days < 0:
            reasons.append(f"qualification {code} expired on {expires.isoformat()}")
        elif days <= expiring_soon_days:
            warnings.append(
                f"qualification {code} expires on {expires.isoformat()} (in {days} days)"
            )
    return GateResult(allowed=not reasons, reasons=tuple(reasons), warnings=tuple(warnings))


__all__ = ["GateResult", "assess_operator"]
