"""Instrument-check mode: an instrument measured against a reference standard at the bench.

ISO 9001 7.1.5.2 asks that measuring equipment be verified at intervals or prior to use and
that, when it is found unfit, the validity of previous results be assessed. So: scan the
instrument, scan a standard (refused when the standard is overdue), take N readings (default
3); bias = mean - reference against the instrument's `mpe` gives an `instrument-check` record.
A pass keeps the instrument usable for its `check_interval_h`. A fail quarantines it locally
(event `instrument-quarantined`) and writes a `suspect` record listing every inspection that
used it since its last passing check: reverse traceability for the QMS.

Failure order is chosen to fail safe: the quarantine is committed first, so a crash between
the steps can leave a quarantined instrument without its check record, never a failed
instrument in use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from drivers.base import Reading
from station.bench.notice import Notice, error, info, ok, warn
from station.core.fitness import assess_instrument, check_instrument, standard_fitness
from station.core.model import Instrument, Standard
from station.core.units import UnitError, compatible
from station.core.verdict import ConfigurationError
from station.store import Record

if TYPE_CHECKING:
    from station.bench.workflow import Workflow

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
            local_quarantine_reason=wf.store.local_quarantines().get(instrument.id),
            last_passing_check_at=now,
        )
        if not fit.usable:
            return error(f"instrument {instrument.id} cannot be checked", *fit.reasons)
        if instrument.mpe is None:
            return error(
                f"instrument {instrument.id} has no maximum permissible error (mpe) in the "
                "master data: the QMS must define it before the instrument can be checked"
            )
        self.instrument = instrument
        self.readings.clear()
        return ok(f"checking {instrument.id} ({instrument.type}): scan the reference standard")

    def set_standard(self, standard: Standard, now: datetime) -> Notice:
        """Choose the reference standard; refused when overdue or of another quantity."""
        if self.done:
            return error("this check is finished: press Esc, then F6 for another")
        if self.instrument is None:
            return error("scan the instrument to check first")
        fit = standard_fitness(standard, now)
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
        self.readings.append(r)
        n = len(self.readings)
        if n < self.readings_needed:
            return info(f"reading {n}/{self.readings_needed}: {r.value:g} {r.unit or ''}".strip())
        return self._finish(wf)

    def _finish(self, wf: Workflow) -> Notice:
        assert self.instrument is not None and self.standard is not None
        op = wf.state.operator
        if op is None:
            return error("log in before checking an instrument")
        inst = self.instrument
        units = {r.unit or inst.unit for r in self.readings}
        if len(units) != 1:
            self.readings.clear()
            return error(f"readings arrived in several units ({', '.join(sorted(units))}): retake")
        try:
            outcome = check_instrument(
                [r.value for r in self.readings], self.standard, instrument=inst, unit=units.pop()
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
        body = outcome.body(op.id, [r.raw for r in self.readings])
        self.result = wf.store.append("instrument-check", body)
        if outcome.verdict == "pass":
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
        since = None if previous is None else previous.ts
        using = wf.store.inspections_using(inst.id, since)
        parts: list[dict[str, Any]] = []
        for rec in using:
            part = rec.body["part"]
            if part not in parts:
                parts.append(part)
        self.suspect = wf.store.append(
            "suspect",
            {
                "instrument": inst.id,
                "cause": "instrument-check-failed",
                "since": since,
                "check": self.result.id,
                "inspections": [rec.id for rec in using],
                "parts": parts,
            },
        )
        listed = [f"{p.get('number')} {p.get('serial') or ''}".strip() for p in parts[:10]] + (
            [f"... and {len(parts) - 10} more"] if len(parts) > 10 else []
        )
        return error(
            f"{inst.id} FAILED: bias {outcome.bias:+g} {outcome.unit} exceeds ±{outcome.mpe:g}; "
            "quarantined until the QMS records a new calibration. "
            f"{len(using)} inspection(s) since {since or 'its first use'} are suspect:",
            *listed,
        )


__all__ = ["DEFAULT_READINGS", "InstrumentCheck"]
