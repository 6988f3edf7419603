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
- every replaced reading stays in the audit trail (`reading-replaced` event, Part 11 style).

Readings are stored durably as they are taken (the draft), so an unfinished inspection is
offered for resumption after a crash or power cut.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from drivers.base import Reading
from station.bench.checkmode import InstrumentCheck
from station.bench.draft import Draft, PartInfo, draft_from_doc
from station.bench.notice import Notice, error, info, ok, warn
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


class Workflow:
    """The bench's rules over one store, one config and a clock.

    Args:
        store: the record store (used from the calling thread only).
        config: the station config (inputs and their fixed instruments).
        clock: returns the current UTC-aware datetime; tests pass a fixed one.
        reason: the inspection reason written into records ("production", "first-article"…).
    """

    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Callable[[], datetime],
        *,
        reason: str = "production",
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.reason = reason
        self.state = BenchState()
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

    def _event(self, kind: str, **detail: Any) -> Record:
        op = self.state.operator.id if self.state.operator else None
        return self.store.append("event", {"kind": kind, "operator": op, "detail": detail})

    def fixed_instrument(self, input_name: str) -> str | None:
        """The instrument the config fixes to `input_name`, if any."""
        for i in self.config.inputs:
            if i.name == input_name:
                return i.instrument
        return None

    def bound_instrument_id(self, input_name: str) -> str | None:
        """The instrument currently bound to an input: fixed in the config, else scanned."""
        return self.fixed_instrument(input_name) or self.store.bindings().get(input_name)

    def fitness(self, instrument: Instrument, characteristic: Characteristic | None) -> Fitness:
        """The calibration interlock for `instrument` now (and for `characteristic`)."""
        last = self.store.last_passing_check(instrument.id)
        return assess_instrument(
            instrument,
            now=self.clock(),
            characteristic=characteristic,
            local_quarantine_reason=self.store.local_quarantines().get(instrument.id),
            last_passing_check_at=None if last is None else parse_ts(last.ts),
        )

    def pending_samples(self) -> tuple[tuple[Characteristic, int], ...]:
        """(characteristic, sample) still to take in the current inspection."""
        d = self.state.draft
        return () if d is None else pending(d.plan, d.measurements.values())

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
            return self.state.check.set_standard(s.standard, self.clock())
        assert isinstance(s, PartScan)
        return self._part(s)

    def _badge(self, operator: Operator) -> Notice:
        current = self.state.operator
        if current is not None:
            if current.id == operator.id:
                return self.logout("badge scanned again")
            return error(
                f"{current.name} ({current.id}) is logged in: scan that badge to log out first"
            )
        if not operator.active:
            return error(f"operator {operator.id} ({operator.name}) is not active: login refused")
        self.state.operator = operator
        self.state.mode = Mode.READY
        self._event("login", badge=operator.badge)
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
        self._event("logout", why=why)
        kept = self.state.draft is not None
        # The inspection in progress and unacknowledged SPC signals outlive the session.
        self.state = BenchState(
            draft=self.state.draft,
            plan=self.state.plan,
            spc_alerts=self.state.spc_alerts,
            nc_for=self.state.nc_for,
        )
        tail = ": the unfinished inspection is kept" if kept else ""
        return info(f"{op.name} logged out ({why}){tail}")

    def _instrument(self, instrument: Instrument) -> Notice:
        if self.state.mode is Mode.CHECK and self.state.check is not None:
            return self.state.check.set_instrument(instrument, self)
        fit = self.fitness(instrument, None)
        if not fit.usable:
            self.state.selected_instrument = None
            return error(f"instrument {instrument.id} is blocked", *fit.reasons)
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
        gate = assess_operator(st.operator, s.plan, self.clock())
        if not gate.allowed:
            return error(f"{st.operator.name} may not inspect plan {s.plan.id}", *gate.reasons)
        try:
            self.store.check_can_start_inspection()
        except StorageBudgetExceeded as exc:
            return error("new inspections are refused", str(exc))
        st.draft = Draft(
            operator=st.operator.id,
            plan=s.plan,
            part=PartInfo(s.part_number, s.serial, s.lot, s.raw or None),
            started=self.clock(),
            reason=self.reason,
            measurements={},
        )
        st.plan = s.plan
        st.mode = Mode.INSPECTING
        st.redo = None
        st.last_key = None
        st.last_measurement = None
        self.store.save_draft(st.draft.to_doc())
        where = f" serial {s.serial}" if s.serial else ""
        return ok(f"part {s.part_number}{where}: plan {s.plan.id} rev {s.plan.rev}", *gate.warnings)

    # -- readings --------------------------------------------------------------------------

    def reading(self, input_name: str, r: Reading) -> Notice:
        """A value arrived from an input's driver: judge it and record it, or refuse it."""
        st = self.state
        shown = f"{r.value:g} {r.unit or ''}".strip()
        if st.mode is Mode.CHECK and st.check is not None:
            return st.check.add_reading(input_name, r, self)
        if st.mode is not Mode.INSPECTING or st.draft is None:
            return warn(f"reading {shown} from input {input_name} ignored: {st.mode.value}")
        self.refresh_master()
        instrument, why = self._instrument_for(input_name)
        if instrument is None:
            return error(f"reading {shown} from input {input_name} refused: {why}")
        target = self._target_for(instrument)
        if isinstance(target, Notice):
            return target
        characteristic, sample = target
        fit = self.fitness(instrument, characteristic)
        if not fit.usable:
            self._event(
                "reading-refused",
                input=input_name,
                instrument=instrument.id,
                raw=r.raw,
                reasons=list(fit.reasons),
            )
            return error(f"reading refused: instrument {instrument.id} is blocked", *fit.reasons)
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
            return error(f"reading {shown} refused: {exc}")
        notice = self._accept(m)
        return notice if not fit.warnings else warn(notice.text, *fit.warnings)

    def _instrument_for(self, input_name: str) -> tuple[Instrument | None, str]:
        st = self.state
        if st.selected_instrument is not None and self.fixed_instrument(input_name) is None:
            self.store.bind_instrument(input_name, st.selected_instrument.id)
            st.selected_instrument = None
        iid = self.bound_instrument_id(input_name)
        if iid is None:
            return None, "no instrument bound to it: scan the instrument's label first"
        instrument = self.master.instrument(iid)
        if instrument is None:
            return None, f"instrument {iid} is not in the master data"
        return instrument, ""

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
        st = self.state
        assert st.draft is not None
        key = (m.characteristic, m.sample)
        old = st.draft.measurements.get(key)
        if old is not None:
            # The replaced value stays in the audit trail (21 CFR 11.10(e) spirit).
            self._event(
                "reading-replaced",
                plan=st.draft.plan.id,
                part=st.draft.part.body(),
                old=old.body(),
                new=m.body(),
            )
        st.draft.measurements[key] = m
        st.redo = None
        st.last_key = key
        st.last_measurement = m
        if plan_result(st.draft.plan, st.draft.measurements.values()) is not None:
            return self._complete()
        self.store.save_draft(st.draft.to_doc())
        shown = f"{m.value:g} {m.unit}" if m.kind == "variable" else m.verdict
        return Notice(
            "ok" if m.verdict == "pass" else "warn" if m.verdict == "indeterminate" else "error",
            f"{m.characteristic} #{m.sample}: {shown} -> {m.verdict.upper()}",
        )

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
        self._event(
            "inspection-abandoned",
            plan={"id": d.plan.id, "rev": d.plan.rev},
            part=d.part.body(),
            measurements=[m.body() for m in d.measurements.values()],
        )
        self.store.clear_draft()
        st.draft = None
        st.redo = None
        st.mode = Mode.READY if st.operator else Mode.IDLE
        return warn(f"inspection of part {d.part.number} abandoned")

    # -- completion ------------------------------------------------------------------------

    def _complete(self) -> Notice:
        st = self.state
        d = st.draft
        assert d is not None
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
        rec = self.store.append_and_clear_draft(
            "inspection",
            body,
            next_draft=(lambda r: {"schema": NC_OWED_SCHEMA, "inspection_seq": r.seq})
            if result == "reject"
            else None,
        )
        st.draft = None
        st.last_inspection = rec
        st.spc_alerts += check_after_part(self.store, d.plan, d.operator)
        spc = " SPC signal: acknowledge it." if st.spc_alerts else ""
        if result == "reject":
            st.nc_for = rec
            st.mode = Mode.NONCONFORMANCE
            return error(f"part {d.part.number} REJECTED: describe the nonconformance.{spc}")
        st.mode = Mode.SPC_SIGNAL if st.spc_alerts else Mode.READY
        if result == "indeterminate":
            return warn(f"part {d.part.number} INDETERMINATE (within the guard band).{spc}")
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
                self._event("draft-unreadable", error="owed NC names no inspection", draft=doc)
                self.store.clear_draft()
                return error("a nonconformance was owed but its inspection is missing")
            self.state.nc_for = rec
            part = rec.body["part"]["number"]
            return warn(f"part {part} was rejected: log in and describe the nonconformance")
        try:
            self.state.draft = draft_from_doc(doc, self.master.plans)
        except (ValueError, KeyError, TypeError) as exc:
            self._event("draft-unreadable", error=str(exc), draft=doc)
            self.store.clear_draft()
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
