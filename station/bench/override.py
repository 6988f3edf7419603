"""The interlock's only door: a signed override for the part being inspected.

With `[interlock] allow_override = true`, an instrument the interlock refuses for a reason the
plant allows (`station.core.signing.override_eligibility`: overdue within
`override_grace_days`, or lacking a valid check; never quarantined or retired, never unfit
for the characteristic) may be used for the current part once the operator signs as author
and a second, different person holding `approver_qualification` scans their badge and signs
as approver (21 CFR 11.10(g) authority checks, 11.200(a) badge and PIN), with a reason.

What is recorded, in this order:

1. the `override` event (operator: the author) names the instrument, the reasons overridden,
   the operator's reason text, the part, the plan, the inspection's start and the approver;
   its `signatures` hold both manifestations (inside the hashed envelope, 11.70);
2. each measurement of the inspection taken with that instrument from the override on
   carries `override`: the override event's id (an extension of the contract's
   `measurement`, which allows added properties: traceability from the value to the
   signed decision);
3. after the inspection record, a `nonconformance` "for review" (disposition pending) names
   the override and the characteristics measured under it: the QMS reviews every part
   measured with an instrument outside the interlock (ISO 9001 8.7).

The override lives as long as the inspection it names (part and start time): the
grants are re-read from the `override` events (`station.bench.pinledger`), so a restart keeps
them; the next part needs a new override.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from station.bench import signing
from station.bench.draft import Draft
from station.bench.interlock import characteristic_in_hand
from station.bench.notice import Notice, error, ok
from station.bench.pinledger import OVERRIDE, OverrideGrant
from station.bench.state import Mode
from station.core.fitness import Fitness
from station.core.model import Characteristic, Instrument
from station.core.signing import OverrideDecision, override_eligibility
from station.core.timefmt import format_ts, parse_ts
from station.store import Record, StoreError

if TYPE_CHECKING:
    from station.bench.context import BenchContext

log = logging.getLogger(__name__)


def _in_hand(ctx: BenchContext, instrument: Instrument) -> Characteristic | None:
    """The characteristic the instrument's next reading would fill (as
    `binding.in_hand`, which cannot be imported here: binding imports the context, which
    imports this module)."""
    d = ctx.state.draft
    if d is None:
        return None
    redo = None if ctx.state.redo is None else d.plan.characteristic(ctx.state.redo[0])
    return characteristic_in_hand(instrument, ctx.pending_samples(), redo)


def eligibility(
    ctx: BenchContext, instrument: Instrument, characteristic: Characteristic | None
) -> OverrideDecision:
    """May `instrument` be overridden now, for `characteristic`?"""
    cfg = ctx.config.interlock
    last = ctx.store.last_passing_check(instrument.id)
    return override_eligibility(
        instrument,
        now=ctx.clock(),
        zone=ctx.zone,
        allowed_reasons=cfg.override_reasons,
        grace_days=cfg.override_grace_days,
        characteristic=characteristic,
        local_quarantine_reason=ctx.store.local_quarantines().get(instrument.id),
        last_passing_check_at=None if last is None else parse_ts(last.ts),
    )


def _grants(ctx: BenchContext, d: Draft) -> list[OverrideGrant]:
    return ctx.pins.grants(ctx.store, d.part.number, format_ts(d.started))


def under_override(
    ctx: BenchContext, instrument: Instrument, characteristic: Characteristic | None, fit: Fitness
) -> Fitness:
    """`fit` (refused) made usable when a signed override for this inspection covers the
    instrument and it is still eligible (a quarantine since, or a grace run out, refuses)."""
    st = ctx.state
    d = st.draft
    if not ctx.config.interlock.allow_override or d is None or st.mode is not Mode.INSPECTING:
        return fit
    mine = [g for g in _grants(ctx, d) if g.instrument == instrument.id]
    if not mine or not eligibility(ctx, instrument, characteristic).allowed:
        return fit
    g = mine[-1]
    note = f"{instrument.id} used under override {g.event_id} ({', '.join(g.reasons)})"
    return Fitness(True, (), (*fit.warnings, note))


def candidate(ctx: BenchContext) -> Instrument | None:
    """The instrument an override would be for: the last scan refused at an input, else an
    unfit instrument fixed to an input."""
    st = ctx.state
    refused = [r.instrument for r in st.refusals.values() if r.instrument is not None]
    fixed = [i.instrument for i in ctx.config.inputs if i.instrument is not None]
    for iid in [*reversed(refused), *fixed]:  # the latest refused scan first
        inst = ctx.master.instrument(iid)
        if inst is not None and not ctx.fitness(inst, None).usable:
            return inst
    return None


def request_override(ctx: BenchContext, reason: str, instrument_id: str | None = None) -> Notice:
    """Ask for the signed override of the refused instrument for the part in progress."""
    cfg = ctx.config.interlock
    if not cfg.allow_override or cfg.approver_qualification is None:
        return error("the interlock has no override at this station ([interlock])")
    st = ctx.state
    d = st.draft
    if st.mode is not Mode.INSPECTING or d is None or st.operator is None:
        return error("an override is for the part being inspected: scan the part first")
    ctx.refresh_master()
    inst = candidate(ctx) if instrument_id is None else ctx.master.instrument(instrument_id)
    if inst is None:
        return error("no refused instrument to override: scan the instrument first")
    decision = eligibility(ctx, inst, _in_hand(ctx, inst))
    if not decision.allowed:
        ctx.record_attempt(
            "override-refused", inst.id, instrument=inst.id, reasons=list(decision.refusals)
        )
        return error(f"no override for {inst.id}", *decision.refusals)
    text = reason.strip()
    if not text:
        return error("give the reason for the override (free text is required)")
    started = format_ts(d.started)
    detail: dict[str, Any] = {
        "instrument": inst.id,
        "reasons": list(decision.overridden),
        "reason": text,
        "part": d.part.body(),
        "plan": {"id": d.plan.id, "rev": d.plan.rev},
        "draft_started": started,
    }

    def write(signatures: list[dict[str, Any]]) -> Notice:
        return _write(ctx, inst, detail, signatures)

    return signing.request(
        ctx,
        "override",
        f"override of the interlock for {inst.id} on part {d.part.number}",
        write,
        approver=cfg.approver_qualification,
    )


def _write(
    ctx: BenchContext, inst: Instrument, detail: dict[str, Any], sigs: list[dict[str, Any]]
) -> Notice:
    st = ctx.state
    author = sigs[0]["operator"]
    body = {
        "kind": OVERRIDE,
        "operator": author,
        "detail": {**detail, "approver": sigs[1]["operator"]},
        "signatures": sigs,
    }
    try:
        rec = ctx.store.append("event", body)
    except StoreError as exc:
        return error("override NOT recorded: the record store failed", str(exc))
    if all(i.instrument != inst.id for i in ctx.config.inputs):
        st.selected_instrument = inst  # bound on its next reading, like a fit scan
    return ok(
        f"override {rec.id}: {inst.id} may be used for part {detail['part']['number']} "
        f"(approved by {sigs[1]['name']}); a nonconformance for review follows the inspection"
    )


def annotate(ctx: BenchContext, d: Draft, body: dict[str, Any]) -> list[OverrideGrant]:
    """Mark the inspection body's measurements taken under an override; the grants used."""
    grants = _grants(ctx, d) if ctx.config.interlock.allow_override else []
    used: dict[str, OverrideGrant] = {}
    for m in body["measurements"]:
        for g in reversed(grants):
            if m.get("instrument") == g.instrument and str(m["ts"]) >= g.ts:
                m["override"] = g.event_id
                used[g.event_id] = g
                break
    return list(used.values())


def review(ctx: BenchContext, inspection: Record, used: list[OverrideGrant]) -> Record | None:
    """The nonconformance for review of an inspection measured under an override."""
    if not used:
        return None
    ms = inspection.body["measurements"]
    chars = sorted({str(m["characteristic"]) for m in ms if m.get("override")})
    names = ", ".join(f"{g.instrument} ({g.event_id}: {', '.join(g.reasons)})" for g in used)
    body = {
        "inspection": inspection.id,
        "part": inspection.body["part"],
        "characteristics": chars,
        "description": f"measured under a signed override of the interlock: {names}; review",
        "reason_code": "override-review",
        "disposition": "pending",
        "operator": inspection.body["operator"],
    }
    try:
        return ctx.store.append("nonconformance", body)
    except StoreError as exc:
        log.error("the review nonconformance of %s is not recorded: %s", inspection.id, exc)
        return None


__all__ = [
    "annotate",
    "candidate",
    "eligibility",
    "request_override",
    "review",
    "under_override",
]
