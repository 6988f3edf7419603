"""At start: what the bench left unfinished when it stopped (crash, power cut, restart).

An unfinished inspection is offered for resumption to the operator who started it; an owed
nonconformance is asked for at the next login; an SPC signal that was not acknowledged is
raised again. A draft that cannot be read is not dropped silently: a `draft-unreadable`
event keeps it in the audit trail.
"""

from __future__ import annotations

from station.bench.context import BenchContext
from station.bench.draft import draft_from_doc
from station.bench.notice import Notice, error, warn
from station.bench.spc_watch import check_after_part
from station.bench.state import NC_OWED_SCHEMA
from station.store import Record


def restore_spc_alerts(ctx: BenchContext) -> None:
    """Re-raise SPC signals that were not acknowledged before the bench stopped.

    For each plan among the recent inspections, the rules are evaluated again at that
    plan's last inspection; a signal counts as acknowledged when an `spc-signal` event
    follows that inspection in the record stream.
    """
    latest: dict[tuple[str, str], Record] = {}
    for rec in ctx.store.recent_inspections(50):  # newest first
        key = (str(rec.body["plan"]["id"]), str(rec.body["plan"]["rev"]))
        latest.setdefault(key, rec)
    for (pid, rev), rec in latest.items():
        plan = next((p for p in ctx.master.plans if p.id == pid and p.rev == rev), None)
        if plan is None or not any(c.spc for c in plan.characteristics):
            continue
        if not ctx.store.event_after("spc-signal", rec.seq):
            ctx.state.spc_alerts += check_after_part(ctx.store, plan, None)


def load_unfinished(ctx: BenchContext) -> Notice | None:
    """At start: load a saved draft or owed NC, and unacknowledged SPC signals."""
    restore_spc_alerts(ctx)
    st = ctx.state
    doc = ctx.store.load_draft()
    if doc is None:
        if st.spc_alerts:
            return warn("an SPC signal awaits its assignable cause: log in to give it")
        return None
    if doc.get("schema") == NC_OWED_SCHEMA:
        rec = ctx.store.record(int(doc.get("inspection_seq", 0)))
        if rec is None or rec.type != "inspection":
            ctx.store.append_and_clear_draft(
                "event",
                ctx.event_body("draft-unreadable", error="owed NC names no inspection", draft=doc),
            )
            return error("a nonconformance was owed but its inspection is missing")
        st.nc_for = rec
        part = rec.body["part"]["number"]
        return warn(f"part {part} was rejected: log in and describe the nonconformance")
    try:
        st.draft = draft_from_doc(doc, ctx.master.plans)
    except (ValueError, KeyError, TypeError) as exc:
        ctx.store.append_and_clear_draft(
            "event", ctx.event_body("draft-unreadable", error=str(exc), draft=doc)
        )
        return error(f"the unfinished inspection could not be resumed: {exc}")
    d = st.draft
    st.plan = d.plan
    n = len(d.measurements)
    return warn(
        f"unfinished inspection of part {d.part.number} (plan {d.plan.id} rev {d.plan.rev}, "
        f"{n} reading(s) taken): log in as {d.operator} to resume it, "
        "or log in and abandon it (F8)"
    )


__all__ = ["load_unfinished", "restore_spc_alerts"]
