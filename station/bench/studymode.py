"""Study mode: a gauge study run at the bench as its procedure says (issue 17).

Three kinds (contract `procedure.schema.json`):

- `type-1` (Bosch Booklet 10 §4.1, VDA 5 §4.2): one operator measures one reference
  standard `readings` times; the scanned standard's certified value is the reference;
- `grr` (AIAG MSA 4th ed., ch. III §B): `appraisers` x `parts` x `trials` readings;
- `attribute-agreement` (AIAG MSA 4th ed., ch. III §C): the same grid of accept/reject
  decisions (Ctrl+P / Ctrl+F) on the sample parts named in the procedure's `references`.

The logged-in operator is the first appraiser; a badge scan of another operator switches the
appraiser (`station.bench.studying` checks who may); a part label scan names the part the next
readings belong to; the trial counts up per appraiser and part (contract station.md, "Bench
interaction"). Readings may come in any order; the bench suggests one: AIAG MSA 4th ed.
ch. III §B ("Conducting the study", step 3: the parts measured in random order, each trial
re-randomized) per appraiser and trial, seeded from the study's start so a restart suggests
the same order. A redo (Ctrl+R) lets the next value or decision replace the last reading;
the replaced one stays in the audit trail (`reading-replaced` event, as an inspection's).

This module holds the study's state and decides; it writes nothing. The writes are
`station.bench.studying`'s, the draft `station.bench.studydraft`'s.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Literal

from station.bench.notice import Notice, error, info, ok, warn
from station.core.fitness import Fitness, standard_fitness
from station.core.model import Instrument, Procedure, Standard
from station.core.msa_anova import anova
from station.core.msa_attribute import Decision, Judgement, attribute_agreement
from station.core.msa_grr import GrrReading, average_range
from station.core.msa_type1 import type1
from station.core.study_record import (
    StudyReading,
    StudyRun,
    StudyVerdict,
    attribute_results,
    grr_results,
    grr_verdict_of,
    study_body,
    type1_results,
)
from station.core.timefmt import format_ts
from station.core.units import compatible, convert
from station.store import Record

Step = Literal["instrument", "standard", "part", "readings", "done"]
NAMES = {"type-1": "Type-1 study", "grr": "gauge R&R", "attribute-agreement": "attribute agreement"}


@dataclass(frozen=True)
class Taken:
    """One reading (or decision) of the study, as taken."""

    trial: int
    appraiser: str | None
    part: str | None
    value: float | None  # in the procedure's unit
    decision: Decision | None
    raw: str | None
    ts: datetime

    def study_reading(self) -> StudyReading:
        return StudyReading(
            trial=self.trial,
            appraiser=self.appraiser,
            part=self.part,
            value=self.value,
            decision=self.decision,
            raw=self.raw,
            ts=format_ts(self.ts),
        )

    def body(self) -> dict[str, Any]:
        """The reading in the `study` record's words (for the `reading-replaced` event)."""
        r = self.study_reading()
        return {
            "appraiser": r.appraiser,
            "part": r.part,
            "trial": r.trial,
            "value": r.value,
            "decision": r.decision,
            "raw": r.raw,
            "ts": r.ts,
        }

    def label(self) -> str:
        if self.part is None:
            return f"reading {self.trial}"
        return f"{self.appraiser}/{self.part} trial {self.trial}"


@dataclass
class Study:
    """The state of one gauge study in progress."""

    procedure: Procedure
    operator: str  # logged in when it started: the record's `operator`
    started: datetime
    appraiser: str  # who takes the next reading (grr, attribute-agreement)
    instrument: Instrument | None = None
    standard: Standard | None = None  # type-1
    part: str | None = None  # the part the next reading belongs to
    readings: list[Taken] = field(default_factory=list)
    redo: int | None = None  # the index the next reading replaces
    redo_reason: tuple[str, str] | None = None  # (code, note) of that redo, where signed
    record: Record | None = None  # the `study` record once written
    inputs: set[str] = field(default_factory=set)

    # -- what the study is ----------------------------------------------------------------

    @property
    def kind(self) -> str:
        return self.procedure.kind

    @property
    def type1(self) -> bool:
        return self.kind == "type-1"

    @property
    def attribute(self) -> bool:
        return self.kind == "attribute-agreement"

    @property
    def seed(self) -> int:
        """The suggested order's seed: the start, in ms (stable across restarts)."""
        return int(self.started.timestamp() * 1000)

    @property
    def references(self) -> dict[str, str]:
        return dict(self.procedure.references)

    @property
    def n_parts(self) -> int:
        return self.procedure.parts or len(self.procedure.references)

    @property
    def n_appraisers(self) -> int:
        return self.procedure.appraisers or 0

    @property
    def n_trials(self) -> int:
        return self.procedure.trials or 0

    @property
    def n_readings(self) -> int:
        """How many readings the complete study has."""
        if self.type1:
            return self.procedure.readings or 0
        return self.n_parts * self.n_appraisers * self.n_trials

    @property
    def appraisers(self) -> list[str]:
        """Every appraiser so far, in order of appearance (the current one last if new)."""
        seen = list(dict.fromkeys(r.appraiser for r in self.readings if r.appraiser))
        if not self.type1 and self.appraiser not in seen:
            seen.append(self.appraiser)
        return seen

    @property
    def parts(self) -> list[str]:
        """The parts: the procedure's reference parts, else those named so far, sorted."""
        if self.attribute:
            return sorted(self.references)
        named = {r.part for r in self.readings if r.part is not None}
        if self.part is not None:
            named.add(self.part)
        return sorted(named)

    def count(self, appraiser: str, part: str) -> int:
        """Readings taken by `appraiser` on `part`."""
        return sum(1 for r in self.readings if r.appraiser == appraiser and r.part == part)

    @property
    def complete(self) -> bool:
        """Every appraiser has every part `trials` times (type-1: `readings` readings)."""
        if self.type1:
            return len(self.readings) >= self.n_readings
        apps, parts = self.appraisers, self.parts
        return (
            len(apps) == self.n_appraisers
            and len(parts) == self.n_parts
            and all(self.count(a, p) >= self.n_trials for a in apps for p in parts)
        )

    def missing(self) -> list[str]:
        """What is still to take, one line each (empty once complete)."""
        if self.type1:
            left = self.n_readings - len(self.readings)
            return [f"{left} reading(s) of the standard"] if left > 0 else []
        out = [
            f"{a}/{p}: {self.n_trials - self.count(a, p)} trial(s)"
            for a in self.appraisers
            for p in self.parts
            if self.count(a, p) < self.n_trials
        ]
        if len(self.parts) < self.n_parts:
            out.append(f"{self.n_parts - len(self.parts)} part(s) not named yet")
        if len(self.appraisers) < self.n_appraisers:
            out.append(f"{self.n_appraisers - len(self.appraisers)} appraiser(s) still to come")
        return out

    def order(self, appraiser: str) -> list[tuple[str, int]]:
        """The suggested (part, trial) order of `appraiser`: the parts shuffled anew for
        every trial (AIAG MSA 4th ed. III-B, step 3), seeded by start, appraiser and trial."""
        out: list[tuple[str, int]] = []
        for t in range(1, self.n_trials + 1):
            parts = list(self.parts)
            random.Random(f"{self.seed}/{appraiser}/{t}").shuffle(parts)
            out.extend((p, t) for p in parts)
        return out

    def suggestion(self) -> tuple[str, int] | None:
        """The next (part, trial) suggested for the current appraiser, or None."""
        if self.type1:
            return None
        a = self.appraiser
        for p, t in self.order(a):
            if self.count(a, p) < t:
                return p, t
        return None

    @property
    def step(self) -> Step:
        """What the study waits for."""
        if self.record is not None:
            return "done"
        if self.instrument is None:
            return "instrument"
        if self.type1 and self.standard is None:
            return "standard"
        if not self.type1 and self.part is None and self.redo is None:
            return "part"
        return "readings"

    def _suggested(self) -> str:
        nxt = self.suggestion()
        if nxt is not None:
            return f" (suggested: {nxt[0]})"
        if len(self.parts) < self.n_parts:
            return " (a part not named yet)"
        return ""

    def prompt(self) -> str:
        """What to scan or take next, in one sentence."""
        step = self.step
        if step == "done":
            return "study recorded: press Esc"
        if step == "instrument":
            types = ", ".join(self.procedure.instrument_types)
            return f"scan the instrument under study ({types})"
        if step == "standard":
            return f"scan the reference standard it measures {self.n_readings} times"
        if self.redo is not None:
            old = self.readings[self.redo]
            return f"the next {self._what()} replaces {old.label()}"
        if self.type1:
            assert self.standard is not None
            return f"reading {len(self.readings) + 1}/{self.n_readings} of {self.standard.id}"
        a = self.appraiser
        if step == "part":
            return f"appraiser {a}: scan a part label{self._suggested()}"
        assert self.part is not None
        done = self.count(a, self.part)
        if done >= self.n_trials:
            if self.complete:
                return "every reading taken"
            more = "" if self.suggestion() or len(self.parts) < self.n_parts else ", or switch"
            return f"{a} has part {self.part} {done} times: scan the next part{more}" + (
                self._suggested()
            )
        how = "Ctrl+P accept / Ctrl+F reject" if self.attribute else "take the reading"
        return f"appraiser {a}, part {self.part}, trial {done + 1}/{self.n_trials}: {how}"

    def _what(self) -> str:
        return "decision" if self.attribute else "value"

    @property
    def unfinished(self) -> bool:
        return self.record is None

    # -- scans -----------------------------------------------------------------------------

    def set_instrument(self, inst: Instrument, fit: Fitness) -> Notice:
        """The instrument under study; refused when of another type, unit or unfit."""
        proc = self.procedure
        if self.readings:
            assert self.instrument is not None
            if inst.id == self.instrument.id:
                return info(f"{inst.id} is under study: {self.prompt()}")
            return error(f"readings were taken with {self.instrument.id}: it stays under study")
        reasons: list[str] = []
        if inst.type not in proc.instrument_types:
            reasons.append(
                f"instrument {inst.id} is a {inst.type}; procedure {proc.id} studies "
                f"{', '.join(proc.instrument_types)}"
            )
        if not compatible(inst.unit, proc.unit):
            reasons.append(f"instrument {inst.id} measures in {inst.unit}, not in {proc.unit}")
        reasons.extend(fit.reasons)
        if reasons:
            return error(f"instrument {inst.id} cannot be studied with {proc.id}", *reasons)
        self.instrument = inst
        return ok(f"{NAMES[self.kind]} of {inst.id} ({inst.type}): {self.prompt()}", *fit.warnings)

    def set_standard(self, std: Standard, now: datetime, zone: tzinfo) -> Notice:
        """The type-1 reference standard; refused when unfit or in another unit."""
        if not self.type1:
            return error(f"standard {std.id} not expected: a {self.kind} study measures parts")
        if self.step == "instrument":
            return error(f"standard {std.id} not expected: {self.prompt()}")
        if self.readings:
            assert self.standard is not None
            return error(f"readings of {self.standard.id} were taken: it stays the reference")
        fit = standard_fitness(std, now, zone=zone)
        if not fit.usable:
            return error(f"standard {std.id} refused", *fit.reasons)
        if not compatible(std.unit, self.procedure.unit):
            return error(f"standard {std.id} is in {std.unit}, not in {self.procedure.unit}")
        self.standard = std
        return info(
            f"reference {std.id} = {std.value:g} {std.unit} (U {std.uncertainty:g}): "
            + self.prompt(),
            *fit.warnings,
        )

    def set_part(self, label: str) -> Notice:
        """A part label scanned: the part the next readings belong to."""
        if self.type1:
            return error(f"{label}: a Type-1 study measures its standard, not parts")
        if self.step == "instrument":
            return error(f"part {label} not expected: {self.prompt()}")
        if self.attribute and label not in self.references:
            return error(
                f"{label} is not a sample part of {self.procedure.id}",
                "its parts: " + ", ".join(sorted(self.references)),
            )
        named = {r.part for r in self.readings if r.part is not None}
        if not self.attribute and label not in named and len(named | {label}) > self.n_parts:
            return error(
                f"{label}: the study has its {self.n_parts} parts already",
                "its parts: " + ", ".join(sorted(named)),
            )
        self.part = label
        return info(f"part {label}: {self.prompt()}")

    def switch_appraiser(self, operator_id: str) -> Notice:
        """Another appraiser takes the next readings (the caller checked they may)."""
        if operator_id == self.appraiser:
            return info(f"{operator_id} is the appraiser: {self.prompt()}")
        if operator_id not in self.appraisers and len(self.appraisers) >= self.n_appraisers:
            return error(
                f"the study has its {self.n_appraisers} appraisers: " + ", ".join(self.appraisers)
            )
        self.appraiser, self.part = operator_id, None
        return ok(f"appraiser {operator_id}: {self.prompt()}")

    # -- readings ----------------------------------------------------------------------------

    def refuse(
        self, decision: bool, input_name: str = "", fixed: str | None = None
    ) -> Notice | None:
        """Why a reading (`decision`: a Ctrl+P/F decision) is not taken now; None if it is."""
        if self.step != "readings":
            what = "decision" if decision else f"reading from {input_name}"
            return warn(f"{what} not taken: {self.prompt()}")
        if decision and not self.attribute:
            return error(f"a {self.kind} study takes readings, not Ctrl+P/Ctrl+F decisions")
        if not decision and self.attribute:
            return error("an attribute agreement takes decisions: Ctrl+P accept, Ctrl+F reject")
        inst = self.instrument
        assert inst is not None
        if fixed is not None and fixed != inst.id:
            return error(
                f"input {input_name} is fixed to instrument {fixed}, not {inst.id} under study"
            )
        full = self.part is not None and self.count(self.appraiser, self.part) >= self.n_trials
        if self.redo is None and full:
            return error(f"not taken: {self.prompt()}")
        return None

    def next_reading(
        self, value: float | None, decision: Decision | None, raw: str | None, ts: datetime
    ) -> tuple[Taken, int | None]:
        """The reading to take (after `refuse` let it through) and the index it replaces."""
        if self.redo is not None:
            old = self.readings[self.redo]
            return Taken(old.trial, old.appraiser, old.part, value, decision, raw, ts), self.redo
        if self.type1:
            return Taken(len(self.readings) + 1, None, None, value, None, raw, ts), None
        assert self.part is not None
        trial = self.count(self.appraiser, self.part) + 1
        return Taken(trial, self.appraiser, self.part, value, decision, raw, ts), None

    def take(self, taken: Taken, replaces: int | None) -> None:
        """Take `taken` (its writes are committed)."""
        if replaces is None:
            self.readings.append(taken)
        else:
            self.readings[replaces] = taken
        self.redo = self.redo_reason = None

    def start_redo(self, reason: tuple[str, str] | None = None) -> Notice:
        """Ctrl+R: the next value or decision replaces the last reading taken (`reason`:
        its code and note, where redos are signed)."""
        if self.record is not None or not self.readings:
            return error("nothing to redo: no reading taken in this study yet")
        last = self.readings[-1]
        if last.appraiser is not None and last.appraiser != self.appraiser:
            return error(
                f"the last reading ({last.label()}) is {last.appraiser}'s: scan their badge to "
                "redo it"
            )
        self.redo = len(self.readings) - 1
        self.redo_reason = reason
        text = f"the next {self._what()} replaces {last.label()}"
        return info(text) if reason is None else ok(f"{text} ({reason[0]})")

    # -- the result -------------------------------------------------------------------------

    def evaluate(self) -> tuple[dict[str, Any], StudyVerdict]:
        """(results, verdict) of the complete study.

        Raises:
            MsaError: the readings cannot be evaluated (e.g. a degenerate design).
        """
        proc, limits = self.procedure, dict(self.procedure.limits)
        if self.type1:
            assert self.standard is not None and self.instrument is not None
            r1 = type1(
                [r.value for r in self.readings if r.value is not None],
                reference=self.reference or 0.0,
                tolerance=proc.tolerance or 0.0,
                resolution=self.resolution,
                limits=limits,
            )
            return type1_results(r1), r1.verdict
        if self.attribute:
            ra = attribute_agreement(
                [
                    Judgement(str(r.appraiser), str(r.part), r.trial, r.decision)
                    for r in self.readings
                    if r.decision is not None
                ],
                {p: "accept" if d == "accept" else "reject" for p, d in self.references.items()},
                limits=limits,
            )
            return attribute_results(ra), ra.verdict
        grr = [
            GrrReading(str(r.appraiser), str(r.part), r.trial, r.value)
            for r in self.readings
            if r.value is not None
        ]
        avg = average_range(grr, tolerance=proc.tolerance, limits=limits)
        anv = anova(grr, tolerance=proc.tolerance, limits=limits)
        return grr_results(avg, anv), grr_verdict_of(avg, anv)

    @property
    def reference(self) -> float | None:
        """The type-1 standard's value in the procedure's unit."""
        std = self.standard
        return None if std is None else convert(std.value, std.unit, self.procedure.unit)

    @property
    def resolution(self) -> float | None:
        inst = self.instrument
        return None if inst is None else convert(inst.resolution, inst.unit, self.procedure.unit)

    def body(self, completed: datetime) -> dict[str, Any]:
        """The `study` record body of the complete study.

        Raises:
            MsaError: the readings cannot be evaluated.
        """
        assert self.instrument is not None
        results, verdict = self.evaluate()
        run = StudyRun(
            instrument=self.instrument.id,
            operator=self.operator,
            started=format_ts(self.started),
            completed=format_ts(completed),
            appraisers=() if self.type1 else tuple(self.appraisers),
            standard=None if self.standard is None else self.standard.id,
            reference=self.reference,
            resolution=self.resolution,
        )
        readings = [r.study_reading() for r in self.readings]
        return study_body(self.procedure, run, readings, results, verdict)


__all__ = ["NAMES", "Step", "Study", "Taken"]
