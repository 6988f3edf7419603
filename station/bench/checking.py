"""The workflow's side of instrument-check mode: the writes the check decides, in safe order.

`station.bench.checkmode.InstrumentCheck` holds the check and decides what to record; this
module performs the writes and only then tells the check they happened. The order fails safe
(ISO 9001 7.1.5.2: equipment found unfit must not be used): on a fail the local quarantine is
committed before the `instrument-check` record, so a crash between the two can leave a
quarantined instrument without its check record, never a failed instrument in use; then the
inputs bound to it are refused and the suspect list is written (owed until it is, and the
check cannot be left before).
"""

from __future__ import annotations

import logging

from drivers.base import Reading
from station.bench.binding import refuse_inputs
from station.bench.checkmode import CheckCompletion, InstrumentCheck
from station.bench.context import BenchContext
from station.bench.notice import Notice, error, info, warn
from station.bench.state import Mode
from station.core.model import Instrument, Standard
from station.store import StoreError

log = logging.getLogger(__name__)


def start_check(ctx: BenchContext) -> Notice:
    """Enter instrument-check mode."""
    st = ctx.state
    if st.operator is None:
        return error("scan your badge first")
    if st.mode is Mode.NONCONFORMANCE:
        return error("describe the nonconformance of the rejected part first")
    if st.draft is not None:
        return error("finish or abandon (F8) the inspection in progress first")
    st.mode = Mode.CHECK
    st.check = InstrumentCheck()
    return info("instrument check: scan the instrument to check")


def leave_check(ctx: BenchContext) -> Notice:
    """Leave instrument-check mode (an unfinished check records nothing)."""
    st = ctx.state
    if st.mode is not Mode.CHECK:
        return info("not in instrument-check mode")
    if st.check is not None:
        problem = write_suspect(ctx, st.check)
        if problem is not None:
            return error(
                "the suspect list of the failed check is not saved yet: the check "
                "cannot be left until it is (press Esc again once the store recovers)",
                problem,
            )
    unfinished = st.check is not None and st.check.unfinished
    st.check = None
    st.mode = Mode.READY
    return (
        warn("instrument check left unfinished: nothing recorded")
        if unfinished
        else info("scan a part")
    )


def check_instrument_scan(ctx: BenchContext, check: InstrumentCheck, inst: Instrument) -> Notice:
    """The instrument to check scanned; a refusal is recorded as an attempt."""
    notice, attempt = check.set_instrument(
        inst,
        now=ctx.clock(),
        zone=ctx.zone,
        quarantine_reason=ctx.store.local_quarantines().get(inst.id),
        operator=ctx.state.operator,
        plans=ctx.master.plans,
    )
    if attempt is not None:
        ctx.record_attempt(attempt.kind, attempt.subject, **attempt.detail)
    return notice


def check_standard_scan(ctx: BenchContext, check: InstrumentCheck, standard: Standard) -> Notice:
    """The reference standard scanned."""
    return check.set_standard(standard, ctx.clock(), ctx.zone)


def check_reading(ctx: BenchContext, check: InstrumentCheck, input_name: str, r: Reading) -> Notice:
    """One reading of the standard; the last one completes (and records) the check.

    Raises:
        StoreError: the input could not be bound to the instrument checked; nothing changed.
    """
    fixed = ctx.fixed_instrument(input_name)
    refused = check.refuse_reading(input_name, fixed)
    if refused is not None:
        return refused
    assert check.instrument is not None
    inst = check.instrument
    if fixed is None and ctx.store.bindings().get(input_name) != inst.id:
        ctx.store.bind_instrument(input_name, inst.id)
    step = check.add_reading(input_name, r, ctx.state.operator)
    if isinstance(step, Notice):
        return step
    try:
        return _record(ctx, check, step)
    except StoreError as exc:
        # Nothing of the check is recorded (or, on a fail, only the quarantine: safe);
        # the reading is not kept, so the next one retries the completion.
        return error(
            f"check of {inst.id} NOT recorded: the record store failed; "
            "take the last reading again",
            str(exc),
        )


def _record(ctx: BenchContext, check: InstrumentCheck, done: CheckCompletion) -> Notice:
    """Write the completed check (quarantine first on a fail), then its consequences."""
    assert check.instrument is not None
    inst = check.instrument
    previous = ctx.store.last_passing_check(inst.id)
    if done.quarantine is not None:
        ctx.store.quarantine_instrument(inst.id, done.quarantine, done.operator)
    result = ctx.store.append("instrument-check", done.body)
    check.recorded(done, result, previous)
    if not done.failed:
        for name in check.inputs:
            # Read on this input and checked fit just now: it is the one in hand.
            ctx.state.refusals.pop(name, None)
        return check.passed_notice(done, ctx.clock())
    try:
        refuse_inputs(ctx, check.failed_refusal(), bound_to=inst.id)
    except StoreError as exc:  # the local quarantine refuses its readings anyway
        log.warning("inputs of %s not unbound after its failed check: %s", inst.id, exc)
    return check.failed_notice(done, write_suspect(ctx, check))


def write_suspect(ctx: BenchContext, check: InstrumentCheck) -> str | None:
    """Write the owed suspect record; None when written (or none owed), else why not.

    Reverse traceability by record order: every inspection with the instrument recorded
    after its last passing check (`Store.inspections_using_after`).
    """
    after_seq = check.owed_suspect_after()
    if after_seq is None:
        return None
    assert check.instrument is not None
    try:
        using = ctx.store.inspections_using_after(check.instrument.id, after_seq)
        suspect = ctx.store.append("suspect", check.suspect_body(using))
    except StoreError as exc:
        return str(exc)
    check.suspect_written(suspect)
    return None


__all__ = [
    "check_instrument_scan",
    "check_reading",
    "check_standard_scan",
    "leave_check",
    "start_check",
    "write_suspect",
]
