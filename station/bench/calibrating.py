"""The workflow's side of calibration mode: the scans routed, the writes in safe order.

`station.bench.calmode.Calibration` holds the calibration and decides; this module checks
who may calibrate (ISO 9001 7.2 via `station.core.gate`), performs the writes and only then
tells the calibration they happened (issue 13.7). The order fails safe (ISO 9001 7.1.5.2:
equipment found unfit must not be used): on a `fail` the local quarantine is committed
before the `calibration` record, so a crash between the two leaves a quarantined instrument
without its record, never a failed instrument in use. An as-found result that was not
`pass` then owes the `suspect` record with the re-judged measurements
(`station.bench.calsuspect`); the calibration cannot be left before it is written.
"""

from __future__ import annotations

import copy
import logging
from datetime import date
from typing import Any

from drivers.base import Reading
from station.bench import jobdraft, signing
from station.bench.binding import refuse_inputs
from station.bench.caldraft import from_doc, point_taken, suspect_owed_doc, to_doc
from station.bench.calmode import Calibration, SeriesComplete
from station.bench.calrecord import completion, table_text
from station.bench.calsuspect import find_suspects, flipped_lines, suspect_body
from station.bench.context import BenchContext
from station.bench.interlock import Refusal
from station.bench.notice import Notice, bad_news, error, info, ok, warn
from station.bench.state import Mode
from station.core.gate import assess_operator
from station.core.model import Instrument, Plan, Procedure, Standard
from station.store import Record, StoreError

log = logging.getLogger(__name__)


def procedure_scan(ctx: BenchContext, procedure_id: str) -> Notice:
    """A procedure sheet scanned: start its calibration, or finish one unadjusted."""
    st = ctx.state
    cal = st.calibration
    if st.mode is Mode.CALIBRATION and cal is not None:
        if cal.procedure.id == procedure_id and cal.as_found_complete and cal.record is None:
            return finish(ctx, cal, None)
        return error(f"calibration to {cal.procedure.id} in progress: {cal.prompt()}")
    if cal is not None:
        return error(f"{cal.operator} left a calibration to {cal.procedure.id} unfinished: {ESC}")
    if st.mode is not Mode.READY or st.draft is not None:
        return error(f"procedure {procedure_id} not started: {st.mode.value} first")
    proc = ctx.master.released_procedure(procedure_id)
    if proc is None:
        return error(f"procedure {procedure_id} has no released revision")
    if proc.kind != "calibration":
        return error(f"procedure {proc.id} is a {proc.kind} study: not run at this bench yet")
    assert st.operator is not None
    gate = assess_operator(st.operator, _as_plan(proc), ctx.clock(), zone=ctx.zone)
    if not gate.allowed:
        reasons = [r.replace(" by plan ", " by procedure ") for r in gate.reasons]
        ctx.record_attempt(
            "calibration-refused",
            f"{st.operator.id} {proc.id}",
            procedure={"id": proc.id, "rev": proc.rev},
            reasons=reasons,
        )
        return error(f"{st.operator.name} may not calibrate to {proc.id}", *reasons)
    cal = Calibration(proc, st.operator.id, ctx.clock())
    try:  # written first, like an inspection's draft: a restart offers it again
        ctx.store.save_draft(to_doc(cal))
    except StoreError as exc:
        return error(f"calibration to {proc.id} not started: the record store failed", str(exc))
    st.calibration = cal
    st.mode = Mode.CALIBRATION
    title = f" ({proc.title})" if proc.title else ""
    return ok(f"procedure {proc.id} rev {proc.rev}{title}: {cal.prompt()}", *gate.warnings)


ESC = "Esc abandons it (recorded as an event)"


def _as_plan(proc: Procedure) -> Plan:
    """The operator gate judges a plan's qualifications; a procedure's are the same kind."""
    return Plan(proc.id, proc.rev, proc.status, (), (), qualifications=proc.qualifications)


def leave(ctx: BenchContext) -> Notice:
    """Leave calibration mode; an unfinished calibration is abandoned (an event, no record)."""
    st = ctx.state
    cal = st.calibration
    if cal is None:
        return info("not in calibration mode")
    problem = write_suspect(ctx, cal)
    if problem is not None:
        return error(
            "the suspect list of the calibration is not saved yet: the calibration cannot "
            "be left until it is (press Esc again once the store recovers)",
            problem,
        )
    if cal.record is None:
        refused = jobdraft.abandon(
            ctx, "calibration", "calibration-abandoned", calibration=to_doc(cal)
        )
        if refused is not None:
            return refused
    st.calibration = None
    if st.mode is Mode.CALIBRATION:
        st.mode = Mode.READY
    if cal.record is None:
        return warn(f"calibration to {cal.procedure.id} abandoned: no calibration recorded")
    return info("scan a part")


def resume(ctx: BenchContext, doc: dict[str, Any]) -> Notice:
    """At start: the calibration in progress when the bench stopped, for its technician."""
    try:
        cal = from_doc(doc, ctx.master)
    except (ValueError, KeyError, TypeError) as exc:
        return jobdraft.unreadable(ctx, doc, exc, "calibration")
    ctx.state.calibration = cal
    return warn(
        f"unfinished calibration to {cal.procedure.id} rev {cal.procedure.rev}: log in as "
        f"{cal.operator} to resume it, or log in and abandon it (Esc)"
    )


def _kept(ctx: BenchContext, cal: Calibration, before: Calibration, notice: Notice) -> Notice:
    return jobdraft.kept(ctx, cal, before, to_doc, notice)


def instrument_scan(ctx: BenchContext, cal: Calibration, inst: Instrument) -> Notice:
    """An instrument scanned: the one under test, its as-left start, or a reference."""
    before = copy.deepcopy(cal)
    return _kept(ctx, cal, before, _instrument_scan(ctx, cal, inst))


def _instrument_scan(ctx: BenchContext, cal: Calibration, inst: Instrument) -> Notice:
    step = cal.step
    if step == "instrument":
        notice, attempt = cal.set_instrument(inst)
        if attempt is not None:
            ctx.record_attempt(attempt.kind, attempt.subject, **attempt.detail)
        return notice
    if step == "decision":
        return cal.start_as_left(inst)
    if step == "done":
        return error(f"instrument {inst.id} not expected: {cal.prompt()}")
    p = cal.point
    if p is not None and p.source == "reference-instrument" and not cal.readings:
        if cal.instrument is not None and inst.id == cal.instrument.id:
            return error(f"{inst.id} is under test: it cannot be its own reference")
        notice = cal.set_reference_instrument(inst, ctx.fitness(inst, None))
        if notice.refused:
            ctx.record_attempt(
                "instrument-refused",
                inst.id,
                instrument=inst.id,
                context="calibration-reference",
                reasons=list(notice.details) or [notice.text],
            )
        return notice
    return error(f"instrument {inst.id} not expected: {cal.prompt()}")


def standard_scan(ctx: BenchContext, cal: Calibration, std: Standard) -> Notice:
    """A standard scanned for the current point; a refusal is an audit event."""
    before = copy.deepcopy(cal)
    notice = cal.set_standard(std, ctx.clock(), ctx.zone)
    if not notice.refused:
        return _kept(ctx, cal, before, notice)
    if notice.refused:
        ctx.record_attempt(
            "standard-refused",
            std.id,
            standard=std.id,
            context="calibration",
            reasons=list(notice.details) or [notice.text],
        )
    return notice


def reading(ctx: BenchContext, cal: Calibration, input_name: str, r: Reading) -> Notice:
    """One reading of the current point; a series' last one judges it (and may record).

    Raises:
        StoreError: the input could not be bound to the instrument read; nothing changed.
    """
    fixed = ctx.fixed_instrument(input_name)
    refused = cal.refuse_reading(input_name, fixed)
    if refused is not None:
        return refused
    expected = cal.reading_instrument
    assert expected is not None
    if fixed is None and ctx.store.bindings().get(input_name) != expected.id:
        ctx.store.bind_instrument(input_name, expected.id)
    before = copy.deepcopy(cal)
    step = cal.add_reading(input_name, r)
    if isinstance(step, Notice):
        return _kept(ctx, cal, before, step)
    if cal.as_left is None and step.verdict != "pass":
        cal.complete_series(step)  # nothing to record yet: the technician decides
        verdict = warn(
            f"AS-FOUND {step.verdict.upper()}: {cal.prompt()}", *table_text(cal.as_found)
        )
        return _kept(ctx, cal, before, verdict)
    return finish(ctx, cal, step)


def finish(
    ctx: BenchContext,
    cal: Calibration,
    done: SeriesComplete | None,
    signatures: list[dict[str, Any]] | None = None,
) -> Notice:
    """Record the calibration (`done`: the series just completed; None: unadjusted)."""
    assert cal.instrument is not None
    inst = cal.instrument
    if signatures is None and signing.needs(ctx, "calibration"):
        # 21 CFR 11.50/11.70: signed first, the signature recorded inside the body.
        again = "take the last reading again" if done is not None else "scan the procedure again"
        return signing.request(
            ctx,
            "calibration",
            f"calibration of {inst.id}",
            lambda sigs: finish(ctx, cal, done, sigs),
            again=again,
        )
    now = ctx.clock()
    c = completion(cal, now, ctx.zone, done)
    if signatures:
        c.body["signatures"] = signatures
    try:
        if c.quarantine is not None:
            ctx.store.quarantine_instrument(inst.id, c.quarantine, cal.operator)
        owed = None
        if not c.as_found_passed:

            def owed(rec: Record) -> dict[str, Any]:
                return suspect_owed_doc(rec, inst.id, cal.procedure.unit)

        record = ctx.store.append_and_clear_draft("calibration", c.body, next_draft=owed)
    except StoreError as exc:
        # Nothing recorded (on a fail at most the quarantine: safe); the last reading (or
        # the procedure scan) retries the completion.
        return error(
            f"calibration of {inst.id} NOT recorded: the record store failed; "
            + ("take the last reading again" if done is not None else "scan the procedure again"),
            str(exc),
        )
    cal.recorded(record, done)
    cal.suspect_owed = not c.as_found_passed
    lines = table_text(cal.as_left if cal.as_left is not None else cal.as_found)
    due = c.body["next_due"]
    if c.result != "fail":
        for name in cal.inputs:
            ctx.state.refusals.pop(name, None)
    else:
        try:
            reason = (f"instrument {inst.id} failed its calibration at this station",)
            refuse_inputs(ctx, Refusal(inst.id, reason), bound_to=inst.id)
        except StoreError as exc:  # the local quarantine refuses its readings anyway
            log.warning("inputs of %s not unbound after its failed calibration: %s", inst.id, exc)
    problem = write_suspect(ctx, cal)
    if c.result == "fail":
        head = f"{inst.id} calibration FAIL: quarantined until the QMS records a new calibration"
    else:
        head = f"{inst.id} calibration {c.result.upper()}: next due {due} (proposed to the QMS)"
    if not cal.suspect_owed and cal.suspect is None:
        return ok(head, *lines)
    tail = _suspect_lines(cal, problem)
    return bad_news(head, *tail, *lines)


def _suspect_lines(cal: Calibration, problem: str | None) -> list[str]:
    if problem is not None:
        return [f"the suspect list is NOT saved yet: press Esc to retry ({problem})"]
    assert cal.suspect is not None
    sb = cal.suspect.body
    n, since = len(sb["inspections"]), sb["since"] or "its first use"
    flipped = len(cal.flipped)
    head = f"{n} inspection(s) since {since} suspect; {flipped} measurement(s) flip"
    return [head + (":" if flipped else ""), *cal.flipped[:10]]


def write_suspect(ctx: BenchContext, cal: Calibration) -> str | None:
    """Write the owed suspect record; None when written (or none owed), else why not."""
    if not cal.suspect_owed:
        return None
    assert cal.instrument is not None and cal.record is not None
    inst = cal.instrument
    try:
        found = find_suspects(
            ctx.store, inst, ctx.zone, [p for p, _ in cal.as_found], cal.procedure.unit
        )
        body = suspect_body(inst.id, cal.record.id, found)
        suspect = ctx.store.append_and_clear_draft("suspect", body)  # clears the owed draft
    except StoreError as exc:
        return str(exc)
    cal.suspect, cal.suspect_owed = suspect, False
    cal.flipped = tuple(flipped_lines(found))
    return None


def resume_owed_suspect(ctx: BenchContext, doc: dict[str, Any]) -> Notice:
    """At start: write the suspect record a recorded calibration still owes (the station
    stopped, or the store failed, between the two). Needs no one logged in: it is owed
    evidence, computed from the calibration record itself."""
    seq, iid = int(doc["calibration"]), str(doc["instrument"])
    try:
        record = ctx.store.record(seq)
        if record is None or record.type != "calibration":
            log.error("owed suspect: calibration #%s is not in the store; draft kept", seq)
            return error(f"a suspect list is owed for calibration #{seq}, which is missing")
        inst = ctx.master.instrument(iid) or _bare_instrument(iid, record)
        as_found = [point_taken(b)[0] for b in record.body["as_found"]["points"]]
        found = find_suspects(ctx.store, inst, ctx.zone, as_found, str(doc["unit"]))
        body = suspect_body(iid, record.id, found)
        ctx.store.append_and_clear_draft("suspect", body)
    except StoreError as exc:
        return error(f"the suspect list of {iid}'s calibration is NOT saved yet", str(exc))
    n, flips = len(found.inspections), len(found.rejudged)
    return bad_news(
        f"suspect list of {iid}'s calibration #{seq} recorded: {n} inspection(s), "
        f"{flips} measurement(s) flip",
        *flipped_lines(found)[:10],
    )


def _bare_instrument(iid: str, record: Record) -> Instrument:
    """The instrument as far as the record knows it, when master data no longer does."""
    return Instrument(iid, str(record.body.get("instrument_type", "")), "active",
                      date.max, str(record.body.get("unit", "")), 0.0)  # fmt: skip


__all__ = [
    "finish",
    "instrument_scan",
    "leave",
    "procedure_scan",
    "reading",
    "resume",
    "resume_owed_suspect",
    "standard_scan",
    "write_suspect",
]
