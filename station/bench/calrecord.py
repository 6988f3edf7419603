"""What a finished calibration records, and the series table the bench shows.

The `calibration` record body (ISO/IEC 17025:2017 7.8.4: as found and as left; 7.8.6: the
decision rule stated) is assembled by `station.core.calibration_record` from the state of
`station.bench.calmode.Calibration`; `next_due` is the completion's date on the site's
calendar plus the procedure's interval (contract `calibration.next_due`). Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from station.bench.calmode import Calibration, SeriesComplete, Taken
from station.core.calibration import (
    CalibrationResult,
    calibration_result,
    next_due,
    series_verdict,
)
from station.core.calibration_record import CalibrationRun, calibration_body
from station.core.timefmt import format_ts, site_date


@dataclass(frozen=True)
class CalibrationCompletion:
    """A finished calibration to record: its body, result and any quarantine."""

    body: dict[str, Any]
    result: CalibrationResult
    quarantine: str | None  # the local quarantine reason when the result is fail
    as_found_passed: bool


def completion(
    cal: Calibration, now: datetime, zone: tzinfo, done: SeriesComplete | None = None
) -> CalibrationCompletion:
    """The `calibration` record to write now: `done` is the series just completed, None
    when the technician finishes unadjusted (an as-left series begun is dropped)."""
    assert cal.instrument is not None
    inst, proc = cal.instrument, cal.procedure
    as_found, as_left = list(cal.as_found), None
    if done is not None and cal.as_left is None:
        as_found = list(done.points)
    elif done is not None:
        as_left = list(done.points)
    result = calibration_result([p for p, _ in as_found], [p for p, _ in as_left or []])
    due = (
        None
        if proc.interval_days is None
        else next_due(site_date(now, zone), proc.interval_days, result)
    )
    run = CalibrationRun(
        instrument=inst.id,
        instrument_type=inst.type,
        procedure_id=proc.id,
        procedure_rev=proc.rev,
        operator=cal.operator,
        started=format_ts(cal.started),
        completed=format_ts(now),
        unit=proc.unit,
        rule=proc.rule,
    )
    quarantine = (
        f"failed calibration to {proc.id} rev {proc.rev}"
        + (" (finished unadjusted)" if as_left is None else " (as-left not within limits)")
        if result == "fail"
        else None
    )
    return CalibrationCompletion(
        calibration_body(run, as_found, as_left, result, due),
        result,
        quarantine,
        series_verdict([p for p, _ in as_found]) == "pass",
    )


TABLE_HEAD = ("point", "nominal", "reference", "readings", "error", "MPE", "U", "TUR", "verdict")


def table_rows(points: Sequence[Taken]) -> list[tuple[str, ...]]:
    """The series table: nominal, reference, readings, worst error, MPE, U, TUR, verdict."""

    def g(x: float | None, fmt: str = ".6g") -> str:
        return "-" if x is None else format(x, fmt)

    return [
        (
            p.name,
            g(p.nominal),
            g(p.reference),
            " ".join(format(v, "g") for v in p.readings),
            g(p.error, "+.4g"),
            g(p.mpe if p.mpe is not None else p.limit),
            g(p.u, ".3g"),
            g(p.tur, ".1f"),
            p.verdict,
        )
        for p, _ in points
    ]


def table_text(points: Sequence[Taken]) -> list[str]:
    """The series table as fixed-width lines (notice details, the screen)."""
    rows = [TABLE_HEAD, *table_rows(points)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(TABLE_HEAD))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]


__all__ = ["TABLE_HEAD", "CalibrationCompletion", "completion", "table_rows", "table_text"]
