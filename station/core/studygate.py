"""The study gate: a gauge study's verdict limits which tolerances its instrument may measure.

A Type-1 study (Bosch Booklet 10 §4.1, VDA 5 §4.2) and a gauge R&R (AIAG MSA 4th ed.,
ch. III §B) judge an instrument against one tolerance T. Their figures scale with T (Cg =
0.2·T/(6s); %GRR of tolerance = 6·GRR/T), so an instrument found `unacceptable` for T is
unacceptable for every tolerance at most T, and may still be capable of a wider one. Hence:

- the latest study of each gated kind (`type-1`, `grr`) of an instrument counts; an older one
  is superseded by a newer one of the same kind (a repeated study after a repair);
- `unacceptable` refuses the instrument for a characteristic whose tolerance (USL - LSL) is
  at most the study's T; `conditional` (AIAG: 10 % < %GRR <= 30 %, "may be acceptable
  depending on the application") lets it through with a warning;
- a characteristic with one limit only has no tolerance width: the gate does not apply;
- attribute agreement studies judge appraisers' decisions, not a measuring instrument's
  spread, so they do not gate variable characteristics.

The results come as a plain list of `StudyResult`, from this station's `study` records
(`result_of_study`) or, later, from study results the QMS sends in the instrument master
(`source="qms"`): the gate does not care where a result came from, only which is newest.
Pure: no clock, no store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction
from typing import Any, Literal

from station.core.fitness import Fitness
from station.core.model import Characteristic
from station.core.timefmt import parse_ts
from station.core.units import UnitError, compatible, exact, factor

StudyVerdict = Literal["acceptable", "conditional", "unacceptable"]
GATED_KINDS: tuple[str, ...] = ("type-1", "grr")
_NAMES = {"type-1": "Type-1 study", "grr": "gauge R&R"}


@dataclass(frozen=True)
class StudyResult:
    """One study's verdict for an instrument, wherever it was run.

    Attributes:
        instrument: the instrument id.
        kind: the procedure kind (`type-1`, `grr`, `attribute-agreement`).
        verdict: the study's verdict.
        tolerance: the tolerance T the study judged against (None: none given).
        date: when the study was completed (UTC-aware); the newest of a kind counts.
        source: where the result came from ("station": a `study` record here; "qms").
        unit: the unit of `tolerance` (None: the characteristic's own).
        procedure: the procedure id, for the operator's reason text.
    """

    instrument: str
    kind: str
    verdict: StudyVerdict
    tolerance: float | None
    date: datetime
    source: str = "station"
    unit: str | None = None
    procedure: str = ""


def result_of_study(body: Mapping[str, Any], source: str = "station") -> StudyResult:
    """The gate's view of a `study` record body (contract record.schema.json `study`)."""
    tol = body.get("tolerance")
    return StudyResult(
        instrument=str(body["instrument"]),
        kind=str(body["kind"]),
        verdict=body["verdict"],
        tolerance=None if tol is None else float(tol),
        date=parse_ts(str(body["completed"])),
        source=source,
        unit=body.get("unit"),
        procedure=str(body.get("procedure", {}).get("id", "")),
    )


def latest_per_kind(results: Iterable[StudyResult], instrument: str) -> list[StudyResult]:
    """The newest result of each gated kind for `instrument` (ties: the later in the list)."""
    newest: dict[str, StudyResult] = {}
    for r in results:
        if r.instrument != instrument or r.kind not in GATED_KINDS:
            continue
        old = newest.get(r.kind)
        if old is None or r.date >= old.date:
            newest[r.kind] = r
    return [newest[k] for k in GATED_KINDS if k in newest]


def _tolerance_in(c: Characteristic, unit: str | None) -> Fraction | None:
    """USL - LSL of `c`, exactly, in `unit` (None: no width, or units that cannot compare)."""
    if c.usl is None or c.lsl is None:
        return None
    width = exact(c.usl) - exact(c.lsl)
    if unit is None or c.unit is None:
        return width
    if not compatible(c.unit, unit):
        return None
    try:
        return width * factor(c.unit, unit)
    except UnitError:
        return None


def study_findings(
    results: Iterable[StudyResult], instrument: str, characteristic: Characteristic
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(blocking reasons, warnings) of the studies of `instrument` for `characteristic`."""
    reasons: list[str] = []
    warnings: list[str] = []
    for r in latest_per_kind(results, instrument):
        if r.verdict == "acceptable" or r.tolerance is None:
            continue
        width = _tolerance_in(characteristic, r.unit)
        if width is None or width > exact(r.tolerance):
            continue
        unit = f" {r.unit}" if r.unit else ""
        what = f"{_NAMES.get(r.kind, r.kind)} {r.procedure}".rstrip()
        when = r.date.date().isoformat()
        text = (
            f"instrument {instrument}: its {what} of {when} is {r.verdict} for tolerances up to "
            f"{r.tolerance:g}{unit}; {characteristic.id} has {float(width):g}{unit}"
        )
        (reasons if r.verdict == "unacceptable" else warnings).append(text)
    return tuple(reasons), tuple(warnings)


def gate_fitness(
    fit: Fitness,
    results: Iterable[StudyResult],
    instrument: str,
    characteristic: Characteristic | None,
) -> Fitness:
    """`fit` with the study gate's reasons and warnings added (None: nothing to gate)."""
    if characteristic is None or characteristic.kind != "variable":
        return fit
    reasons, warnings = study_findings(results, instrument, characteristic)
    if not reasons and not warnings:
        return fit
    all_reasons = (*fit.reasons, *reasons)
    return replace(
        fit, usable=not all_reasons, reasons=all_reasons, warnings=(*fit.warnings, *warnings)
    )


__all__ = [
    "GATED_KINDS",
    "StudyResult",
    "StudyVerdict",
    "gate_fitness",
    "latest_per_kind",
    "result_of_study",
    "study_findings",
]
