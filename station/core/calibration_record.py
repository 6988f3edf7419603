"""The body of a `calibration` record and of the `suspect` notice an as-found result raises
(contract `record.schema.json`: `calibration`, `suspect.rejudged`).

Pure assembly over `calibration.PointResult` and `rejudge.Rejudged`: what was measured,
against what, by which rule, with what result, in the record's own words. The time stamps
and the site date are passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from station.core.calibration import (
    CalibrationResult,
    CalibrationRule,
    PointResult,
    series_verdict,
    statement,
)
from station.core.rejudge import Rejudged


@dataclass(frozen=True)
class PointTrace:
    """Where a point's reference came from, and the instruments' original strings."""

    standard: str | None = None
    reference_instrument: str | None = None
    raw: tuple[str, ...] = ()


def point_body(point: PointResult, trace: PointTrace) -> dict[str, Any]:
    """One `as_found`/`as_left` point as the record holds it."""
    return {
        "name": point.name,
        "nominal": point.nominal,
        "test": point.test,
        "standard": trace.standard,
        "reference_instrument": trace.reference_instrument,
        "reference": point.reference,
        "readings": list(point.readings),
        "raw": list(trace.raw),
        "error": point.error,
        "mean_error": point.mean_error,
        "s": point.s,
        "mpe": point.mpe,
        "limit": point.limit,
        "u": point.u,
        "tur": point.tur,
        "verdict": point.verdict,
    }


def series_body(points: Sequence[tuple[PointResult, PointTrace]]) -> dict[str, Any]:
    """An as-found or as-left series: its points and its verdict (the worst point)."""
    return {
        "points": [point_body(p, t) for p, t in points],
        "verdict": series_verdict([p for p, _ in points]),
    }


@dataclass(frozen=True)
class CalibrationRun:
    """What one calibration at the bench was."""

    instrument: str
    instrument_type: str
    procedure_id: str
    procedure_rev: str
    operator: str
    started: str  # contract timestamps (UTC)
    completed: str
    unit: str
    rule: CalibrationRule


def calibration_body(
    run: CalibrationRun,
    as_found: Sequence[tuple[PointResult, PointTrace]],
    as_left: Sequence[tuple[PointResult, PointTrace]] | None,
    result: CalibrationResult,
    next_due: date | None,
) -> dict[str, Any]:
    """The `calibration` record body (ISO/IEC 17025:2017 7.8.4: as found and as left,
    7.8.6: the decision rule stated)."""
    return {
        "instrument": run.instrument,
        "instrument_type": run.instrument_type,
        "procedure": {"id": run.procedure_id, "rev": run.procedure_rev},
        "operator": run.operator,
        "started": run.started,
        "completed": run.completed,
        "unit": run.unit,
        "rule": run.rule,
        "statement": statement(run.rule),
        "as_found": series_body(as_found),
        "as_left": None if as_left is None else series_body(as_left),
        "result": result,
        "next_due": None if next_due is None else next_due.isoformat(),
    }


def rejudged_body(items: Sequence[Rejudged]) -> list[dict[str, Any]]:
    """`suspect.rejudged`: every measurement whose verdict the as-found error changes."""
    return [
        {
            "inspection": r.inspection,
            "characteristic": r.characteristic,
            "sample": r.sample,
            "value": r.value,
            "correction": r.correction,
            "corrected": r.corrected,
            "verdict": r.verdict,
            "verdict_corrected": r.verdict_corrected,
        }
        for r in items
    ]


__all__ = [
    "CalibrationRun",
    "PointTrace",
    "calibration_body",
    "point_body",
    "rejudged_body",
    "series_body",
]
