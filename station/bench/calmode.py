"""Calibration mode: a released procedure run point by point at the bench (issue 15).

A calibration compares the instrument under test with references, point by point, as its
procedure says (ISO 10012 7.1, ISO/IEC 17025 7.7). The technician scans the procedure, the
instrument under test, and for each point the reference: a standard of the point's
`standard_type`, or (source `reference-instrument`) a calibrated reference instrument whose
readings are the reference (ISO 6789-1 6.3: a torque analyser for a click wrench). The
readings then arrive from the inputs. After the last point the as-found series is judged
(`station.core.calibration`); when it is not `pass` the technician adjusts the instrument
and scans it again for the as-left series, or scans the procedure again to finish
unadjusted.

A calibration is only as good as its chain (ISO 9001 7.1.5.2 a, traceability): every
standard and reference instrument must itself be fit. The instrument under test may be
overdue or quarantined (that is why it is calibrated), never retired.

This module holds the calibration's state and decides; it writes nothing. What a finished
one records is `station.bench.calrecord`'s, its draft `station.bench.caldraft`'s, its
suspect notice `station.bench.calsuspect`'s; the writes, in the fail-safe order, are
`station.bench.calibrating`'s. A series' last point becomes part of the
state only once what it completes is recorded (issue 13.7).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Literal

from drivers.base import Reading
from station.bench.checkmode import Attempt
from station.bench.notice import Notice, error, info, ok, warn
from station.core.calibration import (
    CalibrationError,
    PointResult,
    PointSpec,
    judge_point,
    series_verdict,
)
from station.core.calibration_record import PointTrace
from station.core.fitness import Fitness, standard_fitness
from station.core.model import Instrument, Procedure, Standard
from station.core.units import UnitError, compatible, convert
from station.store import Record

Taken = tuple[PointResult, PointTrace]
Step = Literal["instrument", "reference", "readings", "decision", "done"]


@dataclass(frozen=True)
class SeriesComplete:
    """A series' last point judged: the series to record (or to decide on)."""

    points: tuple[Taken, ...]
    readings: tuple[Reading, ...]  # the last point's, kept only once recorded

    @property
    def verdict(self) -> str:
        """The series verdict: its worst point."""
        return series_verdict([p for p, _ in self.points])


@dataclass
class Calibration:
    """The state of one calibration in progress."""

    procedure: Procedure
    operator: str
    started: datetime
    instrument: Instrument | None = None
    as_found: list[Taken] = field(default_factory=list)
    as_left: list[Taken] | None = None  # started by scanning the instrument after a failure
    standard: Standard | None = None
    reference_instrument: Instrument | None = None
    readings: list[Reading] = field(default_factory=list)
    record: Record | None = None  # the `calibration` record once written
    suspect: Record | None = None  # the `suspect` record once written
    suspect_owed: bool = False
    flipped: tuple[str, ...] = ()  # what the suspect's re-judgement changed, one line each
    inputs: set[str] = field(default_factory=set)

    # -- where the calibration stands ------------------------------------------------------

    @property
    def series(self) -> list[Taken]:
        """The series being taken (as-left once started, else as-found)."""
        return self.as_found if self.as_left is None else self.as_left

    @property
    def series_name(self) -> str:
        return "as-found" if self.as_left is None else "as-left"

    @property
    def progress(self) -> tuple[int, int, int, bool]:
        """Changes whenever a reading was taken (for the debounce's "taken")."""
        left = -1 if self.as_left is None else len(self.as_left)
        return len(self.as_found), left, len(self.readings), self.record is None

    @property
    def as_found_complete(self) -> bool:
        """True once the as-found series has every point (it may be finished unadjusted)."""
        return self.instrument is not None and len(self.as_found) == len(self.procedure.points)

    @property
    def point(self) -> PointSpec | None:
        """The point being taken; None once the series has every point."""
        pts, i = self.procedure.points, len(self.series)
        return pts[i] if i < len(pts) else None

    @property
    def step(self) -> Step:
        """What the calibration waits for."""
        if self.record is not None:
            return "done"
        if self.instrument is None:
            return "instrument"
        if self.point is None:
            return "decision"
        if self.standard is None and self.reference_instrument is None:
            return "reference"
        return "readings"

    @property
    def reading_instrument(self) -> Instrument | None:
        """The instrument whose readings the current point takes."""
        if self.reference_instrument is not None:
            return self.reference_instrument
        return self.instrument if self.standard is not None else None

    def prompt(self) -> str:
        """What to scan or take next, in one sentence."""
        p, step = self.point, self.step
        if step == "instrument":
            types = ", ".join(self.procedure.instrument_types)
            return f"scan the instrument under test ({types})"
        if step == "done":
            return "calibration recorded: press Esc"
        if step == "decision":
            assert self.instrument is not None
            return (
                f"as-found not pass: adjust {self.instrument.id} and scan it for the as-left "
                f"series, or scan {self.procedure.id} to finish unadjusted (fail)"
            )
        assert p is not None
        where = f"point {len(self.series) + 1}/{len(self.procedure.points)} {p.name}"
        if step == "reference":
            what = "a reference instrument" if p.source == "reference-instrument" else "a standard"
            return f"{self.series_name} {where}: scan {what} of type {p.standard_type}"
        ref = self.standard.id if self.standard else getattr(self.reference_instrument, "id", "")
        return f"{self.series_name} {where} ({ref}): reading {len(self.readings) + 1}/{p.readings}"

    @property
    def unfinished(self) -> bool:
        """True when an instrument is under test but nothing recorded (leaving drops it)."""
        return self.record is None and self.instrument is not None

    def recorded(self, record: Record, done: SeriesComplete | None) -> None:
        """The `calibration` record is committed."""
        if done is not None:
            self.complete_series(done)
        self.record = record

    # -- scans -----------------------------------------------------------------------------

    def set_instrument(self, inst: Instrument) -> tuple[Notice, Attempt | None]:
        """The instrument under test; refused when retired or of another type."""
        proc = self.procedure
        reasons: list[str] = []
        if inst.type not in proc.instrument_types:
            reasons.append(
                f"instrument {inst.id} is a {inst.type}; procedure {proc.id} calibrates "
                f"{', '.join(proc.instrument_types)}"
            )
        if inst.status == "retired":
            reasons.append(f"instrument {inst.id} is retired")
        if not compatible(inst.unit, proc.unit):
            reasons.append(f"instrument {inst.id} measures in {inst.unit}, not in {proc.unit}")
        if reasons:
            detail = {"instrument": inst.id, "context": "calibration", "reasons": reasons}
            return (
                error(f"instrument {inst.id} cannot be calibrated with {proc.id}", *reasons),
                Attempt("instrument-refused", inst.id, detail),
            )
        self.instrument = inst
        return ok(f"calibrating {inst.id} ({inst.type}): {self.prompt()}"), None

    def set_standard(self, std: Standard, now: datetime, zone: tzinfo) -> Notice:
        """The current point's standard; refused when unfit or of another type."""
        p = self.point
        if self.step not in ("reference", "readings") or p is None:
            return error(f"standard {std.id} not expected: {self.prompt()}")
        if self.readings:
            return error(f"readings of this point were taken with {self._ref_id()}: go on")
        if p.source == "reference-instrument":
            return error(f"point {p.name} takes a reference instrument, not a standard")
        if std.type != p.standard_type:
            return error(
                f"standard {std.id} is a {std.type}; point {p.name} needs a {p.standard_type}"
            )
        fit = standard_fitness(std, now, zone=zone)
        if not fit.usable:
            return error(f"standard {std.id} refused", *fit.reasons)
        if not compatible(std.unit, self.procedure.unit):
            return error(f"standard {std.id} is in {std.unit}, not in {self.procedure.unit}")
        self.standard, self.reference_instrument = std, None
        value = convert(std.value, std.unit, self.procedure.unit)
        off: tuple[str, ...] = ()
        if value != p.nominal:  # the as-found error curve places the error at the nominal
            off = (f"standard {std.id} is {value:g} {self.procedure.unit}, not {p.nominal:g}",)
        return (warn if off else info)(
            f"standard {std.id} = {std.value:g} {std.unit} (U {std.uncertainty:g}): "
            + self.prompt(),
            *off,
            *fit.warnings,
        )

    def set_reference_instrument(self, inst: Instrument, fit: Fitness) -> Notice:
        """The current point's reference instrument; `fit` its fitness now."""
        p = self.point
        if p is None or p.source != "reference-instrument" or self.step != "reference":
            return error(f"instrument {inst.id} not expected: {self.prompt()}")
        if inst.type != p.standard_type:
            return error(
                f"instrument {inst.id} is a {inst.type}; point {p.name} needs a "
                f"{p.standard_type} as its reference"
            )
        if not fit.usable:
            return error(f"reference instrument {inst.id} refused", *fit.reasons)
        if not compatible(inst.unit, self.procedure.unit):
            return error(f"instrument {inst.id} is in {inst.unit}, not in {self.procedure.unit}")
        self.reference_instrument, self.standard = inst, None
        note = () if inst.u is not None else (f"{inst.id} has no u: U_ref taken as 0",)
        return info(f"reference {inst.id}: {self.prompt()}", *note, *fit.warnings)

    def start_as_left(self, inst: Instrument) -> Notice:
        """The instrument under test scanned again after a failed as-found: as-left."""
        assert self.instrument is not None
        if inst.id != self.instrument.id:
            return error(f"scan {self.instrument.id} (under test) or {self.procedure.id}")
        self.as_left = []
        self.standard = self.reference_instrument = None
        self.readings.clear()
        return ok(f"as-left series of {inst.id}: {self.prompt()}")

    # -- readings --------------------------------------------------------------------------

    def refuse_reading(self, input_name: str, fixed: str | None) -> Notice | None:
        """Why a reading from `input_name` (fixed to `fixed`) is not taken; None if it is."""
        if self.step != "readings":
            return warn(f"reading from {input_name} ignored: {self.prompt()}")
        expected = self.reading_instrument
        assert expected is not None
        if fixed is not None and fixed != expected.id:
            return error(
                f"input {input_name} is fixed to instrument {fixed}, not {expected.id}: "
                "read from the instrument this point takes"
            )
        return None

    def add_reading(self, input_name: str, r: Reading) -> Notice | SeriesComplete:
        """One reading of the current point (after `refuse_reading` let it through)."""
        p, inst, expected = self.point, self.instrument, self.reading_instrument
        assert p is not None and inst is not None and expected is not None
        unit = r.unit or expected.unit
        try:
            convert(r.value, unit, self.procedure.unit)
        except UnitError as exc:
            return error(f"reading {r.value:g} {unit} refused: {exc}")
        self.inputs.add(input_name)
        readings = [*self.readings, r]
        if len(readings) < p.readings:
            self.readings.append(r)
            return info(f"{p.name}: reading {len(readings)}/{p.readings} = {r.value:g} {unit}")
        try:
            taken = self._judge(p, inst, readings)
        except (CalibrationError, UnitError, ValueError) as exc:
            self.readings.clear()
            return error(f"point {p.name} cannot be judged: {exc}; retake it")
        if len(self.series) + 1 < len(self.procedure.points):
            self._next_point(taken)
            res = taken[0]
            return _point_notice(res, f"{p.name} {res.verdict.upper()}: " + self.prompt())
        return SeriesComplete((*self.series, taken), tuple(readings))

    def _judge(self, p: PointSpec, inst: Instrument, readings: list[Reading]) -> Taken:
        unit = self.procedure.unit
        expected = self.reading_instrument
        assert expected is not None
        values = [convert(r.value, r.unit or expected.unit, unit) for r in readings]
        std, ref = self.standard, self.reference_instrument
        if std is not None:
            reference: float | None = convert(std.value, std.unit, unit)
            u_ref = convert(std.uncertainty, std.unit, unit)
        else:
            assert ref is not None
            reference, u_ref = None, convert(ref.u or 0.0, ref.unit, unit)
        result = judge_point(
            p,
            values,
            reference=reference,
            u_ref=u_ref,
            resolution=convert(inst.resolution, inst.unit, unit),
            rule=self.procedure.rule,
        )
        trace = PointTrace(
            standard=None if std is None else std.id,
            reference_instrument=None if ref is None else ref.id,
            raw=tuple(r.raw for r in readings),
        )
        return result, trace

    def _next_point(self, taken: Taken) -> None:
        self.series.append(taken)
        self.standard = self.reference_instrument = None
        self.readings.clear()

    def complete_series(self, done: SeriesComplete) -> None:
        """The series is complete (recorded, or as-found awaiting the decision)."""
        self.series[:] = list(done.points)
        self.standard = self.reference_instrument = None
        self.readings.clear()

    def _ref_id(self) -> str:
        if self.standard is not None:
            return self.standard.id
        return "" if self.reference_instrument is None else self.reference_instrument.id


def _point_notice(p: PointResult, text: str) -> Notice:
    low = (f"TUR {p.tur:.2f} below 4:1 at {p.name}",) if p.tur_low and p.tur else ()
    return (error if p.verdict == "fail" else warn if low else info)(text, *low)


__all__ = [
    "Calibration",
    "SeriesComplete",
    "Taken",
]
