"""Which plan revision applies to a part: exactly one `released` revision, or an error.

Why strict: the QMS owns revision control (ISO 9001 7.5.3, control of documented
information). Inspecting against a draft or obsolete revision, or picking one of two
released revisions by some local preference, would produce records against the wrong
specification. The station refuses and says what it found, so the QMS can fix its data.
"""

from __future__ import annotations

from collections.abc import Iterable

from station.core.model import Plan


class PlanSelectionError(LookupError):
    """No single released plan revision exists for a part."""

    def __str__(self) -> str:
        # LookupError (like KeyError) would repr() a lone argument; keep the text readable.
        return str(self.args[0]) if self.args else ""


def describe(plan: Plan) -> str:
    """``P-1 rev A draft``: how plans are named in messages."""
    return f"{plan.id} rev {plan.rev} {plan.status}"


def plans_for_part(part_number: str, plans: Iterable[Plan]) -> tuple[Plan, ...]:
    """Every plan (any status) whose `part_numbers` contains `part_number` exactly."""
    return tuple(p for p in plans if part_number in p.part_numbers)


def choose_released(part: str, candidates: Iterable[Plan]) -> Plan:
    """The one released plan among `candidates` (already matched to `part`).

    Raises:
        PlanSelectionError: none or several released; the message names `part` and every
            revision found.
    """
    found = tuple(candidates)
    released = [p for p in found if p.status == "released"]
    if len(released) == 1:
        return released[0]
    if not released:
        listed = ", ".join(describe(p) for p in found) or "none"
        raise PlanSelectionError(f"no released plan for part {part} (revisions found: {listed})")
    listed = ", ".join(describe(p) for p in released)
    raise PlanSelectionError(
        f"several released plans for part {part}: {listed}; "
        "the QMS must release exactly one revision per part"
    )


def select_plan(part_number: str, plans: Iterable[Plan]) -> Plan:
    """The released plan revision for `part_number`.

    Raises:
        PlanSelectionError: e.g. ``no released plan for part PN-1 (revisions found: P-1 rev A
            draft)``, or ``several released plans for part PN-1: P-1 rev A released, P-2
            rev B released; …``.
    """
    return choose_released(part_number, plans_for_part(part_number, plans))


__all__ = ["PlanSelectionError", "choose_released", "describe", "plans_for_part", "select_plan"]
