"""The part's outcome, kept on screen from its end until the next part starts (issue 12.10).

An inspection ends recorded (accepted, rejected, indeterminate: the workflow's
`last_inspection`) or abandoned (an `inspection-abandoned` event, no result). Either way the
operator must still see which, in its colour, after the NC dialog or a refusal has replaced
the notice line: the last reading alone (often a green attribute PASS) says nothing about the
part. This module only words what the records say; the workflow decides the result.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from station.bench.draft import Draft
from station.store import Record
from station.ui.render import styled

WORD = {
    "accept": "ACCEPTED",
    "reject": "REJECTED",
    "indeterminate": "INDETERMINATE",
    "abandoned": "ABANDONED",
}
STYLE = {
    "accept": "bold green",
    "reject": "bold red",
    "indeterminate": "bold yellow",
    "abandoned": "bold yellow",
}

# What the operator does with an indeterminate part: the plant's two standard options.
# ISO 14253-1 puts a value inside the uncertainty zone out of both conformance and
# nonconformance: only a smaller measurement uncertainty U, or a decision by someone
# authorised, settles it.
INDETERMINATE_NEXT = (
    "next: re-measure with a better instrument (smaller uncertainty U: scan the part again), "
    "or hold the part for review"
)


@dataclass(frozen=True)
class Outcome:
    """How the last part ended, as the screen shows it."""

    part: str  # "PN-778 serial SN-0001"
    result: str  # accept / reject / indeterminate / abandoned
    characteristics: tuple[str, ...] = ()  # failed (reject) or indeterminate ones
    readings: int = 0  # an abandon: the readings kept in its event
    record: Record | None = None  # the inspection record; None for an abandon

    @property
    def word(self) -> str:
        """ACCEPTED, REJECTED, INDETERMINATE or ABANDONED."""
        return WORD.get(self.result, self.result.upper())


def _part_name(part: Mapping[str, Any]) -> str:
    serial = part.get("serial")
    return f"{part.get('number', '?')}" + (f" serial {serial}" if serial else "")


def from_inspection(rec: Record) -> Outcome:
    """The outcome of a recorded inspection."""
    b = rec.body
    result = str(b.get("result", "?"))
    wanted = {"reject": "fail", "indeterminate": "indeterminate"}.get(result)
    chars = sorted({str(m["characteristic"]) for m in b["measurements"] if m["verdict"] == wanted})
    return Outcome(_part_name(b.get("part", {})), result, tuple(chars), record=rec)


def abandoned(draft: Draft) -> Outcome:
    """The outcome of an abandoned inspection (what `Workflow.abandon` writes)."""
    return Outcome(_part_name(draft.part.body()), "abandoned", readings=len(draft.measurements))


def next_steps(o: Outcome, *, nc_owed: bool) -> list[str]:
    """The lines under the outcome word: why, and what the operator does now."""
    if o.result == "accept":
        return ["recorded: scan the next part"]
    if o.result == "reject":
        nc = "describe the nonconformance" if nc_owed else "nonconformance recorded"
        return [f"failed: {', '.join(o.characteristics) or '-'}", nc]
    if o.result == "indeterminate":
        within = ", ".join(o.characteristics) or "-"
        return [f"within the guard band: {within}", INDETERMINATE_NEXT]
    if o.result == "abandoned":
        return [
            "no result is recorded for the part; the abandoned inspection "
            f"({o.readings} reading(s)) is kept in the audit trail as an event"
        ]
    return []


def outcome_text(o: Outcome, width: int, *, nc_owed: bool) -> Text:
    """The outcome for a panel `width` cells wide: part, the word in colour, next steps."""
    style = STYLE.get(o.result, "bold")
    out = styled(f"part {o.part}", "bold")
    out.append("\n")
    out.append(f" {o.word} ", style + " reverse")
    for line in next_steps(o, nc_owed=nc_owed):
        for piece in textwrap.wrap(line, max(10, width)) or [""]:
            out.append("\n" + piece)
    return out


__all__ = [
    "INDETERMINATE_NEXT",
    "STYLE",
    "WORD",
    "Outcome",
    "abandoned",
    "from_inspection",
    "next_steps",
    "outcome_text",
]
