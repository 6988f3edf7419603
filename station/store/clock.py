"""Is the wall clock plausible against the store? (private to `station.store`)

The store orders records by `seq`; `ts` is the station clock's reading, which a dead RTC
battery, a wrong NTP server or a technician's `date -s` can move by years. Two things
depend on it: retention (`Store.prune`, see `retention`) and the reverse-traceability
window of a suspect list (inspections since an instrument's last passing check, by `ts`).
The store cannot know the true time, but it can notice a clock that contradicts its own
records: earlier than the newest record, or implausibly far after it. That is reported as
a `clock-implausible` event (once per open store), a `clock` field in `station status`,
and a warning in the log.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from station.core.timefmt import format_ts, parse_ts

# Two processes read the same clock under the write lock, so their records' ts never go
# back; a small NTP step back (slew corrections are sub-second) is not worth an alarm.
BACK_TOLERANCE = timedelta(seconds=2)
# A bench unused for longer than this is rarer than a clock set years ahead (an RTC reset
# to a build date, a mistyped year); an alarm for a shelved station costs one event.
AHEAD_LIMIT = timedelta(days=366)


def clock_problem(now: datetime, newest_ts: str | None) -> str | None:
    """Why `now` is implausible against the newest record's `ts`, or None when it is not.

    Raises:
        ValueError: `now` is naive.
    """
    if newest_ts is None:
        return None
    try:
        newest = parse_ts(newest_ts)
    except ValueError:
        return None  # a damaged ts is verify's to report, not the clock's
    if now < newest - BACK_TOLERANCE:
        return (
            f"the clock ({format_ts(now)}) is {_span(newest - now)} before the newest "
            f"record ({newest_ts}): it was set back"
        )
    if now > newest + AHEAD_LIMIT:
        return (
            f"the clock ({format_ts(now)}) is {_span(now - newest)} after the newest "
            f"record ({newest_ts}): more than {AHEAD_LIMIT.days} days; check the date"
        )
    return None


def clock_event(now: datetime, last_seq: int, last_ts: str, problem: str) -> dict[str, Any]:
    """The body of the `clock-implausible` event (contract `mqtt.md`: event kinds are open)."""
    return {
        "kind": "clock-implausible",
        "operator": None,
        "detail": {
            "clock": format_ts(now),
            "newest_seq": last_seq,
            "newest_ts": last_ts,
            "problem": problem,
        },
    }


def _span(delta: timedelta) -> str:
    if delta >= timedelta(days=2):
        return f"{delta.days} days"
    if delta >= timedelta(hours=2):
        return f"{delta.total_seconds() / 3600:.0f} hours"
    return f"{delta.total_seconds():.0f} s"


__all__ = ["AHEAD_LIMIT", "BACK_TOLERANCE", "clock_event", "clock_problem"]
