"""The bench workflow: badge, part, instrument, readings, completion, nonconformance.

This is the bench's logic without any UI: the Textual app calls these methods from scans, key
presses and driver readings and re-renders from the state they leave. Every rule that makes
the bench "impossible to use wrongly" lives here, so Pilot tests, the tmux test and the chaos
run drive the very same code:

- the operator gate (active, every qualification the plan requires, unexpired);
- only the `released` plan revision for a part;
- the calibration interlock: no reading from an unfit instrument is ever accepted
  (ISO 9001 7.1.5.2: measuring equipment shall be verified, identified and safeguarded);
- the storage budget: new inspections are refused when undelivered records fill it;
- every replaced reading stays in the audit trail (`reading-replaced` event, Part 11 style);
- refused attempts (badge, instrument, reading) are `event` records too, rate-limited
  (`station.bench.audit`); one press of a data button is one reading (`station.bench.debounce`).

Readings are stored durably as they are taken (the draft), so an unfinished inspection is
offered for resumption after a crash or power cut. Every method writes first and changes its
state only once the write is committed: when the store fails (disk full, read-only card) the
operator is told nothing was recorded, and nothing of it turns up later (issue 13.7).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import Enum
from typing import Any

from drivers.base import Reading
from station.bench.audit import DEFAULT_WINDOW_S, AttemptLog
from station.bench.checkmode import InstrumentCheck
from station.bench.debounce import Debouncer
from station.bench.draft import Draft, PartInfo, draft_from_doc
from station.bench.interlock import Refusal, characteristic_in_hand
from station.bench.notice import Notice, bad_news, error, indeterminate_step, info, ok, warn
from station.bench.spc_watch import SPC_CAUSES, SpcAlert, SpcView, check_after_part, view
from station.core.fitness import Fitness, assess_instrument
from station.core.gate import assess_operator
from station.core.inspection import (
    InspectionError,
    Measurement,
    inspection_body,
    measure_attribute,
    measure_variable,
    pending,
    plan_result,
)
from station.core.model import Characteristic, Instrument, MasterData, Operator, Plan
from station.core.scan import (
    InstrumentScan,
    OperatorScan,
    PartScan,
    StandardScan,
    UnknownScan,
    classify_scan,
)
from station.core.timefmt import parse_ts
from station.core.units import UnitError
from station.core.verdict import ConfigurationError
from station.settings import Config
from station.store import Record, RecordType, StorageBudgetExceeded, Store, StoreError

log = logging.getLogger(__name__)

# The draft slot holds this while a rejected inspection still owes its nonconformance.
NC_OWED_SCHEMA = "station.nc-owed/1"

# Reason codes offered by the nonconformance dialog (the QMS may map them to its own list).
NC_REASONS: tuple[str, ...] = (
    "dimension-out-of-tolerance",
    "weight-out-of-tolerance",
    "torque-out-of-tolerance",
    "surface-defect",
    "burr",
    "damage",
    "wrong-part",
    "other",
)


class Mode(Enum):
    """What the bench is waiting for."""

    IDLE = "scan your badge"
    READY = "scan a part"
    INSPECTING = "take the readings"
    NONCONFORMANCE = "describe the nonconformance"
    CHECK = "instrument check"
    SPC_SIGNAL = "acknowledge the SPC signal"


@dataclass
class BenchState:
    """Everything the screen shows, rebuilt by the workflow after each action."""

    mode: Mode = Mode.IDLE
    operator: Operator | None = None
    plan: Plan | None = None  # the plan of the current or last inspection
    draft: Draft | None = None
    selected_instrument: Instrument | None = None  # scanned, bound on its next reading
    redo: tuple[str, int] | None = None  # the next value replaces this sample
    last_key: tuple[str, int] | None = None
    last_measurement: Measurement | None = None
    last_inspection: Record | None = None
    nc_for: Record | None = None  # the rejected inspection awaiting its NC
    check: InstrumentCheck | None = None
    spc_alerts: list[SpcAlert] = field(default_factory=list)
    # Inputs that take no reading until a fit instrument is scanned (issue 12.1).
    refusals: dict[str, Refusal] = field(default_factory=dict)


class Workflow:
    """The bench's rules over one store, one config and a clock.

    Args:
        store: the record store (used from the calling thread only).
        config: the station config (inputs and their fixed instruments).
        clock: returns the current UTC-aware datetime; tests pass a fixed one.
        reason: the inspection reason written into records ("production", "first-article"…).
        monotonic: seconds that never go back, for rate limits (`time.monotonic`).
        audit_window_s: at most one refused-attempt event per (kind, subject) this often.
    """

    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Callable[[], datetime],
        *,
        reason: str = "production",
        monotonic: Callable[[], float] = time.monotonic,
        audit_window_s: float = DEFAULT_WINDOW_S,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.reason = reason
        self.monotonic = monotonic
        self.state = BenchState()
        self.attempts = AttemptLog(audit_window_s)
        self.debounce = Debouncer(config.inputs)
        self._master_version = store.master_version()  # read first: a later change shows
        self.master: MasterData = store.master_data()

    # -- helpers ---------------------------------------------------------------------------

    def refresh_master(self) -> None:
        """Re-read master data when the sync daemon has applied new versions since last time.

        Called on every scan and reading, so it must not rebuild the whole snapshot each time
        (20-30 ms with 300 plans and 300 instruments); the version check is one indexed query.
        """
        version = self.store.master_version()
        if version != self._master_version:
            self.master = self.store.master_data()
            self._master_version = version

    def _event_body(self, kind: str, **detail: Any) -> dict[str, Any]:
        op = self.state.operator.id if self.state.operator else None
        return {"kind": kind, "operator": op, "detail": detail}

    def _event(self, kind: str, **detail: Any) -> Record:
        return self.store.append("event", self._event_body(kind, **detail))

    def record_attempt(self, kind: str, subject: str, **detail: Any) -> None:
        """A refused attempt as an `event` record, rate-limited (see `station.bench.audit`).

        Never raises: a refusal must reach the operator even when the store cannot take its
        event (the attempt is then counted and carried by the next one written).
        """
        now = self.monotonic()
        owed = self.attempts.admit(kind, subject, now, detail)
        if owed is None:
            log.info("%s %s: repeat within %g s, counted", kind, subject, self.attempts.window_s)
            return
        try:
            self._event(kind, **detail, suppressed=owed)
        except StoreError as exc:
            log.warning("%s %s: could not record the attempt: %s", kind, subject, exc)
            self.attempts.failed(kind, subject, now, detail)
        else:
            self.attempts.written(kind, subject, now)

    def _flush_attempts(self) -> None:
        """Write the repeat counts still owed (one summary event per key)."""
        for owed in self.attempts.owed():
            try:
                self._event(owed.kind, **owed.detail, suppressed=owed.suppressed, summary=True)
            except StoreError as exc:
                log.warning("%s %s: repeats not recorded: %s", owed.kind, owed.subject, exc)
                self.attempts.restore(owed, self.monotonic())

    def fixed_instrument(self, input_name: str) -> str | None:
        """The instrument the config fixes to `input_name`, if any."""
        for i in self.config.inputs:
            if i.name == input_name:
                return i.instrument
        return None

    def bound_instrument_id(self, input_name: str) -> str | None:
        """The instrument currently bound to an input: fixed in the config, else scanned."""
        return self.fixed_instrument(input_name) or self.store.bindings().get(input_name)

    @property
    def zone(self) -> tzinfo:
        """The site's `[station] timezone`: calendar dates (cal_due, expiry) are judged in it."""
        return self.config.station.timezone

    def fitness(self, instrument: Instrument, characteristic: Characteristic | None) -> Fitness:
        """The calibration interlock for `instrument` now (and for `characteristic`)."""
        last = self.store.last_passing_check(instrument.id)
        return assess_instrument(
            instrument,
            now=self.clock(),
            zone=self.zone,
            characteristic=characteristic,
            local_quarantine_reason=self.store.local_quarantines().get(instrument.id),
            last_passing_check_at=None if last is None else parse_ts(last.ts),
        )

    def pending_samples(self) -> tuple[tuple[Characteristic, int], ...]:
        """(characteristic, sample) still to take in the current inspection."""
        d = self.state.draft
        return () if d is None else pending(d.plan, d.measurements.values())

    # -- the interlock per input (issue 12.1) ----------------------------------------------

    def input_refusal(self, input_name: str) -> str | None:
        """None when `input_name` may take a reading now, else the full reason it takes none.

        For the screen (e.g. "CAL-0007 refused: calibration of instrument CAL-0007 is
        overdue: it was due on 2026-09-30; scan a fit instrument"). In instrument-check mode
        the check takes every reading and judges it itself, so nothing is refused here.
        """
        st = self.state
        if st.mode is Mode.CHECK:
            return None
        self.refresh_master()
        fixed = self.fixed_instrument(input_name)
        if fixed is None and st.selected_instrument is not None:
            # The next reading here binds the selection: it is what counts.
            selected = self.master.instrument(st.selected_instrument.id)
            if selected is None:
                return f"instrument {st.selected_instrument.id} is no longer in the master data"
            refusal = self._unfit(selected, fixed=False)
            return None if refusal is None else refusal.text()
        if fixed is None and input_name in st.refusals:
            return st.refusals[input_name].text()
        iid = fixed or self.store.bindings().get(input_name)
        if iid is None:
            return f"no instrument bound to input {input_name}: scan the instrument's label"
        instrument = self.master.instrument(iid)
        if instrument is None:
            return f"instrument {iid} is not in the master data"
        refusal = self._unfit(instrument, fixed=fixed is not None)
        return None if refusal is None else refusal.text()

    def _in_hand(self, instrument: Instrument) -> Characteristic | None:
        """The characteristic the instrument's next reading would fill, if any."""
        d = self.state.draft
        if d is None:
            return None
        redo = None if self.state.redo is None else d.plan.characteristic(self.state.redo[0])
        return characteristic_in_hand(instrument, self.pending_samples(), redo)

    def _unfit(self, instrument: Instrument, *, fixed: bool) -> Refusal | None:
        fit = self.fitness(instrument, self._in_hand(instrument))
        return None if fit.usable else Refusal(instrument.id, fit.reasons, fixed)

    def refuse_inputs(self, refusal: Refusal, *, bound_to: str | None = None) -> list[str]:
        """Make scan-bound inputs take no reading until a fit instrument is scanned.

        Every input without a fixed instrument (or only those bound to `bound_to`) keeps
        `refusal` for the screen. Without `bound_to` (a refused scan: the inspector now
        holds another instrument than the bound one) the inputs are also unbound in the
        store, so a restart does not bring the old binding back; fail safe, the refusal
        holds even if unbinding fails. With `bound_to` (a failed check) the binding stays:
        the local quarantine is durable and blocks it after a restart too.
        """
        bindings = self.store.bindings()
        names = [
            i.name
            for i in self.config.inputs
            if i.instrument is None and (bound_to is None or bindings.get(i.name) == bound_to)
        ]
        for name in names:
            self.state.refusals[name] = refusal
            if bound_to is None and name in bindings:
                try:
                    self.store.bind_instrument(name, None)
                except StoreError as exc:
                    log.warning("input %s: could not unbind %s: %s", name, bindings[name], exc)
        return names

    # -- scans -----------------------------------------------------------------------------

    def scan(self, raw: str) -> Notice:
        """Handle one scan (badge, part, instrument or standard)."""
        self.refresh_master()
        s = classify_scan(raw, self.master)
        if isinstance(s, UnknownScan):
            return error(s.message)
        if isinstance(s, OperatorScan):
            return self._badge(s.operator)
        if self.state.operator is None:
            return error("scan your badge first")
        if isinstance(s, InstrumentScan):
            return self._instrument(s.instrument)
        if isinstance(s, StandardScan):
            if self.state.mode is not Mode.CHECK or self.state.check is None:
                return error(
                    f"standard {s.standard.id} scanned outside instrument-check mode: "
                    "press F6 to check an instrument first"
                )
            return self.state.check.set_standard(s.standard, self.clock(), self.zone)
        assert isinstance(s, PartScan)
        return self._part(s)

    def _badge(self, operator: Operator) -> Notice:
        current = self.state.operator
        if current is not None:
            if current.id == operator.id:
                return self.logout("badge scanned again")
            self.record_attempt(
                "login-refused",
                operator.id,
                badge=operator.badge,
                operator_id=operator.id,
                reasons=[f"{current.id} is logged in"],
            )
            return error(
                f"{current.name} ({current.id}) is logged in: scan that badge to log out first"
            )
        if not operator.active:
            why = f"operator {operator.id} ({operator.name}) is not active"
            self.record_attempt(
                "login-refused",
                operator.id,
                badge=operator.badge,
                operator_id=operator.id,
                reasons=[why],
            )
            return error(f"{why}: login refused")
        # Written first: a login the store could not record does not happen (issue 13.7).
        self.store.append(
            "event", {"kind": "login", "operator": operator.id, "detail": {"badge": operator.badge}}
        )
        self.state.operator = operator
        self.state.mode = Mode.READY
        d = self.state.draft
        if self.state.nc_for is not None:
            self.state.mode = Mode.NONCONFORMANCE
            part = self.state.nc_for.body["part"]["number"]
            return warn(f"welcome {operator.name}: part {part} was rejected; describe the NC")
        if self.state.spc_alerts and d is None:
            self.state.mode = Mode.SPC_SIGNAL
            return warn(f"welcome {operator.name}: an SPC signal awaits its assignable cause")
        if d is not None and d.operator == operator.id:
            self.state.mode = Mode.INSPECTING
            return info(f"welcome {operator.name}: inspection of part {d.part.number} resumed")
        if d is not None:
            return warn(
                f"welcome {operator.name}: {d.operator} left part {d.part.number} unfinished; "
                "abandon it (F8) before starting another"
            )
        return ok(f"welcome {operator.name}: scan a part")

    def logout(self, why: str) -> Notice:
        """Log the operator out; an inspection in progress stays saved for resumption."""
        op = self.state.operator
        if op is None:
            return info("nobody is logged in")
        self._flush_attempts()
        # Fail closed: an unattended session is worse than a logout the store could not
        # record, so the operator is logged out either way, and told.
        unrecorded = ""
        try:
            self._event("logout", why=why)
        except StoreError as exc:
            log.warning("logout of %s not recorded: %s", op.id, exc)
            unrecorded = f"the logout could not be recorded: {exc}"
        kept = self.state.draft is not None
        # The inspection in progress, unacknowledged SPC signals and the inputs' refusals
        # outlive the session.
        self.state = BenchState(
            draft=self.state.draft,
            plan=self.state.plan,
            spc_alerts=self.state.spc_alerts,
            nc_for=self.state.nc_for,
            refusals=self.state.refusals,
        )
        tail = ": the unfinished inspection is kept" if kept else ""
        text = f"{op.name} logged out ({why}){tail}"
        return warn(text, unrecorded) if unrecorded else info(text)

    def _instrument(self, instrument: Instrument) -> Notice:
        if self.state.mode is Mode.CHECK and self.state.check is not None:
            return self.state.check.set_instrument(instrument, self)
        characteristic = self._in_hand(instrument)
        fit = self.fitness(instrument, characteristic)
        if not fit.usable:
            # The inspector now holds this instrument: no input may go on reading under the
            # one scanned before (issue 12.1).
            self.state.selected_instrument = None
            names = self.refuse_inputs(Refusal(instrument.id, fit.reasons))
            self.record_attempt(
                "instrument-refused",
                instrument.id,
                instrument=instrument.id,
                characteristic=None if characteristic is None else characteristic.id,
                reasons=list(fit.reasons),
            )
            held = (
                [f"input {', '.join(names)} takes no reading until a fit instrument is scanned"]
                if names
                else []
            )
            return error(f"instrument {instrument.id} is blocked", *fit.reasons, *held)
        self.state.selected_instrument = instrument
        text = f"instrument {instrument.id} ({instrument.type}) selected: take a reading with it"
        return warn(text, *fit.warnings) if fit.warnings else ok(text)

    def _part(self, s: PartScan) -> Notice:
        st = self.state
        if st.mode is Mode.NONCONFORMANCE:
            return error("describe the nonconformance of the rejected part first")
        if st.mode is Mode.CHECK:
            return error("finish or leave the instrument check first (Esc)")
        if st.draft is not None:
            return error(
                f"part {st.draft.part.number} is still being inspected: "
                "finish it, or abandon it (F8)"
            )
        if s.plan is None:
            return error(s.error or f"no released plan for part {s.part_number}")
        blocking = [a for a in st.spc_alerts if a.plan_id == s.plan.id]
        if blocking:
            return error(
                f"SPC signal on plan {s.plan.id}: acknowledge it with an assignable cause "
                "before the next part",
                *(f"{a.characteristic}: {a.message}" for a in blocking),
            )
        assert st.operator is not None
        gate = assess_operator(st.operator, s.plan, self.clock(), zone=self.zone)
        if not gate.allowed:
            self.record_attempt(
                "inspection-refused",
                f"{st.operator.id} {s.plan.id}",
                plan={"id": s.plan.id, "rev": s.plan.rev},
                part=s.part_number,
                reasons=list(gate.reasons),
            )
            return error(f"{st.operator.name} may not inspect plan {s.plan.id}", *gate.reasons)
        try:
            self.store.check_can_start_inspection()
        except StorageBudgetExceeded as exc:
            return error("new inspections are refused", str(exc))
        draft = Draft(
            operator=st.operator.id,
            plan=s.plan,
            part=PartInfo(s.part_number, s.serial, s.lot, s.raw or None),
            started=self.clock(),
            reason=self.reason,
            measurements={},
        )
        try:
            self.store.save_draft(draft.to_doc())
        except StoreError as exc:
            return error(f"part {s.part_number} not started: the record store failed", str(exc))
        st.draft = draft
        st.plan = s.plan
        st.mode = Mode.INSPECTING
        st.redo = None
        st.last_key = None
        st.last_measurement = None
        where = f" serial {s.serial}" if s.serial else ""
        return ok(f"part {s.part_number}{where}: plan {s.plan.id} rev {s.plan.rev}", *gate.warnings)

    # -- readings --------------------------------------------------------------------------

    def reading(self, input_name: str, r: Reading) -> Notice:
        """A value arrived from an input's driver: judge it and record it, or refuse it."""
        shown = f"{r.value:g} {r.unit or ''}".strip()
        verdict, gap_ms = self.debounce.classify(input_name, r.monotonic, r.raw)
        window = self.debounce.window_ms(input_name)
        if verdict == "bounce":
            log.info(
                "input %s: frame %r again after %.1f ms: one reading", input_name, r.raw, gap_ms
            )
            self.record_attempt(
                "reading-debounced", input_name, input=input_name, raw=r.raw, gap_ms=gap_ms
            )
            return info(
                f"input {input_name}: the same frame again {gap_ms:.0f} ms later "
                "(a bouncing switch): taken once"
            )
        if verdict == "too-soon":
            self.debounce.seen(input_name, r.monotonic, r.raw, taken=False)
            why = (
                f"it came {gap_ms:.0f} ms after the previous reading, within the "
                f"{window:g} ms debounce window of input {input_name}"
            )
            return self._refuse_reading(
                input_name,
                r,
                None,
                [why],
                f"reading {shown} not taken: too soon after the previous one; "
                "press the data button again to take it",
            )
        try:
            notice, taken = self._take(input_name, r, shown)
        except StoreError as exc:  # each step writes before it changes the state
            notice, taken = (
                error(
                    f"reading {shown} NOT recorded: the record store failed; take it again",
                    str(exc),
                ),
                False,
            )
        self.debounce.seen(input_name, r.monotonic, r.raw, taken=taken)
        return notice

    def _take(self, input_name: str, r: Reading, shown: str) -> tuple[Notice, bool]:
        """The reading after the debounce: (what to tell, whether it filled a sample)."""
        st = self.state
        if st.mode is Mode.CHECK and st.check is not None:
            check = st.check
            before, was_done = len(check.readings), check.done
            notice = check.add_reading(input_name, r, self)
            return notice, len(check.readings) > before or (check.done and not was_done)
        if st.mode is not Mode.INSPECTING or st.draft is None:
            return warn(f"reading {shown} from input {input_name} ignored: {st.mode.value}"), False
        self.refresh_master()
        instrument, refusal = self._instrument_for(input_name)
        if refusal is not None:
            text = (
                f"reading refused: instrument {refusal.instrument} is blocked"
                if refusal.instrument is not None and refusal.reasons
                else f"reading {shown} from input {input_name} refused: "
                + "; ".join(refusal.reasons)
            )
            details = [*refusal.reasons, refusal.text()] if refusal.instrument else []
            return self._refuse_reading(
                input_name, r, refusal.instrument, list(refusal.reasons), text, *details
            ), False
        assert instrument is not None
        target = self._target_for(instrument)
        if isinstance(target, Notice):
            self._attempt_reading(input_name, r, instrument.id, [target.text])
            return target, False
        characteristic, sample = target
        fit = self.fitness(instrument, characteristic)
        fixed = self.fixed_instrument(input_name) is not None
        if not fit.usable:
            if not fixed:
                # Sticky until a fit instrument is scanned, even if the QMS lifts the cause.
                st.refusals[input_name] = Refusal(instrument.id, fit.reasons)
            return self._refuse_reading(
                input_name,
                r,
                instrument.id,
                list(fit.reasons),
                f"reading refused: instrument {instrument.id} is blocked",
                *fit.reasons,
            ), False
        try:
            m = measure_variable(
                characteristic,
                sample,
                r.value,
                r.unit or instrument.unit,
                instrument=instrument,
                ts=r.wall,
                raw=r.raw,
            )
        except (UnitError, ConfigurationError, InspectionError, ValueError) as exc:
            return self._refuse_reading(
                input_name, r, instrument.id, [str(exc)], f"reading {shown} refused: {exc}"
            ), False
        notice = self._accept(m)
        if fit.warnings:
            notice = dataclasses.replace(notice, details=(*notice.details, *fit.warnings))
        return notice, not notice.refused

    def _attempt_reading(
        self, input_name: str, r: Reading, instrument: str | None, reasons: list[str]
    ) -> None:
        self.record_attempt(
            "reading-refused",
            f"{input_name} {instrument}",
            input=input_name,
            instrument=instrument,
            raw=r.raw,
            reasons=reasons,
        )

    def _refuse_reading(
        self,
        input_name: str,
        r: Reading,
        instrument: str | None,
        reasons: list[str],
        text: str,
        *details: str,
    ) -> Notice:
        """A refused reading: in the audit trail (rate-limited) and on the screen."""
        self._attempt_reading(input_name, r, instrument, reasons)
        return error(text, *details)

    def _instrument_for(self, input_name: str) -> tuple[Instrument | None, Refusal | None]:
        st = self.state
        fixed = self.fixed_instrument(input_name)
        if fixed is None and st.selected_instrument is not None:
            self.store.bind_instrument(input_name, st.selected_instrument.id)
            st.selected_instrument = None
            st.refusals.pop(input_name, None)  # a fit instrument was scanned for it
        elif fixed is None and input_name in st.refusals:
            return None, st.refusals[input_name]
        iid = fixed or self.store.bindings().get(input_name)
        if iid is None:
            return None, Refusal(
                None, ("no instrument bound to it: scan the instrument's label first",)
            )
        instrument = self.master.instrument(iid)
        if instrument is None:
            return None, Refusal(None, (f"instrument {iid} is not in the master data",))
        return instrument, None

    def _target_for(self, instrument: Instrument) -> tuple[Characteristic, int] | Notice:
        st = self.state
        assert st.draft is not None
        if st.redo is not None:
            c = st.draft.plan.characteristic(st.redo[0])
            if c.kind != "variable":
                return error(
                    f"{c.id} is an attribute: judge it with Ctrl+P (pass) or Ctrl+F (fail)"
                )
            if c.instrument_type != instrument.type:
                return error(
                    f"{c.id} is measured with a {c.instrument_type}; "
                    f"instrument {instrument.id} is a {instrument.type}"
                )
            return c, st.redo[1]
        todo = [(c, s) for c, s in self.pending_samples() if c.kind == "variable"]
        for c, s in todo:
            if c.instrument_type == instrument.type:
                return c, s
        if not todo:
            return error("no characteristic left to measure with an instrument")
        needed = sorted({str(c.instrument_type) for c, _ in todo})
        return error(
            f"wrong instrument type: {instrument.id} is a {instrument.type}; "
            f"the characteristics left need: {', '.join(needed)}"
        )

    def judge_attribute(self, passed: bool) -> Notice:
        """The operator's pass/fail for the next attribute characteristic (or the redo one)."""
        st = self.state
        if st.mode is not Mode.INSPECTING or st.draft is None:
            return error("no inspection in progress")
        if st.redo is not None:
            c = st.draft.plan.characteristic(st.redo[0])
            if c.kind != "attribute":
                return error(f"{c.id} needs an instrument reading, not a pass/fail key")
            sample = st.redo[1]
        else:
            todo = [(c, s) for c, s in self.pending_samples() if c.kind == "attribute"]
            if not todo:
                return error("no attribute characteristic left to judge")
            c, sample = todo[0]
        m = measure_attribute(c, sample, passed, ts=self.clock())
        return self._accept(m)

    def _accept(self, m: Measurement) -> Notice:
        """Record `m` in the draft (or complete the inspection), then show it.

        The new draft is built aside and becomes the state only once the store committed it
        (issue 13.7: a value the operator was told was not recorded must never turn up in
        the record later). A replaced value's `reading-replaced` event and the new draft are
        one transaction.
        """
        st = self.state
        d = st.draft
        assert d is not None
        key = (m.characteristic, m.sample)
        old = d.measurements.get(key)
        new = dataclasses.replace(d, measurements={**d.measurements, key: m})
        replaced = (
            None
            if old is None
            # The replaced value stays in the audit trail (21 CFR 11.10(e) spirit).
            else self._event_body(
                "reading-replaced",
                plan=d.plan.id,
                part=d.part.body(),
                old=old.body(),
                new=m.body(),
            )
        )
        label = f"{m.characteristic} #{m.sample}"
        try:
            if plan_result(new.plan, new.measurements.values()) is not None:
                return self._complete(new, replaced, m)
            if replaced is None:
                self.store.save_draft(new.to_doc())
            else:
                doc = new.to_doc()
                self.store.append_and_clear_draft("event", replaced, next_draft=lambda _r: doc)
        except StoreError as exc:
            return error(f"{label} NOT recorded: the record store failed; take it again", str(exc))
        st.draft = new
        st.redo = None
        st.last_key = key
        st.last_measurement = m
        shown = f"{m.value:g} {m.unit}" if m.kind == "variable" else m.verdict
        text = f"{label}: {shown} -> {m.verdict.upper()}"
        if m.verdict == "fail":
            return bad_news(text)
        return Notice("ok" if m.verdict == "pass" else "warn", text, recorded=True)

    def redo(self) -> Notice:
        """Let the next value replace the last one taken (before completion)."""
        st = self.state
        if st.draft is None or st.last_key is None or st.last_key not in st.draft.measurements:
            return error("nothing to redo: no reading taken in this inspection yet")
        st.redo = st.last_key
        c, s = st.last_key
        return info(f"the next value replaces {c} #{s}")

    def abandon(self) -> Notice:
        """Abandon the inspection in progress (recorded as an event, never silently)."""
        st = self.state
        if st.draft is None:
            return error("no inspection in progress")
        if st.operator is None:
            # The audit event names who abandoned it: nobody may do it anonymously.
            return error("scan your badge first: abandoning is recorded with your name")
        d = st.draft
        # The event and the cleared draft are one transaction: a crash or a full disk can
        # leave neither an abandoned draft offered again nor an abandon without its event.
        self.store.append_and_clear_draft(
            "event",
            self._event_body(
                "inspection-abandoned",
                plan={"id": d.plan.id, "rev": d.plan.rev},
                part=d.part.body(),
                measurements=[m.body() for m in d.measurements.values()],
            ),
        )
        st.draft = None
        st.redo = None
        st.mode = Mode.READY if st.operator else Mode.IDLE
        return warn(f"inspection of part {d.part.number} abandoned")

    # -- completion ------------------------------------------------------------------------

    def _complete(self, d: Draft, replaced: dict[str, Any] | None, m: Measurement) -> Notice:
        """Record the inspection `d` (every sample taken), then make it the state.

        Raises:
            StoreError: nothing of the inspection was recorded; the state is unchanged.
        """
        st = self.state
        body = inspection_body(
            plan=d.plan,
            part_number=d.part.number,
            operator=d.operator,
            reason=d.reason,
            started=d.started,
            completed=max(self.clock(), d.started),
            measurements=d.measurements.values(),
            serial=d.part.serial,
            lot=d.part.lot,
            scan=d.part.scan,
        )
        result = str(body["result"])
        if replaced is not None:
            # Its own commit before the inspection's: if the inspection then fails, the trail
            # holds one replacement too many, never one too few.
            self.store.append("event", replaced)
        rec = self.store.append_and_clear_draft(
            "inspection",
            body,
            next_draft=(lambda r: {"schema": NC_OWED_SCHEMA, "inspection_seq": r.seq})
            if result == "reject"
            else None,
        )
        st.draft = None
        st.redo = None
        st.last_key = (m.characteristic, m.sample)
        st.last_measurement = m
        st.last_inspection = rec
        if result == "reject":
            st.nc_for = rec
        try:
            st.spc_alerts += check_after_part(self.store, d.plan, d.operator)
        except StoreError as exc:
            # The inspection is recorded; a signal must not be missed because the store
            # could not be read: the next part of the plan waits for an acknowledgement.
            log.warning("SPC not evaluated after %s: %s", rec.id, exc)
            st.spc_alerts.append(
                SpcAlert(
                    d.plan.id,
                    d.plan.rev,
                    "*",
                    "spc-error",
                    f"SPC rules not evaluated: {exc}",
                    "location",
                    [],
                    [],
                )
            )
        spc = " SPC signal: acknowledge it." if st.spc_alerts else ""
        if result == "reject":
            st.mode = Mode.NONCONFORMANCE
            return bad_news(f"part {d.part.number} REJECTED: describe the nonconformance.{spc}")
        st.mode = Mode.SPC_SIGNAL if st.spc_alerts else Mode.READY
        if result == "indeterminate":
            return warn(
                f"part {d.part.number} {indeterminate_step(self.config.station.indeterminate)}{spc}"
            )
        return ok(f"part {d.part.number} ACCEPTED.{spc or ' Scan the next part.'}")

    def failed_characteristics(self) -> list[str]:
        """Characteristic ids that failed in the inspection awaiting its NC."""
        rec = self.state.nc_for
        if rec is None:
            return []
        ms = rec.body["measurements"]
        return sorted({str(m["characteristic"]) for m in ms if m["verdict"] == "fail"})

    def submit_nonconformance(self, reason_code: str, description: str) -> Notice:
        """Raise the NC for the rejected inspection (`nonconformance` record)."""
        st = self.state
        rec = st.nc_for
        if st.mode is not Mode.NONCONFORMANCE or rec is None or st.operator is None:
            return error("no rejected inspection is waiting for a nonconformance")
        if reason_code not in NC_REASONS:
            return error(f"unknown reason code {reason_code!r}: pick one of the list")
        text = description.strip()
        if not text:
            return error("describe the nonconformance (free text is required)")
        body = {
            "inspection": rec.id,
            "part": rec.body["part"],
            "characteristics": self.failed_characteristics(),
            "description": text,
            "reason_code": reason_code,
            "disposition": "pending",
            "operator": st.operator.id,
        }
        try:
            nc = self.store.append_and_clear_draft("nonconformance", body)
        except StoreError as exc:
            return error(f"nonconformance not saved: {exc}")
        st.nc_for = None
        st.mode = Mode.SPC_SIGNAL if st.spc_alerts else Mode.READY
        nxt = "acknowledge the SPC signal" if st.spc_alerts else "scan the next part"
        return ok(f"nonconformance recorded (seq {nc.seq}): {nxt}")

    # -- SPC -------------------------------------------------------------------------------

    def acknowledge_spc(self, cause: str, text: str) -> Notice:
        """Acknowledge every pending SPC signal with an assignable cause (`spc-signal` events)."""
        st = self.state
        if not st.spc_alerts:
            return info("no SPC signal is waiting")
        if cause not in SPC_CAUSES:
            return error(f"unknown cause {cause!r}: pick one of the list")
        if cause == "other" and not text.strip():
            return error("describe the cause (free text is required with 'other')")
        bodies: list[tuple[RecordType, dict[str, Any]]] = []
        op = st.operator.id if st.operator else None
        for a in st.spc_alerts:
            detail = {
                "plan": {"id": a.plan_id, "rev": a.rev},
                "characteristic": a.characteristic,
                "rule": a.rule,
                "message": a.message,
                "chart": a.chart,
                "points": a.values,
                "indices": a.indices,
                "cause": cause,
                "text": text.strip(),
            }
            bodies.append(("event", {"kind": "spc-signal", "operator": op, "detail": detail}))
        self.store.append_many(bodies)
        n = len(st.spc_alerts)
        st.spc_alerts = []
        if st.mode is Mode.SPC_SIGNAL:
            st.mode = Mode.READY if st.operator else Mode.IDLE
        return ok(f"{n} SPC signal(s) acknowledged ({cause}): scan the next part")

    def spc_view(self, characteristic_id: str) -> SpcView | None:
        """Chart, limits and capability of a characteristic of the current plan."""
        plan = self.state.plan
        if plan is None:
            return None
        try:
            c = plan.characteristic(characteristic_id)
        except KeyError:
            return None
        return view(self.store, plan, c)

    # -- instrument check ----------------------------------------------------------------

    def start_check(self) -> Notice:
        """Enter instrument-check mode."""
        st = self.state
        if st.operator is None:
            return error("scan your badge first")
        if st.mode is Mode.NONCONFORMANCE:
            return error("describe the nonconformance of the rejected part first")
        if st.draft is not None:
            return error("finish or abandon (F8) the inspection in progress first")
        st.mode = Mode.CHECK
        st.check = InstrumentCheck()
        return info("instrument check: scan the instrument to check")

    def leave_check(self) -> Notice:
        """Leave instrument-check mode (an unfinished check records nothing)."""
        st = self.state
        if st.mode is not Mode.CHECK:
            return info("not in instrument-check mode")
        if st.check is not None:
            problem = st.check.write_suspect(self)
            if problem is not None:
                return error(
                    "the suspect list of the failed check is not saved yet: the check "
                    "cannot be left until it is (press Esc again once the store recovers)",
                    problem,
                )
        unfinished = st.check is not None and not st.check.done and bool(st.check.readings)
        st.check = None
        st.mode = Mode.READY
        return (
            warn("instrument check left unfinished: nothing recorded")
            if unfinished
            else info("scan a part")
        )

    # -- resume ----------------------------------------------------------------------------

    def _restore_spc_alerts(self) -> None:
        """Re-raise SPC signals that were not acknowledged before the bench stopped.

        For each plan among the recent inspections, the rules are evaluated again at that
        plan's last inspection; a signal counts as acknowledged when an `spc-signal` event
        follows that inspection in the record stream.
        """
        latest: dict[tuple[str, str], Record] = {}
        for rec in self.store.recent_inspections(50):  # newest first
            key = (str(rec.body["plan"]["id"]), str(rec.body["plan"]["rev"]))
            latest.setdefault(key, rec)
        for (pid, rev), rec in latest.items():
            plan = next((p for p in self.master.plans if p.id == pid and p.rev == rev), None)
            if plan is None or not any(c.spc for c in plan.characteristics):
                continue
            if not self.store.event_after("spc-signal", rec.seq):
                self.state.spc_alerts += check_after_part(self.store, plan, None)

    def load_unfinished(self) -> Notice | None:
        """At start: load a saved draft or owed NC, and unacknowledged SPC signals."""
        self._restore_spc_alerts()
        doc = self.store.load_draft()
        if doc is None:
            if self.state.spc_alerts:
                return warn("an SPC signal awaits its assignable cause: log in to give it")
            return None
        if doc.get("schema") == NC_OWED_SCHEMA:
            rec = self.store.record(int(doc.get("inspection_seq", 0)))
            if rec is None or rec.type != "inspection":
                self.store.append_and_clear_draft(
                    "event",
                    self._event_body(
                        "draft-unreadable", error="owed NC names no inspection", draft=doc
                    ),
                )
                return error("a nonconformance was owed but its inspection is missing")
            self.state.nc_for = rec
            part = rec.body["part"]["number"]
            return warn(f"part {part} was rejected: log in and describe the nonconformance")
        try:
            self.state.draft = draft_from_doc(doc, self.master.plans)
        except (ValueError, KeyError, TypeError) as exc:
            self.store.append_and_clear_draft(
                "event", self._event_body("draft-unreadable", error=str(exc), draft=doc)
            )
            return error(f"the unfinished inspection could not be resumed: {exc}")
        d = self.state.draft
        self.state.plan = d.plan
        n = len(d.measurements)
        return warn(
            f"unfinished inspection of part {d.part.number} (plan {d.plan.id} rev {d.plan.rev}, "
            f"{n} reading(s) taken): log in as {d.operator} to resume it, "
            "or log in and abandon it (F8)"
        )


__all__ = ["NC_REASONS", "SPC_CAUSES", "BenchState", "Mode", "Workflow"]
