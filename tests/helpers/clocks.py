"""A clock the test sets by hand: what the store, the workflow and the core are given instead
of the wall clock, so every timestamp in a test is chosen by the test."""

from __future__ import annotations

from datetime import datetime, timedelta


class SettableClock:
    """Aware UTC time that stays put (`step` 0) or advances by `step` after each reading.

    `set` jumps to a moment (a clock set back or ahead); `advance` moves it forward.
    """

    def __init__(self, start: datetime, step: timedelta = timedelta(0)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        current = self.now
        self.now = self.now + self.step
        return current

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, **kw: float) -> None:
        """Move forward by `timedelta(**kw)` (e.g. `advance(hours=25)`)."""
        self.now += timedelta(**kw)


__all__ = ["SettableClock"]
