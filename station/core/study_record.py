"""The body of a `study` record (contract `record.schema.json`: `study`) for the procedure
kinds `type-1`, `grr` and `attribute-agreement` (`procedure.schema.json`).

Pure assembly: what was measured (every reading, in the order taken), under which procedure
revision, by whom, with the results of `msa_type1`, `msa_grr` + `msa_anova` or
`msa_attribute` in the record's own words (the `results` description of the schema) and the
verdict. Numbers are floats (JSON numbers); nothing that JSON cannot carry (NaN) is written.
Time stamps are passed in, already in the contract's format.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from station.core.model import Procedure
from station.core.msa_anova import AnovaStudy
from station.core.msa_attribute import AttributeResult, Decision
from station.core.msa_grr import AverageRange, GrrResult
from station.core.msa_tables import MsaError
from station.core.msa_type1 import Type1Result

StudyVerdict = Literal["acceptable", "conditional", "unacceptable"]
STUDY_KINDS = ("type-1", "grr", "attribute-agreement")
_RANK: dict[StudyVerdict, int] = {"acceptable": 0, "conditional": 1, "unacceptable": 2}


@dataclass(frozen=True)
class StudyReading:
    """One reading or decision as the record keeps it (`study.readings[]`)."""

    trial: int
    appraiser: str | None = None
    part: str | None = None
    value: float | None = None
    decision: Decision | None = None
    raw: str | None = None
    ts: str | None = None  # contract timestamp; left out when unknown (the schema has no null)


@dataclass(frozen=True)
class StudyRun:
    """What one study at the bench was, beyond the procedure."""

    instrument: str
    operator: str
    started: str  # contract timestamps (UTC)
    completed: str
    appraisers: tuple[str, ...] = ()
    standard: str | None = None  # type-1: the reference standard measured
    reference: float | None = None  # type-1: its reference value
    resolution: float | None = None  # the instrument's resolution


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def type1_results(r: Type1Result) -> dict[str, Any]:
    """`results` of a type-1 study."""
    return {
        "n": r.n,
        "mean": r.mean,
        "s": r.s,
        "bias": r.bias,
        "cg": _num(r.cg),
        "cgk": _num(r.cgk),
        "resolution_pct": _num(r.resolution_pct),
        "notes": list(r.notes),
    }


def _method(r: GrrResult) -> dict[str, Any]:
    return {
        "ev": r.ev,
        "av": r.av,
        "grr": r.grr,
        "pv": r.pv,
        "tv": r.tv,
        "pct_ev": _num(r.pct_ev),
        "pct_av": _num(r.pct_av),
        "pct_grr": _num(r.pct_grr),
        "pct_pv": _num(r.pct_pv),
        "pct_tolerance": _num(r.pct_tolerance),
        "ndc": r.ndc,
        "verdict": r.verdict,
        "notes": list(r.notes),
    }


def grr_results(avg: AverageRange, anova: AnovaStudy) -> dict[str, Any]:
    """`results` of a grr study: both methods, the range chart and the ANOVA table."""
    return {
        "average-range": {
            **_method(avg.result),
            "r_bar_bar": avg.r_bar_bar,
            "x_diff": avg.x_diff,
            "r_p": avg.r_p,
            "ucl_r": avg.ucl_r,
            "beyond_ucl": [
                {"appraiser": o.appraiser, "part": o.part, "range": o.range} for o in avg.beyond_ucl
            ],
        },
        "anova": {
            **_method(anova.result),
            "interaction": anova.interaction,
            "reproducibility": anova.reproducibility,
            "p_interaction": _num(anova.p_interaction),
            "pooled": anova.pooled,
            "table": [
                {"source": t.source, "df": t.df, "ss": t.ss, "ms": _num(t.ms), "f": _num(t.f)}
                for t in anova.table
            ],
        },
    }


def grr_verdict_of(avg: AverageRange, anova: AnovaStudy) -> StudyVerdict:
    """The study's verdict: the worse of the two methods (neither may hide the other)."""
    return max((avg.result.verdict, anova.result.verdict), key=lambda v: _RANK[v])


def attribute_results(r: AttributeResult) -> dict[str, Any]:
    """`results` of an attribute-agreement study."""

    def kappa(k: Any) -> dict[str, Any]:
        return {
            "kappa": k.kappa,
            "p_observed": k.p_observed,
            "p_chance": k.p_chance,
            "n": k.n,
            "degenerate": k.degenerate,
        }

    return {
        "appraisers": [
            {
                "appraiser": s.appraiser,
                "kappa_within": s.within,
                "kappa_reference": kappa(s.vs_reference),
                "effectiveness": s.effectiveness,
                "miss_rate": s.miss_rate,
                "false_alarm_rate": s.false_alarm_rate,
            }
            for s in r.appraisers
        ],
        "between": [{"appraisers": [a, b], **kappa(k)} for a, b, k in r.between],
        "notes": list(r.notes),
    }


def _reading(r: StudyReading) -> dict[str, Any]:
    body: dict[str, Any] = {
        "appraiser": r.appraiser,
        "part": r.part,
        "trial": r.trial,
        "value": _num(r.value),
        "decision": r.decision,
        "raw": r.raw,
    }
    if r.ts is not None:
        body["ts"] = r.ts
    return body


def study_body(
    procedure: Procedure,
    run: StudyRun,
    readings: Sequence[StudyReading],
    results: dict[str, Any],
    verdict: StudyVerdict,
) -> dict[str, Any]:
    """The `study` record body."""
    if procedure.kind not in STUDY_KINDS:
        raise MsaError(f"procedure {procedure.id} is a {procedure.kind}, not a gauge study")
    if not readings:
        raise MsaError("a study record needs at least one reading")
    return {
        "kind": procedure.kind,
        "procedure": {"id": procedure.id, "rev": procedure.rev},
        "instrument": run.instrument,
        "standard": run.standard,
        "operator": run.operator,
        "appraisers": list(run.appraisers),
        "started": run.started,
        "completed": run.completed,
        "unit": procedure.unit,
        "tolerance": procedure.tolerance,
        "reference": run.reference,
        "resolution": run.resolution,
        "readings": [_reading(r) for r in readings],
        "results": results,
        "verdict": verdict,
    }


__all__ = [
    "STUDY_KINDS",
    "StudyReading",
    "StudyRun",
    "StudyVerdict",
    "attribute_results",
    "grr_results",
    "grr_verdict_of",
    "study_body",
    "type1_results",
]
