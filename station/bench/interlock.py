"""The calibration interlock per input, and who may check an instrument.

ISO 9001 7.1.5.2 c: measuring equipment shall be safeguarded from adjustments, damage or
deterioration that would invalidate its results, and equipment found unfit must not be used.
At the bench the instrument in the inspector's hand is the one last scanned. When that scan is
refused (overdue, quarantined, retired, unchecked, unfit for the characteristic in hand), the
input it would have been bound to must not go on reading under the *previous* binding
(issue 12.1: a reading taken with CAL-0007 was recorded under CAL-0042): the input keeps a
`Refusal` until a fit instrument is scanned, and the screen says why (`Workflow.input_refusal`).

Who may check an instrument (issue 12.15): the check is a measurement with the instrument
whose pass makes it usable for everyone for `check_interval_h` hours, and whose fail
quarantines it and flags inspections (ISO 9001 7.2: persons doing work that affects quality
shall be competent). The contract gives the check no qualification list of its own, so the
station asks what inspecting with that instrument asks: the operator must pass the operator
gate of at least one released plan with a variable characteristic measured by an instrument
of that type. With no such plan, nothing is required beyond an active operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from station.core.gate import GateResult, assess_operator
from station.core.model import Characteristic, Instrument, Operator, Plan


@dataclass(frozen=True)
class Refusal:
    """Why an input takes no reading: the instrument refused (if known) and every reason."""

    instrument: str | None
    reasons: tuple[str, ...]
    fixed: bool = False

    def text(self) -> str:
        """One line for the screen: what was refused, why, and what to do."""
        why = "; ".join(self.reasons)
        if self.instrument is None:
            return why
        todo = (
            "it is fixed to this input: check it (F6) or have the QMS release it"
            if self.fixed
            else "scan a fit instrument"
        )
        return f"{self.instrument} refused: {why}; {todo}"


def characteristic_in_hand(
    instrument: Instrument,
    pending: tuple[tuple[Characteristic, int], ...],
    redo: Characteristic | None,
) -> Characteristic | None:
    """The characteristic the instrument's next reading would fill, if any."""
    if redo is not None:
        return redo if redo.instrument_type == instrument.type else None
    for c, _ in pending:
        if c.kind == "variable" and c.instrument_type == instrument.type:
            return c
    return None


def check_qualification(
    operator: Operator,
    instrument: Instrument,
    plans: tuple[Plan, ...],
    now: datetime,
    zone: tzinfo,
) -> GateResult:
    """May `operator` check `instrument`? (See the module docstring for the rule.)"""
    using = [
        p
        for p in plans
        if p.status == "released"
        and any(
            c.kind == "variable" and c.instrument_type == instrument.type for c in p.characteristics
        )
    ]
    if not using:
        return GateResult(allowed=True)
    results = [(p, assess_operator(operator, p, now, zone=zone)) for p in using]
    for _, gate in results:
        if gate.allowed:
            return gate
    reasons = tuple(
        f"plan {p.id} rev {p.rev} (measured with a {instrument.type}): {reason}"
        for p, gate in results
        for reason in gate.reasons
    )
    return GateResult(allowed=False, reasons=reasons)


__all__ = ["Refusal", "characteristic_in_hand", "check_qualification"]
