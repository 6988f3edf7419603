"""Timestamps as the contract writes them: RFC 3339, UTC, milliseconds, ``Z``.

The record schema pins the form (``^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$``) and
the canonical-JSON hash covers the string, so there is exactly one way to write an instant.
Nothing here reads the clock: callers pass the instant in.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo

# ASCII digits only and `fullmatch`: `\d` would take other scripts' digits, and `$` a final "\n".
_TS = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{3})Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def require_aware(dt: datetime, what: str = "timestamp") -> datetime:
    """Return `dt` converted to UTC.

    Why: a naive datetime has no defined instant; guessing "local" or "UTC" for an audit
    timestamp would silently shift records by hours.

    Raises:
        ValueError: `dt` is naive (the message names `what`).
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got the naive {dt.isoformat()}")
    return dt.astimezone(UTC)


def site_date(dt: datetime, zone: tzinfo, what: str = "now") -> date:
    """The calendar date of the instant `dt` at the site, in `zone` (contract 1.1, station.md:
    `[station] timezone`).

    Why not the UTC date: `cal_due` and qualification `expires` are days on the plant's
    calendar. Judged on the UTC date, an instrument due 2025-05-31 would be refused at 23:30
    on its due day in a UTC-5 plant and still accepted at 01:30 the next day in CEST.

    Raises:
        ValueError: `dt` is naive (the message names `what`).
    """
    return require_aware(dt, what).astimezone(zone).date()


def format_ts(dt: datetime) -> str:
    """Format an aware datetime as ``2026-11-21T22:04:09.512Z``.

    Sub-millisecond digits are truncated, not rounded, so a formatted instant never lies
    in the future of the real one (and 23:59:59.9996 cannot roll over to the next day).

    Raises:
        ValueError: `dt` is naive.
    """
    utc = require_aware(dt)
    return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_ts(text: str) -> datetime:
    """Parse a contract timestamp into an aware UTC datetime.

    Only the contract form is accepted (a record with another form would not validate
    against the schema, and its hash would differ from a re-serialised copy).

    Raises:
        ValueError: naming the text and the expected form.
    """
    m = _TS.fullmatch(text)
    if m is None:
        raise ValueError(
            f"timestamp {text!r} is not RFC 3339 UTC with milliseconds "
            "(expected e.g. 2026-11-21T22:04:09.512Z)"
        )
    year, month, day, hour, minute, second, ms = (int(g) for g in m.groups())
    try:
        return datetime(year, month, day, hour, minute, second, ms * 1000, tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"timestamp {text!r} is not a valid instant: {exc}") from None


def format_date(d: date) -> str:
    """Format a date as ``2027-03-01`` (the schemas' date form)."""
    return d.isoformat()


def parse_date(text: str) -> date:
    """Parse ``YYYY-MM-DD``.

    Raises:
        ValueError: naming the text and the expected form.
    """
    if not _DATE.fullmatch(text):
        raise ValueError(f"date {text!r} is not YYYY-MM-DD (expected e.g. 2027-03-01)")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"date {text!r} is not a valid date: {exc}") from None


__all__ = ["format_date", "format_ts", "parse_date", "parse_ts", "require_aware", "site_date"]
