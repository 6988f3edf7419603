"""The suspect notice an as-found calibration raises, and the re-judgement of earlier parts.

ISO 9001:2015 7.1.5.2 and IATF 16949:2016 7.1.5.2.1: when an instrument is found outside
its limits, the validity of earlier results must be assessed. An as-found series that is
not `pass` makes every inspection with the instrument since it was last known good suspect:
since the later of its `calibrated` date (midnight on the site's calendar) and its last
passing check at this station. Each of those inspections' measurements taken with this
instrument is re-judged with the as-found error (`station.core.rejudge`); the ones whose
verdict changes go into the suspect record's `rejudged` (contract `record.schema.json`).

When the last passing check is the later bound, "since" is taken in record order (its
seq), as a failed check's suspect list is (`station.bench.checkmode`): a station clock
set back must not drop inspections from the list. `find_suspects` only reads the store; the
workflow writes the record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any, cast, get_args

from station.core.calibration import PointResult
from station.core.calibration_record import rejudged_body
from station.core.model import DecisionRuleName, Instrument
from station.core.rejudge import ErrorCurve, RecordedMeasurement, Rejudged, rejudge
from station.core.timefmt import format_ts, parse_ts
from station.core.units import compatible
from station.core.verdict import Verdict
from station.store import Record, Store

_RULES = get_args(DecisionRuleName)


@dataclass(frozen=True)
class SuspectBound:
    """Since when inspections are suspect: `since` for the record; `after_seq` when the
    bound is a check (record order), else None (a time bound at `since`; None = ever)."""

    since: str | None
    after_seq: int | None


def suspect_bound(calibrated: date | None, zone: tzinfo, last_check: Record | None) -> SuspectBound:
    """The later of the calibration date (midnight site time) and the last passing check."""
    cal_at = (
        None
        if calibrated is None
        else datetime(calibrated.year, calibrated.month, calibrated.day, tzinfo=zone).astimezone(
            UTC
        )
    )
    if last_check is not None and (cal_at is None or parse_ts(last_check.ts) >= cal_at):
        return SuspectBound(last_check.ts, last_check.seq)
    if cal_at is not None:
        return SuspectBound(format_ts(cal_at), None)
    return SuspectBound(None, 0)


def measurements_of(rows: Sequence[tuple[Any, ...]], unit: str) -> Iterator[RecordedMeasurement]:
    """The store's `measurements_using` rows as re-judgeable measurements, those in a unit
    the calibration's errors convert to (one in another dimension cannot be corrected)."""
    for rid, char, sample, value, m_unit, lsl, usl, rule, u, verdict in rows:
        if not compatible(m_unit, unit):
            continue
        yield RecordedMeasurement(
            inspection=rid,
            characteristic=char,
            sample=int(sample),
            value=float(value),
            unit=m_unit,
            lsl=lsl,
            usl=usl,
            rule=cast(DecisionRuleName, rule if rule in _RULES else "simple"),
            u=u,
            verdict=cast(Verdict, verdict),
        )


@dataclass(frozen=True)
class SuspectFinding:
    """What an as-found failure makes suspect: the bound, the inspections (ids, ascending)
    with each one's part, and the measurements whose verdict flips."""

    bound: SuspectBound
    inspections: list[str]
    part_texts: dict[str, str]  # inspection id -> its part, canonical JSON (the index's)
    rejudged: list[Rejudged]

    def part(self, inspection_id: str) -> dict[str, Any]:
        """The inspection's part ({} when the index has none)."""
        text = self.part_texts.get(inspection_id)
        return {} if text is None else dict(json.loads(text))


def find_suspects(
    store: Store,
    instrument: Instrument,
    zone: tzinfo,
    as_found: Sequence[PointResult],
    unit: str,
) -> SuspectFinding:
    """Every inspection since the instrument was last known good, and each of its
    measurements with the instrument whose verdict flips once corrected by the as-found
    error curve. Served by the store's instrument-use and measurement indexes, no record
    decoded: the cost follows the inspections in the window, not the size of the store
    (benchmarks/calibration_bench.py).

    Raises:
        StoreError: the store cannot be read.
    """
    bound = suspect_bound(instrument.calibrated, zone, store.last_passing_check(instrument.id))
    return suspects_in(store, instrument.id, bound, as_found, unit)


def suspects_in(
    store: Store,
    instrument_id: str,
    bound: SuspectBound,
    as_found: Sequence[PointResult],
    unit: str,
) -> SuspectFinding:
    """`find_suspects` within a given bound."""
    window: dict[str, Any] = (
        {"since": bound.since} if bound.after_seq is None else {"after_seq": bound.after_seq}
    )
    found = store.inspection_parts_using(instrument_id, **window)
    texts = {rid: text for rid, text in found if text is not None}
    rows = store.measurements_using(instrument_id, **window)
    changed = rejudge(measurements_of(rows, unit), ErrorCurve.of(as_found, unit))
    return SuspectFinding(bound, [rid for rid, _ in found], texts, changed)


def suspect_body(instrument_id: str, calibration_id: str, found: SuspectFinding) -> dict[str, Any]:
    """The `suspect` record body, cause `calibration-as-found` (each part once)."""
    # Keyed by the part's canonical text: one pass, each distinct part decoded once.
    unique = dict.fromkeys(t for rid in found.inspections if (t := found.part_texts.get(rid)))
    return {
        "instrument": instrument_id,
        "cause": "calibration-as-found",
        "since": found.bound.since,
        "check": None,
        "inspections": list(found.inspections),
        "parts": [json.loads(t) for t in unique],
        "calibration": calibration_id,
        "rejudged": rejudged_body(found.rejudged),
    }


def flipped_lines(found: SuspectFinding) -> list[str]:
    """One line per re-judged measurement: the part, the value and the verdict change."""
    out = []
    for r in found.rejudged:
        p = found.part(r.inspection)
        part = f"{p.get('number', '?')} {p.get('serial') or ''}".strip()
        out.append(
            f"{part} {r.characteristic}#{r.sample}: {r.value:g} -> {r.corrected:g} "
            f"{r.verdict} -> {r.verdict_corrected}"
        )
    return out


__all__ = [
    "SuspectBound",
    "SuspectFinding",
    "find_suspects",
    "flipped_lines",
    "measurements_of",
    "suspect_body",
    "suspect_bound",
    "suspects_in",
]
