"""The bench workflow: badge, part, instrument, readings, completion, nonconformance.

This is the bench's logic without any UI: the Textual app calls these methods from scans, key
presses and driver readings and re-renders from the state they leave. Every rule that makes
the bench "impossible to use wrongly" lives behind this one class, so Pilot tests, the tmux
test and the chaos run drive the very same code:

- the operator gate (active, every qualification the plan requires, unexpired) and the
  session (`station.bench.session`);
- only the `released` plan revision for a part, the storage budget, the draft and the audit
  trail of replaced readings (`station.bench.inspecting`);
- the calibration interlock: no reading from an unfit instrument is ever accepted
  (ISO 9001 7.1.5.2; `station.bench.binding`, `station.bench.readings`);
- the inspection record, SPC signals and nonconformances (`station.bench.completion`);
- instrument checks and suspect lists (`station.bench.checking` over
  `station.bench.checkmode`);
- calibrations to a released procedure, as-found and as-left, and the re-judgement of
  earlier parts after an as-found failure (`station.bench.calibrating` over
  `station.bench.calmode` and `station.bench.calsuspect`);
- gauge studies (Type-1, R&R, attribute agreement) and their appraiser switches
  (`station.bench.studying` over `station.bench.studymode`);
- what was left unfinished at the last stop (`station.bench.resume`).

Each concept is a module of functions over one `BenchContext` (store, config, clock, master
data, state); `Workflow` owns the context and routes to them. Every step writes first and
changes its state only once the write is committed: when the store fails (disk full,
read-only card) the operator is told nothing was recorded, and nothing of it turns up later
(issue 13.7).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from typing import Any, TypeVar

from drivers.base import Reading
from station.bench import (
    binding,
    calibrating,
    checking,
    completion,
    inspecting,
    override,
    readings,
    resume,
    signing,
    studying,
)
from station.bench.audit import DEFAULT_WINDOW_S, AttemptLog
from station.bench.binding import PollInput
from station.bench.caldraft import is_calibration_doc, is_suspect_owed_doc
from station.bench.context import BenchContext
from station.bench.debounce import Debouncer
from station.bench.interlock import Refusal
from station.bench.notice import Notice, error
from station.bench.spc_watch import SPC_CAUSES, SpcView
from station.bench.state import NC_OWED_SCHEMA, NC_REASONS, BenchState, Mode
from station.bench.studydraft import is_study_doc
from station.core.fitness import Fitness
from station.core.model import Characteristic, Instrument, MasterData
from station.core.scan import (
    InstrumentScan,
    OperatorScan,
    PartScan,
    StandardScan,
    UnknownScan,
    classify_scan,
    normalize,
)
from station.settings import Config
from station.store import Store

R = TypeVar("R", bound=PollInput)


class Workflow:
    """The bench's rules over one store, one config and a clock; the arguments are those of
    `BenchContext`, which the workflow owns and each concept module works on."""

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
        self.ctx = BenchContext(
            store, config, clock, reason=reason, monotonic=monotonic, audit_window_s=audit_window_s
        )
        self.ctx.logout = self.logout

    # -- what the context holds ------------------------------------------------------------

    @property
    def store(self) -> Store:
        return self.ctx.store

    @property
    def config(self) -> Config:
        return self.ctx.config

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.ctx.clock

    @property
    def reason(self) -> str:
        return self.ctx.reason

    @property
    def monotonic(self) -> Callable[[], float]:
        return self.ctx.monotonic

    @property
    def attempts(self) -> AttemptLog:
        return self.ctx.attempts

    @property
    def debounce(self) -> Debouncer:
        return self.ctx.debounce

    @property
    def state(self) -> BenchState:
        """Everything the screen shows (replaced as a whole at logout)."""
        return self.ctx.state

    @state.setter
    def state(self, value: BenchState) -> None:
        self.ctx.state = value

    @property
    def master(self) -> MasterData:
        """The master-data snapshot the bench judges with (see `refresh_master`)."""
        return self.ctx.master

    @master.setter
    def master(self, value: MasterData) -> None:
        self.ctx.master = value

    @property
    def zone(self) -> tzinfo:
        """The site's `[station] timezone`: calendar dates (cal_due, expiry) are judged in it."""
        return self.ctx.zone

    def refresh_master(self) -> None:
        """Re-read master data when the sync daemon has applied new versions since last time."""
        self.ctx.refresh_master()

    def record_attempt(self, kind: str, subject: str, **detail: Any) -> None:
        """A refused attempt as an `event` record, rate-limited; never raises."""
        self.ctx.record_attempt(kind, subject, **detail)

    def fixed_instrument(self, input_name: str) -> str | None:
        """The instrument the config fixes to `input_name`, if any."""
        return self.ctx.fixed_instrument(input_name)

    def bound_instrument_id(self, input_name: str) -> str | None:
        """The instrument currently bound to an input: fixed in the config, else scanned."""
        return self.ctx.bound_instrument_id(input_name)

    def fitness(self, instrument: Instrument, characteristic: Characteristic | None) -> Fitness:
        """The calibration interlock for `instrument` now (and for `characteristic`)."""
        return self.ctx.fitness(instrument, characteristic)

    def pending_samples(self) -> tuple[tuple[Characteristic, int], ...]:
        """(characteristic, sample) still to take in the current inspection."""
        return self.ctx.pending_samples()

    # -- the interlock per input (issue 12.1) ----------------------------------------------

    def input_refusal(self, input_name: str) -> str | None:
        """None when `input_name` may take a reading now, else the full reason it takes none."""
        return binding.input_refusal(self.ctx, input_name)

    def refuse_inputs(self, refusal: Refusal, *, bound_to: str | None = None) -> list[str]:
        """Make scan-bound inputs take no reading until a fit instrument is scanned."""
        return binding.refuse_inputs(self.ctx, refusal, bound_to=bound_to)

    # -- scans, readings, keys -------------------------------------------------------------

    def scan(self, raw: str) -> Notice:
        """Handle one scan (badge, part, instrument or standard)."""
        ctx = self.ctx
        ctx.refresh_master()
        s = classify_scan(raw, ctx.master)
        if isinstance(s, (PartScan, UnknownScan)):
            # A procedure sheet: not in `classify_scan`'s kinds, so matched here, after
            # badges, instruments and standards (contract station.md, "Bench interaction").
            text = normalize(raw).text
            if any(p.id == text for p in ctx.master.procedures):
                if ctx.state.operator is None:
                    return error("scan your badge first")
                if ctx.state.study is not None or studying.is_study_procedure(ctx, text):
                    return studying.procedure_scan(ctx, text)
                return calibrating.procedure_scan(ctx, text)
        study_on = ctx.state.study is not None and ctx.state.sign_request is None
        if study_on and ctx.state.operator is not None and not isinstance(s, OperatorScan):
            return studying.scan(ctx, s, raw)  # part labels, the instrument, the standard
        if isinstance(s, UnknownScan):
            return error(s.message)
        if isinstance(s, OperatorScan):
            return signing.badge(ctx, s.operator, studying.badge)
        if ctx.state.sign_request is not None:
            return signing.busy(ctx)
        st = ctx.state
        if st.operator is None:
            return error("scan your badge first")
        cal = st.calibration if st.mode is Mode.CALIBRATION else None
        if isinstance(s, InstrumentScan):
            if cal is not None:
                return calibrating.instrument_scan(ctx, cal, s.instrument)
            if st.mode is Mode.CHECK and st.check is not None:
                return checking.check_instrument_scan(ctx, st.check, s.instrument)
            return binding.select_instrument(ctx, s.instrument)
        if isinstance(s, StandardScan):
            if cal is not None:
                return calibrating.standard_scan(ctx, cal, s.standard)
            if st.mode is not Mode.CHECK or st.check is None:
                return error(
                    f"standard {s.standard.id} scanned outside instrument-check mode: "
                    "press F6 to check an instrument first"
                )
            return checking.check_standard_scan(ctx, st.check, s.standard)
        assert isinstance(s, PartScan)
        return inspecting.start(ctx, s)

    def logout(self, why: str) -> Notice:
        """Log the operator out; an inspection in progress stays saved for resumption."""
        return studying.logout(self.ctx, why)

    def reading(self, input_name: str, r: Reading) -> Notice:
        """A value arrived from an input's driver: judge it and record it, or refuse it."""
        if self.ctx.state.sign_request is not None:
            return signing.busy(self.ctx)
        if self.ctx.state.study is not None and self.ctx.state.mode is Mode.STUDY:
            return studying.reading(self.ctx, input_name, r)
        return readings.reading(self.ctx, input_name, r)

    def judge_attribute(self, passed: bool) -> Notice:
        """The operator's pass/fail for the next attribute characteristic (or the redo one)."""
        if self.ctx.state.sign_request is not None:
            return signing.busy(self.ctx)
        if self.ctx.state.study is not None and self.ctx.state.mode is Mode.STUDY:
            return studying.decision(self.ctx, passed)
        return inspecting.judge_attribute(self.ctx, passed)

    def redo(self, reason: str | None = None, note: str = "") -> Notice:
        """Let the next value replace the last one taken (before completion); `reason` (a
        code of `REDO_REASONS`) is required when `[signatures] required` lists "redo"."""
        if self.ctx.state.sign_request is not None:
            return signing.busy(self.ctx)
        if self.ctx.state.study is not None and self.ctx.state.mode is Mode.STUDY:
            return studying.redo(self.ctx, reason, note)
        return inspecting.redo(self.ctx, reason, note)

    def redo_needs_reason(self) -> bool:
        """True when a redo (of an inspection or a study reading) is signed: it needs a code."""
        return signing.needs(self.ctx, "redo")

    def abandon(self) -> Notice:
        """Abandon the inspection in progress (recorded as an event, never silently)."""
        return inspecting.abandon(self.ctx)

    # -- completion, nonconformance, SPC ---------------------------------------------------

    def failed_characteristics(self) -> list[str]:
        """Characteristic ids that failed in the inspection awaiting its NC."""
        return completion.failed_characteristics(self.ctx)

    def submit_nonconformance(self, reason_code: str, description: str) -> Notice:
        """Raise the NC for the rejected inspection (`nonconformance` record)."""
        return completion.submit_nonconformance(self.ctx, reason_code, description)

    def acknowledge_spc(self, cause: str, text: str) -> Notice:
        """Acknowledge every pending SPC signal with an assignable cause (`spc-signal` events)."""
        return completion.acknowledge_spc(self.ctx, cause, text)

    def spc_view(self, characteristic_id: str) -> SpcView | None:
        """Chart, limits and capability of a characteristic of the current plan."""
        return completion.spc_view(self.ctx, characteristic_id)

    # -- signatures (21 CFR Part 11) and the interlock's override (`bench.signing`) --------

    def sign(self, pin: str) -> Notice:
        """The PIN for the pending signature (checked here: blocks for the scrypt cost)."""
        return signing.submit_pin(self.ctx, pin)

    def sign_badge(self, raw: str) -> Notice:
        """A scan in the signing dialog's badge field: a badge goes on as any scan; anything
        else is refused without quoting it, since an operator may have typed the PIN there."""
        ctx = self.ctx
        ctx.refresh_master()
        if ctx.state.sign_request is not None and not isinstance(
            classify_scan(raw, ctx.master), OperatorScan
        ):
            return error(
                "that was not a badge: scan your badge, then type the PIN in the PIN field",
                "(what was typed is not shown: it may have been a PIN)",
            )
        return self.scan(raw)

    def cancel_signature(self) -> Notice:
        """Drop the pending signature: what needed it is not recorded."""
        return signing.cancel(self.ctx)

    def request_override(self, reason: str, instrument_id: str | None = None) -> Notice:
        """Ask for the signed override of the refused instrument for the current part."""
        return override.request_override(self.ctx, reason, instrument_id)

    # -- instrument check ------------------------------------------------------------------

    def start_check(self) -> Notice:
        """Enter instrument-check mode."""
        if self.ctx.state.calibration is not None:
            return error("finish or leave the calibration first (Esc)")
        if self.ctx.state.study is not None:
            return error("finish or leave the gauge study first (Esc)")
        return checking.start_check(self.ctx)

    def leave_check(self) -> Notice:
        """Leave instrument-check mode (an unfinished check records nothing)."""
        return checking.leave_check(self.ctx)

    # -- calibration -----------------------------------------------------------------------

    def leave_calibration(self) -> Notice:
        """Leave calibration mode (an unfinished calibration is abandoned: an event)."""
        return calibrating.leave(self.ctx)

    def leave_study(self) -> Notice:
        """Leave study mode (an unrecorded study is abandoned: an event)."""
        return studying.leave(self.ctx)

    # -- resume ----------------------------------------------------------------------------

    def load_unfinished(self) -> Notice | None:
        """At start: load a saved draft, calibration or owed NC, and unacknowledged SPC
        signals."""
        doc = self.ctx.store.load_draft()
        if is_suspect_owed_doc(doc):
            assert doc is not None
            resume.restore_spc_alerts(self.ctx)
            return calibrating.resume_owed_suspect(self.ctx, doc)
        if is_study_doc(doc):
            assert doc is not None
            resume.restore_spc_alerts(self.ctx)
            return studying.resume(self.ctx, doc)
        if is_calibration_doc(doc):
            assert doc is not None
            resume.restore_spc_alerts(self.ctx)
            return calibrating.resume(self.ctx, doc)
        return resume.load_unfinished(self.ctx)


def poll_targets(wf: Workflow, readers: Sequence[R]) -> tuple[list[R], str]:
    """The poll input a poll key should ask, from what the workflow waits for
    (see `station.bench.binding.poll_inputs_for`)."""
    return binding.poll_inputs_for(wf.ctx, readers)


__all__ = [
    "NC_OWED_SCHEMA",
    "NC_REASONS",
    "SPC_CAUSES",
    "BenchState",
    "Mode",
    "Workflow",
    "poll_targets",
]
