"""What follows the last sample: the inspection record, its SPC signals and its nonconformance.

A rejected inspection owes a nonconformance (reason code and description) before the next
part; the owed NC is kept in the draft slot in the same transaction as the inspection, so a
power cut cannot lose it. An SPC signal (`station.bench.spc_watch`) holds the next part of its
plan until it is acknowledged with an assignable cause (`spc-signal` events).
"""

from __future__ import annotations

import logging
from typing import Any

from station.bench import override, signing
from station.bench.context import BenchContext
from station.bench.draft import Draft
from station.bench.notice import Notice, bad_news, error, indeterminate_step, info, ok, warn
from station.bench.spc_watch import SPC_CAUSES, SpcAlert, SpcView, check_after_part, view
from station.bench.state import NC_OWED_SCHEMA, NC_REASONS, Mode
from station.core.inspection import Measurement, inspection_body
from station.store import RecordType, StoreError

log = logging.getLogger(__name__)


def complete(
    ctx: BenchContext, d: Draft, replaced: dict[str, Any] | None, m: Measurement
) -> Notice:
    """Record the inspection `d` (every sample taken), then make it the state.

    Raises:
        StoreError: nothing of the inspection was recorded; the state is unchanged.
    """
    st = ctx.state
    body = inspection_body(
        plan=d.plan,
        part_number=d.part.number,
        operator=d.operator,
        reason=d.reason,
        started=d.started,
        completed=max(ctx.clock(), d.started),
        measurements=d.measurements.values(),
        serial=d.part.serial,
        lot=d.part.lot,
        scan=d.part.scan,
    )
    result = str(body["result"])
    overrides = override.annotate(ctx, d, body)  # measurements under a signed override
    if replaced is not None:
        # Its own commit before the inspection's: if the inspection then fails, the trail
        # holds one replacement too many, never one too few.
        ctx.store.append("event", replaced)
    rec = ctx.store.append_and_clear_draft(
        "inspection",
        body,
        next_draft=(lambda r: {"schema": NC_OWED_SCHEMA, "inspection_seq": r.seq})
        if result == "reject"
        else None,
    )
    st.draft = None
    st.redo = st.redo_reason = None
    review = override.review(ctx, rec, overrides)  # the NC for review of an override
    st.last_key = (m.characteristic, m.sample)
    st.last_measurement = m
    st.last_inspection = rec
    if result == "reject":
        st.nc_for = rec
    try:
        st.spc_alerts += check_after_part(ctx.store, d.plan, d.operator)
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
    if overrides:  # measured under an override: the QMS reviews the part
        spc += f" NC {review.id} raised for review." if review else " Review NC NOT saved."
    if result == "reject":
        st.mode = Mode.NONCONFORMANCE
        return bad_news(f"part {d.part.number} REJECTED: describe the nonconformance.{spc}")
    st.mode = Mode.SPC_SIGNAL if st.spc_alerts else Mode.READY
    if result == "indeterminate":
        step = indeterminate_step(ctx.config.station.indeterminate)
        return warn(f"part {d.part.number} {step}{spc}")
    return ok(f"part {d.part.number} ACCEPTED.{spc or ' Scan the next part.'}")


def failed_characteristics(ctx: BenchContext) -> list[str]:
    """Characteristic ids that failed in the inspection awaiting its NC."""
    rec = ctx.state.nc_for
    if rec is None:
        return []
    ms = rec.body["measurements"]
    return sorted({str(m["characteristic"]) for m in ms if m["verdict"] == "fail"})


def submit_nonconformance(
    ctx: BenchContext,
    reason_code: str,
    description: str,
    signatures: list[dict[str, Any]] | None = None,
) -> Notice:
    """Raise the NC for the rejected inspection (`nonconformance` record), signed by its
    author first when `[signatures] required` lists it (21 CFR 11.50)."""
    st = ctx.state
    rec = st.nc_for
    if st.mode is not Mode.NONCONFORMANCE or rec is None or st.operator is None:
        return error("no rejected inspection is waiting for a nonconformance")
    if reason_code not in NC_REASONS:
        return error(f"unknown reason code {reason_code!r}: pick one of the list")
    text = description.strip()
    if not text:
        return error("describe the nonconformance (free text is required)")
    if signatures is None and signing.needs(ctx, "nonconformance"):
        return signing.request(
            ctx,
            "nonconformance",
            f"nonconformance of part {rec.body['part']['number']}",
            lambda sigs: submit_nonconformance(ctx, reason_code, description, sigs),
        )
    body: dict[str, Any] = {
        "inspection": rec.id,
        "part": rec.body["part"],
        "characteristics": failed_characteristics(ctx),
        "description": text,
        "reason_code": reason_code,
        "disposition": "pending",
        "operator": st.operator.id,
    }
    if signatures:
        body["signatures"] = signatures
    try:
        nc = ctx.store.append_and_clear_draft("nonconformance", body)
    except StoreError as exc:
        return error(f"nonconformance not saved: {exc}")
    st.nc_for = None
    st.mode = Mode.SPC_SIGNAL if st.spc_alerts else Mode.READY
    nxt = "acknowledge the SPC signal" if st.spc_alerts else "scan the next part"
    return ok(f"nonconformance recorded (seq {nc.seq}): {nxt}")


def acknowledge_spc(
    ctx: BenchContext, cause: str, text: str, signatures: list[dict[str, Any]] | None = None
) -> Notice:
    """Acknowledge every pending SPC signal with an assignable cause (`spc-signal` events),
    signed first when `[signatures] required` lists "spc-ack" (each event carries the one
    signing's manifestation: the operator signed the cause of every signal listed)."""
    st = ctx.state
    if not st.spc_alerts:
        return info("no SPC signal is waiting")
    if cause not in SPC_CAUSES:
        return error(f"unknown cause {cause!r}: pick one of the list")
    if cause == "other" and not text.strip():
        return error("describe the cause (free text is required with 'other')")
    if signatures is None and signing.needs(ctx, "spc-ack"):
        return signing.request(
            ctx,
            "spc-ack",
            f"assignable cause ({cause}) of {len(st.spc_alerts)} SPC signal(s)",
            lambda sigs: acknowledge_spc(ctx, cause, text, sigs),
        )
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
        event: dict[str, Any] = {"kind": "spc-signal", "operator": op, "detail": detail}
        if signatures:
            event["signatures"] = signatures
        bodies.append(("event", event))
    ctx.store.append_many(bodies)
    n = len(st.spc_alerts)
    st.spc_alerts = []
    if st.mode is Mode.SPC_SIGNAL:
        st.mode = Mode.READY if st.operator else Mode.IDLE
    return ok(f"{n} SPC signal(s) acknowledged ({cause}): scan the next part")


def spc_view(ctx: BenchContext, characteristic_id: str) -> SpcView | None:
    """Chart, limits and capability of a characteristic of the current plan."""
    plan = ctx.state.plan
    if plan is None:
        return None
    try:
        c = plan.characteristic(characteristic_id)
    except KeyError:
        return None
    return view(ctx.store, plan, c)


__all__ = [
    "acknowledge_spc",
    "complete",
    "failed_characteristics",
    "spc_view",
    "submit_nonconformance",
]
