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
_VERDICTS = get_args(Verdict)


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


def measurements_with(
    instrument_id: str, using: Sequence[Record], unit: str
) -> Iterator[RecordedMeasurement]:
    """Every variable measurement of `using` taken with the instrument, in a unit the
    calibration's errors convert to (one in another dimension cannot be corrected)."""
    for rec in using:
        for m in rec.body.get("measurements", []):
            value, m_unit = m.get("value"), m.get("unit")
            if m.get("instrument") != instrument_id or m.get("kind") != "variable":
                continue
            if not isinstance(value, (int, float)) or not isinstance(m_unit, str):
                continue
            if not compatible(m_unit, unit) or m.get("verdict") not in _VERDICTS:
                continue
            rule = m.get("rule") if m.get("rule") in _RULES else "simple"
            yield RecordedMeasurement(
                inspection=rec.id,
                characteristic=str(m["characteristic"]),
                sample=int(m["sample"]),
                value=float(value),
                unit=m_unit,
                lsl=m.get("lsl"),
                usl=m.get("usl"),
                rule=cast(DecisionRuleName, rule),
                u=m.get("u"),
                verdict=cast(Verdict, m["verdict"]),
            )


@dataclass(frozen=True)
class SuspectFinding:
    """What an as-found failure makes suspect: the bound, the inspections, the flips."""

    bound: SuspectBound
    using: list[Record]
    rejudged: list[Rejudged]


def find_suspects(
    store: Store,
    instrument: Instrument,
    zone: tzinfo,
    as_found: Sequence[PointResult],
    unit: str,
) -> SuspectFinding:
    """Every inspection since the instrument was last known good, and each of its
    measurements with the instrument whose verdict flips once corrected by the as-found
    error curve. Served by the store's instrument-use index: the cost follows the number of
    inspections in the window, not the size of the store (benchmarks/calibration_bench.py).

    Raises:
        StoreError: the store cannot be read.
    """
    bound = suspect_bound(instrument.calibrated, zone, store.last_passing_check(instrument.id))
    using = (
        store.inspections_using(instrument.id, bound.since)
        if bound.after_seq is None
        else store.inspections_using_after(instrument.id, bound.after_seq)
    )
    curve = ErrorCurve.of(as_found, unit)
    changed = rejudge(measurements_with(instrument.id, using, unit), curve)
    return SuspectFinding(bound, using, changed)


def suspect_body(
    instrument_id: str,
    bound: SuspectBound,
    calibration_id: str,
    using: Sequence[Record],
    rejudged: Sequence[Rejudged],
) -> dict[str, Any]:
    """The `suspect` record body, cause `calibration-as-found`."""
    parts: list[dict[str, Any]] = []
    for rec in using:
        if rec.body["part"] not in parts:
            parts.append(rec.body["part"])
    return {
        "instrument": instrument_id,
        "cause": "calibration-as-found",
        "since": bound.since,
        "check": None,
        "inspections": [rec.id for rec in using],
        "parts": parts,
        "calibration": calibration_id,
        "rejudged": rejudged_body(rejudged),
    }


def flipped_lines(rejudged: Sequence[Rejudged], using: Sequence[Record]) -> list[str]:
    """One line per re-judged measurement: the part, the value and the verdict change."""
    parts = {rec.id: rec.body["part"] for rec in using}
    out = []
    for r in rejudged:
        p = parts.get(r.inspection, {})
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
    "measurements_with",
    "suspect_body",
    "suspect_bound",
]
