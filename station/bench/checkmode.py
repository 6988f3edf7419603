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

Failure order is chosen to fail safe: the quarantine is committed first, so a crash between
the steps can leave a quarantined instrument without its check record, never a failed
instrument in use. A reading becomes part of the check only once the check it completes is
recorded (issue 13.7); a suspect list the store could not take is owed and written before the
check can be left.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from drivers.base import Reading
from station.bench.interlock import Refusal, check_qualification
from station.bench.notice import Notice, bad_news, error, info, ok, warn
from station.core.fitness import assess_instrument, check_instrument, standard_fitness
from station.core.model import Instrument, Standard
from station.core.units import UnitError, compatible
from station.core.verdict import ConfigurationError
from station.store import Record, StoreError

if TYPE_CHECKING:
    from station.bench.workflow import Workflow

log = logging.getLogger(__name__)

DEFAULT_READINGS = 3


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

    def set_instrument(self, instrument: Instrument, wf: Workflow) -> Notice:
        """Choose the instrument to check; refused when it may not be checked at all."""
        if self.done:
            return error("this check is finished: press Esc, then F6 for another")
        # The check itself is what a daily-check instrument needs, so that reason is not
        # blocking here (evaluate as if just checked); every other reason is.
        now = wf.clock()
        fit = assess_instrument(
            instrument,
            now=now,
            zone=wf.zone,
            local_quarantine_reason=wf.store.local_quarantines().get(instrument.id),
            last_passing_check_at=now,
        )
        if not fit.usable:
            wf.record_attempt(
                "instrument-refused",
                instrument.id,
                instrument=instrument.id,
                context="instrument-check",
                reasons=list(fit.reasons),
            )
            return error(f"instrument {instrument.id} cannot be checked", *fit.reasons)
        op = wf.state.operator
        if op is not None:
            gate = check_qualification(op, instrument, wf.master.plans, now, wf.zone)
            if not gate.allowed:
                wf.record_attempt(
                    "check-refused",
                    f"{op.id} {instrument.id}",
                    instrument=instrument.id,
                    reasons=list(gate.reasons),
                )
                return error(
                    f"{op.name} may not check {instrument.id}: not qualified to measure "
                    f"with a {instrument.type}",
                    *gate.reasons,
                )
        if instrument.mpe is None:
            return error(
                f"instrument {instrument.id} has no maximum permissible error (mpe) in the "
                "master data: the QMS must define it before the instrument can be checked"
            )
        self.instrument = instrument
        self.readings.clear()
        return ok(f"checking {instrument.id} ({instrument.type}): scan the reference standard")

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

    def add_reading(self, input_name: str, r: Reading, wf: Workflow) -> Notice:
        """One reading of the standard; the last one completes the check."""
        if self.done:
            return warn("the check is finished: press Esc")
        if self.instrument is None or self.standard is None:
            return error("scan the instrument and the standard before taking readings")
        fixed = wf.fixed_instrument(input_name)
        if fixed is not None and fixed != self.instrument.id:
            return error(
                f"input {input_name} is fixed to instrument {fixed}, "
                f"not {self.instrument.id}: read from the instrument being checked"
            )
        if fixed is None and wf.store.bindings().get(input_name) != self.instrument.id:
            wf.store.bind_instrument(input_name, self.instrument.id)
        self.inputs.add(input_name)
        readings = [*self.readings, r]
        n = len(readings)
        if n < self.readings_needed:
            self.readings.append(r)
            return info(f"reading {n}/{self.readings_needed}: {r.value:g} {r.unit or ''}".strip())
        try:
            return self._finish(wf, readings)
        except StoreError as exc:
            # Nothing of the check is recorded (or, on a fail, only the quarantine: safe);
            # the reading is not kept, so the next one retries the completion.
            return error(
                f"check of {self.instrument.id} NOT recorded: the record store failed; "
                "take the last reading again",
                str(exc),
            )

    def _finish(self, wf: Workflow, readings: list[Reading]) -> Notice:
        assert self.instrument is not None and self.standard is not None
        op = wf.state.operator
        if op is None:
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
        previous = wf.store.last_passing_check(inst.id)
        if outcome.verdict == "fail":
            wf.store.quarantine_instrument(
                inst.id,
                f"failed instrument check: bias {outcome.bias:+g} {outcome.unit} "
                f"exceeds mpe {outcome.mpe:g} {outcome.unit}",
                op.id,
            )
        body = outcome.body(op.id, [r.raw for r in readings])
        self.result = wf.store.append("instrument-check", body)
        self.readings = readings
        if outcome.verdict == "pass":
            for name in self.inputs:
                # Read on this input and checked fit just now: it is the one in hand.
                wf.state.refusals.pop(name, None)
            hours = inst.check_interval_h
            until = (
                ""
                if hours is None
                else f"; valid until {(wf.clock() + timedelta(hours=hours)):%Y-%m-%d %H:%M} UTC"
            )
            return ok(
                f"{inst.id} PASSED: bias {outcome.bias:+g} {outcome.unit} within "
                f"±{outcome.mpe:g}{until}",
                *outcome.warnings,
            )
        self.suspect_owed = (
            None if previous is None else previous.ts,
            0 if previous is None else previous.seq,
        )
        head = (
            f"{inst.id} FAILED: bias {outcome.bias:+g} {outcome.unit} exceeds ±{outcome.mpe:g}; "
            "quarantined until the QMS records a new calibration. "
        )
        try:
            wf.refuse_inputs(
                Refusal(inst.id, (f"instrument {inst.id} failed its check at this station",)),
                bound_to=inst.id,
            )
        except StoreError as exc:  # the local quarantine refuses its readings anyway
            log.warning("inputs of %s not unbound after its failed check: %s", inst.id, exc)
        problem = self.write_suspect(wf)
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

    def write_suspect(self, wf: Workflow) -> str | None:
        """Write the owed suspect record; None when written (or none owed), else why not.

        Reverse traceability by record order: every inspection with the instrument recorded
        after its last passing check (`Store.inspections_using_after`).
        """
        if self.suspect_owed is None or self.instrument is None or self.result is None:
            return None
        since, after_seq = self.suspect_owed
        try:
            using = wf.store.inspections_using_after(self.instrument.id, after_seq)
            parts: list[dict[str, Any]] = []
            for rec in using:
                part = rec.body["part"]
                if part not in parts:
                    parts.append(part)
            self.suspect = wf.store.append(
                "suspect",
                {
                    "instrument": self.instrument.id,
                    "cause": "instrument-check-failed",
                    "since": since,
                    "check": self.result.id,
                    "inspections": [rec.id for rec in using],
                    "parts": parts,
                },
            )
        except StoreError as exc:
            return str(exc)
        self.suspect_owed = None
        return None


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


__all__ = ["DEFAULT_READINGS", "InstrumentCheck", "listed_parts", "suspect_text"]
