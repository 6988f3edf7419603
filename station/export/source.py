"""What an export reads: the stored inspections, filtered, one at a time, and the plan
revision each one was inspected against.

Works offline from the local store (contract station.md, `station export`): a USB stick at a
bench without a network is a real use. Dates of `--since`/`--until` are calendar days of the
site (`[station] timezone`), inclusive, judged on the inspection's completion time; record
timestamps stay UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from station.core.timefmt import parse_ts
from station.store import Record, Store

PlanLookup = Callable[[str, str], dict[str, Any] | None]


@dataclass(frozen=True)
class ExportFilter:
    """Which inspections to export: site-calendar days (inclusive) and a plan id."""

    zone: tzinfo
    since: date | None = None
    until: date | None = None
    plan: str | None = None

    def site_day(self, ts: str) -> date:
        """The site's calendar day of a stored UTC timestamp."""
        return parse_ts(ts).astimezone(self.zone).date()

    def wants(self, body: dict[str, Any]) -> bool:
        if self.plan is not None and body["plan"]["id"] != self.plan:
            return False
        if self.since is None and self.until is None:
            return True
        day = self.site_day(str(body["completed"]))
        return (self.since is None or day >= self.since) and (
            self.until is None or day <= self.until
        )


def inspections(store: Store, flt: ExportFilter) -> Iterator[Record]:
    """The stored inspections `flt` wants, ascending by seq, streamed."""
    for record in store.iter_records("inspection"):
        if flt.wants(record.body):
            yield record


def plan_lookup(store: Store) -> PlanLookup:
    """(plan id, rev) -> the plan document of that revision as the store last held it, or
    None (a revision the store never received: the writers fall back to what the
    measurements carry). Looked up once per revision."""
    cache: dict[tuple[str, str], dict[str, Any] | None] = {}

    def lookup(plan_id: str, rev: str) -> dict[str, Any] | None:
        key = (plan_id, rev)
        if key not in cache:
            found = None
            for version in store.master_history("plan", plan_id):
                doc = version.get("doc")
                if isinstance(doc, dict) and doc.get("rev") == rev:
                    found = doc
            cache[key] = found
        return cache[key]

    return lookup


def local_time(ts: str, zone: tzinfo) -> datetime:
    """A stored UTC timestamp as the site's wall-clock time.

    Stored timestamps passed schema validation at append time (the contract's
    `YYYY-MM-DDTHH:MM:SS.mmmZ`), so the C parser `datetime.fromisoformat` reads them; it is
    five times faster than the checking `parse_ts`, which matters at a million rows."""
    return datetime.fromisoformat(ts).astimezone(zone)


__all__ = ["ExportFilter", "PlanLookup", "inspections", "local_time", "plan_lookup"]
