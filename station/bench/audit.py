"""Refused attempts in the audit trail, rate-limited so a stuck scanner cannot flood the store.

21 CFR 11.10(e) and ALCOA+ ("complete") want attempts in the audit trail, not only what was
accepted: a badge refused because the operator is inactive, an instrument scan blocked by the
calibration interlock, a reading refused. Each is written as an `event` record (contract:
`docs/contract/schemas/record.schema.json`, event = kind, operator, detail).

A scanner whose trigger is stuck, or a gauge that repeats a refused frame, would otherwise
append an event per repetition until the storage budget refuses new inspections. So per
(kind, subject) at most one event is written per `window_s`; the repeats in between are
counted, and the next event of that key carries the count in `detail.suppressed` (nothing
disappears without a trace). `flush` writes the counts still owed (at logout).

Time is a monotonic reading passed in: a wall-clock jump back must not silence the trail.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

DEFAULT_WINDOW_S = 30.0
MAX_KEYS = 512  # subjects remembered; the oldest is forgotten (its owed count is flushed)

Key = tuple[str, str]  # (kind, subject)


@dataclass
class _Slot:
    written_at: float
    suppressed: int = 0
    last_detail: dict[str, Any] | None = None


@dataclass(frozen=True)
class Owed:
    """Repeats of one key that were suppressed and not yet carried by a written event."""

    kind: str
    subject: str
    suppressed: int
    detail: dict[str, Any]


class AttemptLog:
    """The rate limiter in front of the refused-attempt events (see the module docstring)."""

    def __init__(self, window_s: float = DEFAULT_WINDOW_S, max_keys: int = MAX_KEYS) -> None:
        if window_s < 0:
            raise ValueError(f"window_s must be >= 0 (got {window_s})")
        self.window_s = window_s
        self.max_keys = max_keys
        self._slots: OrderedDict[Key, _Slot] = OrderedDict()
        self._evicted: list[Owed] = []

    def admit(self, kind: str, subject: str, now: float, detail: dict[str, Any]) -> int | None:
        """Whether to write this attempt now.

        Returns the number of suppressed repeats the written event must carry (0 or more),
        or None when this repeat is suppressed (it is counted). Call `written` after the
        event was committed, or `failed` when the write failed.
        """
        key = (kind, subject)
        slot = self._slots.get(key)
        if slot is not None and 0 <= now - slot.written_at < self.window_s:
            slot.suppressed += 1
            slot.last_detail = detail
            self._slots.move_to_end(key)
            return None
        return 0 if slot is None else slot.suppressed

    def written(self, kind: str, subject: str, now: float) -> None:
        """The event of this key was committed at `now`: its owed count is carried."""
        key = (kind, subject)
        self._slots[key] = _Slot(written_at=now)
        self._slots.move_to_end(key)
        while len(self._slots) > self.max_keys:
            (old_kind, old_subject), old = self._slots.popitem(last=False)
            if old.suppressed and old.last_detail is not None:
                self._evicted.append(Owed(old_kind, old_subject, old.suppressed, old.last_detail))

    def failed(self, kind: str, subject: str, now: float, detail: dict[str, Any]) -> None:
        """The write failed (store full or read-only): count the attempt as owed."""
        key = (kind, subject)
        slot = self._slots.get(key)
        if slot is None:
            # Never written: an owed count with a window that has already elapsed, so the
            # next attempt is written at once and carries this one.
            slot = self._slots[key] = _Slot(written_at=now - self.window_s)
        slot.suppressed += 1
        slot.last_detail = detail

    def owed(self) -> list[Owed]:
        """Every suppressed count not yet written; they are forgotten here (see `flush`)."""
        out = list(self._evicted)
        self._evicted.clear()
        for (kind, subject), slot in self._slots.items():
            if slot.suppressed and slot.last_detail is not None:
                out.append(Owed(kind, subject, slot.suppressed, slot.last_detail))
                slot.suppressed = 0
                slot.last_detail = None
        return out

    def restore(self, owed: Owed, now: float) -> None:
        """Put back an owed count whose flush failed."""
        self.failed(owed.kind, owed.subject, now, owed.detail)
        slot = self._slots[(owed.kind, owed.subject)]
        slot.suppressed += owed.suppressed - 1


__all__ = ["DEFAULT_WINDOW_S", "AttemptLog", "Owed"]
