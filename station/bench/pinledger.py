"""What the store says about PINs and overrides at this station, rebuilt from its records.

21 CFR 11.300(d): failed signing attempts are detected and, at `[signatures]
max_pin_failures` consecutive failures, the operator is locked at this station until the QMS
publishes that operator again. The lockout must survive a restart, so it is never kept only
in memory: it is re-derived from the append-only record
(`station.core.signing.replay_pin_events`) with these `event` records, oldest first:

- `pin-failed` (operator X): a failure of X;
- `pin-accepted` (operator X): a success of X, written only after failures (resets the count);
- `operator-locked` (operator X): X is locked (kept even if the limit is raised later);
- `master-applied` for master `operator`, id X: the QMS published X again, unlocked.

`master-applied` is what the store writes in the same transaction as every applied master
document (`station.store.master_docs.apply`); an identical document re-sent changes nothing
and logs nothing, so "publishing again" means a new version (a new PIN verifier, say).

The same pass collects the interlock's `override` events: an override is valid for the
inspection in progress it names (the draft's part and start time) until that inspection ends
(any `inspection` record or `inspection-abandoned` event after it: the bench has one
inspection in progress at a time), so one resumed after a restart keeps its override and its
measurements still reference it, and the next part needs a new one.

The first use reads every `event` record once (`Store.iter_records`, paged); after that only
the records appended since (`Store.records(after_seq=...)`). Retention never prunes an open
run of wrong PINs (`station.store.retention`, rule 4), so a lockout is not forgotten when its
events grow old; a closed run (a right PIN, or the QMS publishing the operator again) may go.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from station.core.signing import PinEvent, PinState, replay_pin_events
from station.store import Record, Store

PIN_FAILED = "pin-failed"
PIN_ACCEPTED = "pin-accepted"
OPERATOR_LOCKED = "operator-locked"
OVERRIDE = "override"
_PAGE = 1000


@dataclass(frozen=True)
class OverrideGrant:
    """One signed override: `instrument` may be used for the part of the draft it names."""

    event_id: str
    event_seq: int
    instrument: str
    ts: str  # the override event's time: measurements from then on reference it
    part: str
    draft_started: str
    reasons: tuple[str, ...]


def draft_key(part_number: str, started: str) -> tuple[str, str]:
    """The key of an inspection in progress: its part and its start (as stored)."""
    return (part_number, started)


class PinLedger:
    """Per-operator PIN events and the overrides, as read from the store."""

    def __init__(self) -> None:
        self._events: dict[str, list[PinEvent]] = {}
        self._locked: dict[str, bool] = {}  # an operator-locked event since the last unlock
        self._grants: dict[tuple[str, str], list[OverrideGrant]] = {}
        self._upto: int | None = None  # the last seq read; None before the first read
        self._ended = 0  # the seq of the last inspection ended (recorded or abandoned)

    def refresh(self, store: Store) -> None:
        """Read the records appended since the last call (every event on the first)."""
        if self._upto is None:
            last = store.last_seq()
            self._take(r for r in store.iter_records("event") if r.seq <= last)
            newest = store.recent_inspections(1)  # inspections are not events: one look-up
            if newest and newest[0].seq <= last:
                self._ended = max(self._ended, newest[0].seq)
            self._upto = last
        while True:
            page = store.records(after_seq=self._upto, limit=_PAGE)
            if not page:
                return
            self._take(page)
            self._upto = page[-1].seq

    def _take(self, records: Iterable[Record]) -> None:
        for r in records:
            if r.type == "inspection":
                self._ended = max(self._ended, r.seq)
            if r.type != "event":
                continue
            b = r.body
            kind, op, detail = b.get("kind"), b.get("operator"), b.get("detail") or {}
            if kind == "inspection-abandoned":
                self._ended = max(self._ended, r.seq)
            if kind == "master-applied" and detail.get("master") == "operator":
                oid = str(detail.get("id"))
                self._events.setdefault(oid, []).append("unlock")
                self._locked[oid] = False
            elif kind in (PIN_FAILED, PIN_ACCEPTED) and isinstance(op, str):
                event: PinEvent = "failure" if kind == PIN_FAILED else "success"
                self._events.setdefault(op, []).append(event)
            elif kind == OPERATOR_LOCKED and isinstance(op, str):
                self._locked[op] = True
            elif kind == OVERRIDE:
                self._grant(r, detail)

    def _grant(self, r: Record, detail: dict[str, Any]) -> None:
        part = detail.get("part") or {}
        grant = OverrideGrant(
            event_id=r.id,
            event_seq=r.seq,
            instrument=str(detail.get("instrument")),
            ts=r.ts,
            part=str(part.get("number")),
            draft_started=str(detail.get("draft_started")),
            reasons=tuple(str(x) for x in detail.get("reasons") or ()),
        )
        key = draft_key(grant.part, grant.draft_started)
        self._grants.setdefault(key, []).append(grant)

    def state(self, store: Store, operator_id: str, max_pin_failures: int) -> PinState:
        """The operator's consecutive failures and lock at this station, now."""
        self.refresh(store)
        state = replay_pin_events(self._events.get(operator_id, ()), max_pin_failures)
        if self._locked.get(operator_id) and not state.locked:
            return PinState(max(state.failures, max_pin_failures), True)
        return state

    def grants(self, store: Store, part_number: str, started: str) -> list[OverrideGrant]:
        """The overrides signed for this inspection in progress, oldest first."""
        self.refresh(store)
        found = self._grants.get(draft_key(part_number, started), ())
        return [g for g in found if g.event_seq > self._ended]


__all__ = [
    "OPERATOR_LOCKED",
    "OVERRIDE",
    "PIN_ACCEPTED",
    "PIN_FAILED",
    "OverrideGrant",
    "PinLedger",
    "draft_key",
]
