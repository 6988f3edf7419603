"""Instrument-check mode: an instrument measured against a reference standard at the bench.

ISO 9001 7.1.5.2 asks that measuring equipment be verified at intervals or prior to use and
that, when it is found unfit, the validity of previous results be assessed. So: scan the
instrument, scan a standard (refused when the standard is overdue), take N readings (default
3); bias = mean - reference against the instrument's `mpe` gives an `instrument-check` record.
A pass keeps the instrument usable for its `check_interval_h`. A fail quarantines it locally
(event `instrument-quarantined`) and writes a `suspect` record listing every inspection that
used it since its last passing check: reverse traceability for the QMS. "Since" is taken
in record order (the seq of that check), not by clock time: a station clock set back or
forward must not drop inspections from the list; the suspect body still carries the check's
time as `since` (docs/contract/schemas/record.schema.json).

Who may check: an operator who may inspect with an instrument of that type (see
`station.bench.interlock.check_qualification`).

This module holds the check's state and decides (what to record, what to quarantine, what
the suspect list says); it writes nothing. The workflow's side (`station.bench.checking`)
performs the writes in the fail-safe order: the quarantine is committed first, so a crash
between the steps can leave a quarantined instrument without its check record, never a failed
instrument in use. A reading becomes part of the check only once the check it completes is
recorded (issue 13.7); a suspect list the store could not take is owed and written before the
check can be left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from drivers.base import Reading
from station.bench.interlock import Refusal, check_qualification
from station.bench.notice import Notice, bad_news, error, info, ok, warn
from station.core.fitness import CheckOutcome, assess_instrument, check_instrument, standard_fitness
from station.core.model import Instrument, Operator, Plan, Standard
from station.core.units import UnitError, compatible
from station.core.verdict import ConfigurationError
from station.store import Record

DEFAULT_READINGS = 3


@dataclass(frozen=True)
class Attempt:
    """A refused attempt for the audit trail (written rate-limited by the workflow)."""

    kind: str
    subject: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class CheckCompletion:
    """A completed check to record: its readings, outcome, record body and any quarantine."""

    readings: tuple[Reading, ...]
    outcome: CheckOutcome
    operator: str  # who checked: named in the record and in a quarantine
    body: dict[str, object]
    quarantine: str | None  # the local quarantine reason when the check failed

    @property
    def failed(self) -> bool:
        """True when the instrument failed its check."""
        return self.outcome.verdict == "fail"


@dataclass
class InstrumentCheck:
    """The state of one instrument check in progress."""

    readings_needed: int = DEFAULT_READINGS
    instrument: Instrument | None = None
    standard: Standard | None = None
    readings: list[Reading] = field(default_factory=list)
    result: Record | None = None
    suspect: Record | None = None
    # A failed check's suspect list not yet written: (since, seq of the last passing check).
    suspect_owed: tuple[str | None, int] | None = None
    inputs: set[str] = field(default_factory=set)  # inputs the check's readings came from

    @property
    def done(self) -> bool:
        """True once the check record is written."""
        return self.result is not None

    @property
    def unfinished(self) -> bool:
        """True when readings were taken but no check record written (leaving drops them)."""
        return not self.done and bool(self.readings)

    def set_instrument(
        self,
        instrument: Instrument,
        *,
        now: datetime,
        zone: tzinfo,
        quarantine_reason: str | None,
        operator: Operator | None,
        plans: tuple[Plan, ...],
    ) -> tuple[Notice, Attempt | None]:
        """Choose the instrument to check; refused (with the attempt to record) when it may
        not be checked at all. `quarantine_reason` is its local quarantine, if any."""
        if self.done:
            return error("this check is finished: press Esc, then F6 for another"), None
        # The check itself is what a daily-check instrument needs, so that reason is not
        # blocking here (evaluate as if just checked); every other reason is.
        fit = assess_instrument(
            instrument,
            now=now,
            zone=zone,
            local_quarantine_reason=quarantine_reason,
            last_passing_check_at=now,
        )
        if not fit.usable:
            detail = {
                "instrument": instrument.id,
                "context": "instrument-check",
                "reasons": list(fit.reasons),
            }
            return (
                error(f"instrument {instrument.id} cannot be checked", *fit.reasons),
                Attempt("instrument-refused", instrument.id, detail),
            )
        if operator is not None:
            gate = check_qualification(operator, instrument, plans, now, zone)
            if not gate.allowed:
                detail = {"instrument": instrument.id, "reasons": list(gate.reasons)}
                return (
                    error(
                        f"{operator.name} may not check {instrument.id}: not qualified to "
                        f"measure with a {instrument.type}",
                        *gate.reasons,
                    ),
                    Attempt("check-refused", f"{operator.id} {instrument.id}", detail),
                )
        if instrument.mpe is None:
            return error(
                f"instrument {instrument.id} has no maximum permissible error (mpe) in the "
                "master data: the QMS must define it before the instrument can be checked"
            ), None
        self.instrument = instrument
        self.readings.clear()
        return ok(
            f"checking {instrument.id} ({instrument.type}): scan the reference standard"
        ), None

    def set_standard(self, standard: Standard, now: datetime, zone: tzinfo) -> Notice:
        """Choose the reference standard; refused when overdue or of another quantity."""
        if self.done:
            return error("this check is finished: press Esc, then F6 for another")
        if self.instrument is None:
            return error("scan the instrument to check first")
        fit = standard_fitness(standard, now, zone=zone)
        if not fit.usable:
            return error(f"standard {standard.id} refused", *fit.reasons)
        if not compatible(standard.unit, self.instrument.unit):
            return error(
                f"standard {standard.id} is in {standard.unit}; instrument "
                f"{self.instrument.id} measures in {self.instrument.unit}"
            )
        self.standard = standard
        self.readings.clear()
        return info(
            f"standard {standard.id} = {standard.value:g} {standard.unit}: "
            f"take {self.readings_needed} readings of it"
        )

    def refuse_reading(self, input_name: str, fixed: str | None) -> Notice | None:
        """Why a reading from `input_name` (fixed to instrument `fixed`) is not for this check;
        None when it is (the workflow then binds the input to the instrument checked)."""
        if self.done:
            return warn("the check is finished: press Esc")
        if self.instrument is None or self.standard is None:
            return error("scan the instrument and the standard before taking readings")
        if fixed is not None and fixed != self.instrument.id:
            return error(
                f"input {input_name} is fixed to instrument {fixed}, "
                f"not {self.instrument.id}: read from the instrument being checked"
            )
        return None

    def add_reading(
        self, input_name: str, r: Reading, operator: Operator | None
    ) -> Notice | CheckCompletion:
        """One reading of the standard (after `refuse_reading` let it through).

        Before the last one it is kept; the last one gives the completion to record, and is
        kept only once the workflow has recorded it (`recorded`).
        """
        self.inputs.add(input_name)
        readings = [*self.readings, r]
        n = len(readings)
        if n < self.readings_needed:
            self.readings.append(r)
            return info(f"reading {n}/{self.readings_needed}: {r.value:g} {r.unit or ''}".strip())
        return self._judge(readings, operator)

    def _judge(
        self, readings: list[Reading], operator: Operator | None
    ) -> Notice | CheckCompletion:
        assert self.instrument is not None and self.standard is not None
        if operator is None:
            return error("log in before checking an instrument")
        inst = self.instrument
        units = {r.unit or inst.unit for r in readings}
        if len(units) != 1:
            self.readings.clear()
            return error(f"readings arrived in several units ({', '.join(sorted(units))}): retake")
        try:
            outcome = check_instrument(
                [r.value for r in readings], self.standard, instrument=inst, unit=units.pop()
            )
        except (UnitError, ConfigurationError, ValueError) as exc:
            self.readings.clear()
            return error(f"check not possible: {exc}")
        quarantine = (
            f"failed instrument check: bias {outcome.bias:+g} {outcome.unit} "
            f"exceeds mpe {outcome.mpe:g} {outcome.unit}"
            if outcome.verdict == "fail"
            else None
        )
        body = outcome.body(operator.id, [r.raw for r in readings])
        return CheckCompletion(tuple(readings), outcome, operator.id, body, quarantine)

    def recorded(self, done: CheckCompletion, result: Record, previous: Record | None) -> None:
        """The check record `result` is committed; `previous` is the last passing check
        before it (a fail then owes the suspect list of everything recorded since)."""
        self.result = result
        self.readings = list(done.readings)
        if done.failed:
            self.suspect_owed = (
                None if previous is None else previous.ts,
                0 if previous is None else previous.seq,
            )

    def failed_refusal(self) -> Refusal:
        """What the inputs bound to the failed instrument say until another is scanned."""
        assert self.instrument is not None
        iid = self.instrument.id
        return Refusal(iid, (f"instrument {iid} failed its check at this station",))

    def passed_notice(self, done: CheckCompletion, now: datetime) -> Notice:
        """What the operator is told about a passed check recorded at `now`."""
        assert self.instrument is not None
        o, hours = done.outcome, self.instrument.check_interval_h
        until = (
            ""
            if hours is None
            else f"; valid until {(now + timedelta(hours=hours)):%Y-%m-%d %H:%M} UTC"
        )
        return ok(
            f"{o.instrument} PASSED: bias {o.bias:+g} {o.unit} within ±{o.mpe:g}{until}",
            *o.warnings,
        )

    def failed_notice(self, done: CheckCompletion, problem: str | None) -> Notice:
        """What the operator is told about a failed check; `problem` when the suspect list
        could not be written."""
        o = done.outcome
        head = (
            f"{o.instrument} FAILED: bias {o.bias:+g} {o.unit} exceeds ±{o.mpe:g}; "
            "quarantined until the QMS records a new calibration. "
        )
        if problem is not None:
            return bad_news(
                head + "The suspect list is NOT saved yet: press Esc to retry.", problem
            )
        assert self.suspect is not None
        listed: dict[str, Any] = dict(self.suspect.body)
        return bad_news(
            head + suspect_text(len(listed["inspections"]), listed["since"]),
            *listed_parts(listed["parts"]),
        )

    def owed_suspect_after(self) -> int | None:
        """The seq after which inspections are suspect, when a suspect list is owed."""
        if self.suspect_owed is None or self.instrument is None or self.result is None:
            return None
        return self.suspect_owed[1]

    def suspect_body(self, using: list[Record]) -> dict[str, Any]:
        """The owed `suspect` record's body, from the inspections that used the instrument
        after its last passing check (reverse traceability by record order)."""
        assert self.suspect_owed is not None and self.instrument is not None
        assert self.result is not None
        parts: list[dict[str, Any]] = []
        for rec in using:
            part = rec.body["part"]
            if part not in parts:
                parts.append(part)
        return {
            "instrument": self.instrument.id,
            "cause": "instrument-check-failed",
            "since": self.suspect_owed[0],
            "check": self.result.id,
            "inspections": [rec.id for rec in using],
            "parts": parts,
        }

    def suspect_written(self, suspect: Record) -> None:
        """The suspect record is committed: nothing is owed any more."""
        self.suspect = suspect
        self.suspect_owed = None


def suspect_text(count: int, since: str | None) -> str:
    """The sentence about the suspect inspections (no dangling colon when there are none)."""
    when = f"since {since}" if since else "since its first use"
    if count == 0:
        return f"No inspection used it {when}: none is suspect."
    return f"{count} inspection(s) {when} are suspect:"


def listed_parts(parts: list[dict[str, Any]], limit: int = 10) -> list[str]:
    """The suspect parts, one line each, at most `limit` and a count of the rest."""
    listed = [f"{p.get('number')} {p.get('serial') or ''}".strip() for p in parts[:limit]]
    return listed + ([f"... and {len(parts) - limit} more"] if len(parts) > limit else [])


__all__ = [
    "DEFAULT_READINGS",
    "Attempt",
    "CheckCompletion",
    "InstrumentCheck",
    "listed_parts",
    "suspect_text",
]
