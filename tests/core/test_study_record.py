"""The `study` record body: built from procedure, readings and results, valid against the
contract's record schema (jsonschema, `station.schemas`), JSON-safe, in the record's words."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from station.core.model import Procedure
from station.core.msa_anova import anova
from station.core.msa_attribute import Decision, Judgement, attribute_agreement
from station.core.msa_grr import GrrReading, average_range
from station.core.msa_tables import MsaError
from station.core.msa_type1 import type1
from station.core.study_record import (
    StudyReading,
    StudyRun,
    attribute_results,
    grr_results,
    grr_verdict_of,
    study_body,
    type1_results,
)
from station.schemas import schema_errors

T0, T1 = "2026-12-02T09:00:00.000Z", "2026-12-02T09:20:31.250Z"


def proc(kind: Any, **kw: Any) -> Procedure:
    return Procedure(
        id=f"MSA-{kind}", rev="A", status="released", kind=kind,
        instrument_types=("caliper",), unit="mm", **kw,
    )  # fmt: skip


def envelope(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": "station.record/1", "type": "study", "id": "019a-0042", "seq": 42,
        "site": "plant-a", "station": "bench-01", "ts": T1, "prev": "0" * 64, "hash": "f" * 64,
        "body": body,
    }  # fmt: skip


def assert_valid(body: dict[str, Any]) -> None:
    assert schema_errors("record", envelope(body)) == []
    json.dumps(body, allow_nan=False)  # no NaN/inf: the record carries JSON numbers


def test_type1_body() -> None:
    values = [10.002, 10.001, 10.003, 10.002, 10.000, 10.002] * 5
    result = type1(values, reference=10.002, tolerance=0.1, resolution=0.001)
    readings = [
        StudyReading(trial=i + 1, value=v, raw=f"+{v:.3f}", ts=T0) for i, v in enumerate(values)
    ]
    run = StudyRun(
        "CAL-0042", "op-17", T0, T1, standard="GB-10", reference=10.002, resolution=0.001
    )
    body = study_body(
        proc("type-1", tolerance=0.1, readings=30),
        run,
        readings,
        type1_results(result),
        result.verdict,
    )
    assert_valid(body)
    assert body["kind"] == "type-1" and body["standard"] == "GB-10" and body["tolerance"] == 0.1
    assert body["results"]["cg"] == result.cg and body["verdict"] == result.verdict
    assert body["readings"][0] == {
        "appraiser": None, "part": None, "trial": 1, "value": 10.002, "decision": None,
        "raw": "+10.002", "ts": T0,
    }  # fmt: skip


def test_flat_type1_body_carries_nulls_not_nan() -> None:
    result = type1([2.0] * 25, reference=2.0, tolerance=0.1)
    readings = [StudyReading(trial=i + 1, value=2.0) for i in range(25)]
    body = study_body(
        proc("type-1", tolerance=0.1, readings=25),
        StudyRun("G", "op", T0, T1),
        readings,
        type1_results(result),
        result.verdict,
    )
    assert_valid(body)
    assert body["results"]["cg"] is None
    assert "ts" not in body["readings"][0]  # the schema's ts cannot be null


def test_grr_body_with_both_methods() -> None:
    rng = random.Random(5)
    parts = [rng.gauss(0, 1) for _ in range(5)]
    readings = [
        GrrReading(a, f"P{p}", t, round(parts[p] + rng.gauss(0, 0.05), 3))
        for a in ("op-1", "op-2")
        for p in range(5)
        for t in (1, 2)
    ]
    avg, an = average_range(readings, tolerance=4.0), anova(readings, tolerance=4.0)
    body = study_body(
        proc("grr", tolerance=4.0, parts=5, appraisers=2, trials=2),
        StudyRun("CAL-0042", "op-1", T0, T1, appraisers=("op-1", "op-2")),
        [StudyReading(r.trial, r.appraiser, r.part, float(r.value)) for r in readings],
        grr_results(avg, an),
        grr_verdict_of(avg, an),
    )
    assert_valid(body)
    results = body["results"]
    assert set(results) == {"average-range", "anova"}
    for method in results.values():
        assert {"ev", "av", "grr", "pv", "tv", "pct_ev", "pct_av", "pct_grr", "pct_pv"} <= set(
            method
        )
        assert {"pct_tolerance", "ndc"} <= set(method)
    assert results["anova"]["table"][-1]["ms"] is None  # the total row has no mean square
    assert body["appraisers"] == ["op-1", "op-2"]


def test_grr_verdict_is_the_worse_method() -> None:
    rng = random.Random(9)
    readings = [
        GrrReading(a, f"P{p}", t, p * 0.1 + rng.gauss(0, 0.2))
        for a in "AB"
        for p in range(4)
        for t in (1, 2)
    ]
    avg, an = average_range(readings), anova(readings)
    ranks = ["acceptable", "conditional", "unacceptable"]
    worst = max(ranks.index(avg.result.verdict), ranks.index(an.result.verdict))
    assert grr_verdict_of(avg, an) == ranks[worst]


def test_attribute_body() -> None:
    refs: dict[str, Decision] = {"S1": "accept", "S2": "reject", "S3": "accept"}
    judgements = [
        Judgement(a, p, t, d) for a in ("op-1", "op-2") for p, d in refs.items() for t in (1, 2)
    ]
    result = attribute_agreement(judgements, refs)
    body = study_body(
        proc(
            "attribute-agreement", parts=3, appraisers=2, trials=2, references=tuple(refs.items())
        ),
        StudyRun("VIS-1", "op-1", T0, T1, appraisers=("op-1", "op-2")),
        [
            StudyReading(j.trial, j.appraiser, j.part, decision=j.decision, ts=T0)
            for j in judgements
        ],
        attribute_results(result),
        result.verdict,
    )
    assert_valid(body)
    assert body["verdict"] == "acceptable"
    assert body["results"]["between"][0]["appraisers"] == ["op-1", "op-2"]
    assert body["results"]["appraisers"][0]["kappa_reference"]["kappa"] == 1.0


def test_a_calibration_procedure_is_not_a_study() -> None:
    with pytest.raises(MsaError, match="not a gauge study"):
        study_body(
            proc("calibration"), StudyRun("G", "op", T0, T1), [StudyReading(1)], {}, "acceptable"
        )
    with pytest.raises(MsaError, match="at least one reading"):
        study_body(proc("type-1"), StudyRun("G", "op", T0, T1), [], {}, "acceptable")
