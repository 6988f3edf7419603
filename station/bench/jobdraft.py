"""A procedure job (a calibration, a gauge study) kept in the store's draft slot (private).

Both run the same way around their own state machine: every step that changes the job saves
it as a draft, and a step the store cannot save is undone (issue 13.7: the screen never shows
what a restart would not bring back); leaving an unrecorded job is an abandonment `event`
naming who left it, written with the cleared draft in one transaction; a draft that cannot be
read back at start is kept as a `draft-unreadable` event, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from station.bench.context import BenchContext
from station.bench.notice import Notice, error
from station.store import StoreError

J = TypeVar("J")


def kept(
    ctx: BenchContext, job: J, before: J, to_doc: Callable[[J], dict[str, Any]], notice: Notice
) -> Notice:
    """Save `job` after a step changed it (`before` is a deep copy from before the step);
    undo the step when the store fails."""
    doc = to_doc(job)
    if doc == to_doc(before):
        return notice
    try:
        ctx.store.save_draft(doc)
    except StoreError as exc:
        job.__dict__.update(before.__dict__)
        return error("NOT saved: the record store failed; scan or take it again", str(exc))
    return notice


def abandon(ctx: BenchContext, what: str, event_kind: str, **detail: Any) -> Notice | None:
    """Record leaving an unrecorded job (the event and the cleared draft in one transaction);
    None when recorded, else why not (nobody to name, or the store failed)."""
    if ctx.state.operator is None:  # the event names who abandoned it
        return error("scan your badge first: abandoning is recorded with your name")
    try:
        ctx.store.append_and_clear_draft("event", ctx.event_body(event_kind, **detail))
    except StoreError as exc:
        return error(f"the {what} could not be left: the record store failed", str(exc))
    return None


def unreadable(ctx: BenchContext, doc: dict[str, Any], exc: Exception, what: str) -> Notice:
    """A draft that cannot be resumed: kept as an event, and the slot cleared."""
    ctx.store.append_and_clear_draft(
        "event", ctx.event_body("draft-unreadable", error=str(exc), draft=doc)
    )
    return error(f"the unfinished {what} could not be resumed: {exc}")


__all__ = ["abandon", "kept", "unreadable"]
