"""One inspection: start it from a part scan, fill its samples, redo one, or abandon it.

Readings are stored durably as they are taken (the draft), so an unfinished inspection is
offered for resumption after a crash or power cut. Every step writes first and changes the
state only once the write is committed: when the store fails (disk full, read-only card) the
operator is told nothing was recorded, and nothing of it turns up later (issue 13.7). Every
replaced reading stays in the audit trail (`reading-replaced` event, 21 CFR 11.10(e) spirit).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from station.bench import signing
from station.bench.completion import complete
from station.bench.context import BenchContext
from station.bench.draft import Draft, PartInfo
from station.bench.notice import Notice, bad_news, error, info, ok, warn
from station.bench.state import Mode
from station.core.gate import assess_operator
from station.core.inspection import Measurement, measure_attribute, plan_result
from station.core.scan import PartScan
from station.store import StorageBudgetExceeded, StoreError


def start(ctx: BenchContext, s: PartScan) -> Notice:
    """A part scanned: start its inspection under the released plan, or refuse."""
    st = ctx.state
    if st.mode is Mode.NONCONFORMANCE:
        return error("describe the nonconformance of the rejected part first")
    if st.mode is Mode.CHECK:
        return error("finish or leave the instrument check first (Esc)")
    if st.calibration is not None:
        return error(
            f"the calibration to {st.calibration.procedure.id} is unfinished: "
            "finish it, or leave (abandon) it with Esc"
        )
    if st.draft is not None:
        return error(
            f"part {st.draft.part.number} is still being inspected: finish it, or abandon it (F8)"
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
    gate = assess_operator(st.operator, s.plan, ctx.clock(), zone=ctx.zone)
    if not gate.allowed:
        ctx.record_attempt(
            "inspection-refused",
            f"{st.operator.id} {s.plan.id}",
            plan={"id": s.plan.id, "rev": s.plan.rev},
            part=s.part_number,
            reasons=list(gate.reasons),
        )
        return error(f"{st.operator.name} may not inspect plan {s.plan.id}", *gate.reasons)
    try:
        ctx.store.check_can_start_inspection()
    except StorageBudgetExceeded as exc:
        return error("new inspections are refused", str(exc))
    draft = Draft(
        operator=st.operator.id,
        plan=s.plan,
        part=PartInfo(s.part_number, s.serial, s.lot, s.raw or None),
        started=ctx.clock(),
        reason=ctx.reason,
        measurements={},
    )
    try:
        ctx.store.save_draft(draft.to_doc())
    except StoreError as exc:
        return error(f"part {s.part_number} not started: the record store failed", str(exc))
    st.draft = draft
    st.plan = s.plan
    st.mode = Mode.INSPECTING
    st.redo = st.redo_reason = None
    st.last_key = None
    st.last_measurement = None
    where = f" serial {s.serial}" if s.serial else ""
    return ok(f"part {s.part_number}{where}: plan {s.plan.id} rev {s.plan.rev}", *gate.warnings)


def judge_attribute(ctx: BenchContext, passed: bool) -> Notice:
    """The operator's pass/fail for the next attribute characteristic (or the redo one)."""
    st = ctx.state
    if st.mode is not Mode.INSPECTING or st.draft is None:
        return error("no inspection in progress")
    if st.redo is not None:
        c = st.draft.plan.characteristic(st.redo[0])
        if c.kind != "attribute":
            return error(f"{c.id} needs an instrument reading, not a pass/fail key")
        sample = st.redo[1]
    else:
        todo = [(c, s) for c, s in ctx.pending_samples() if c.kind == "attribute"]
        if not todo:
            return error("no attribute characteristic left to judge")
        c, sample = todo[0]
    m = measure_attribute(c, sample, passed, ts=ctx.clock())
    return accept(ctx, m)


def accept(
    ctx: BenchContext, m: Measurement, signatures: list[dict[str, Any]] | None = None
) -> Notice:
    """Record `m` in the draft (or complete the inspection), then show it.

    The new draft is built aside and becomes the state only once the store committed it
    (issue 13.7: a value the operator was told was not recorded must never turn up in
    the record later). A replaced value's `reading-replaced` event and the new draft are
    one transaction.
    """
    st = ctx.state
    d = st.draft
    assert d is not None
    key = (m.characteristic, m.sample)
    old = d.measurements.get(key)
    new = dataclasses.replace(d, measurements={**d.measurements, key: m})
    label = f"{m.characteristic} #{m.sample}"
    replaced = None
    if old is not None:
        if signatures is None and signing.needs(ctx, "redo"):
            # 21 CFR 11.10(e)/11.50: the replacement is signed, with its reason, before the
            # new value counts; cancelled, the old one stays and the redo stays armed.
            return signing.request(
                ctx,
                "redo",
                f"replacement of {label} ({_shown(old)} by {_shown(m)})",
                lambda sigs: accept(ctx, m, sigs),
                again="take the reading again",
            )
        replaced = signing.replaced_event(
            ctx,
            st.redo_reason,
            signatures,
            plan=d.plan.id,
            part=d.part.body(),
            old=old.body(),
            new=m.body(),
        )
    try:
        if plan_result(new.plan, new.measurements.values()) is not None:
            return complete(ctx, new, replaced, m)
        if replaced is None:
            ctx.store.save_draft(new.to_doc())
        else:
            doc = new.to_doc()
            ctx.store.append_and_clear_draft("event", replaced, next_draft=lambda _r: doc)
    except StoreError as exc:
        return error(f"{label} NOT recorded: the record store failed; take it again", str(exc))
    st.draft = new
    st.redo = st.redo_reason = None
    st.last_key = key
    st.last_measurement = m
    text = f"{label}: {_shown(m)} -> {m.verdict.upper()}"
    if m.verdict == "fail":
        return bad_news(text)
    return Notice("ok" if m.verdict == "pass" else "warn", text, recorded=True)


def _shown(m: Measurement) -> str:
    return f"{m.value:g} {m.unit}" if m.kind == "variable" else m.verdict


def redo(ctx: BenchContext, reason: str | None = None, note: str = "") -> Notice:
    """Let the next value replace the last one taken (before completion); with `reason`
    (one of `REDO_REASONS`, required when redos are signed) and a free `note`."""
    st = ctx.state
    if st.draft is None or st.last_key is None or st.last_key not in st.draft.measurements:
        return error("nothing to redo: no reading taken in this inspection yet")
    refused = signing.redo_refusal(ctx, reason)
    if refused is not None:
        return refused
    st.redo = st.last_key
    st.redo_reason = None if reason is None else (reason, note.strip())
    c, s = st.last_key
    text = f"the next value replaces {c} #{s}"
    return ok(f"{text} ({reason})") if reason is not None else info(text)


def abandon(ctx: BenchContext) -> Notice:
    """Abandon the inspection in progress (recorded as an event, never silently)."""
    st = ctx.state
    if st.draft is None:
        return error("no inspection in progress")
    if st.operator is None:
        # The audit event names who abandoned it: nobody may do it anonymously.
        return error("scan your badge first: abandoning is recorded with your name")
    d = st.draft
    # The event and the cleared draft are one transaction: a crash or a full disk can
    # leave neither an abandoned draft offered again nor an abandon without its event.
    ctx.store.append_and_clear_draft(
        "event",
        ctx.event_body(
            "inspection-abandoned",
            plan={"id": d.plan.id, "rev": d.plan.rev},
            part=d.part.body(),
            measurements=[m.body() for m in d.measurements.values()],
        ),
    )
    st.draft = None
    st.redo = st.redo_reason = None
    st.mode = Mode.READY if st.operator else Mode.IDLE
    return warn(f"inspection of part {d.part.number} abandoned")


__all__ = ["abandon", "accept", "judge_attribute", "redo", "start"]
