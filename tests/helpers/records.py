"""Record bodies as the contract has them (docs/contract/mqtt.md, "Bodies"), for the tests that
append records to a store or put them on the wire: one inspection with its measurements, an
instrument check, an operator event, and the numbered `test` event of synthetic backlogs."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from station.core.calibration import CalibrationResult


def measurement(
    characteristic: str = "bore-dia",
    value: float = 12.346,
    *,
    instrument: str = "CAL-0042",
    sample: int = 1,
    ts: str = "2026-11-21T08:00:00.000Z",
) -> dict[str, Any]:
    """One passing variable measurement of plan P-1001's bore (12.3 .. 12.4 mm)."""
    return {
        "characteristic": characteristic,
        "sample": sample,
        "kind": "variable",
        "value": value,
        "unit": "mm",
        "raw": f"01A+{value:011.3f}",
        "nominal": 12.35,
        "lsl": 12.3,
        "usl": 12.4,
        "rule": "simple",
        "u": None,
        "verdict": "pass",
        "instrument": instrument,
        "cal_due": "2027-03-01",
        "ts": ts,
    }


def inspection(
    *measurements: dict[str, Any],
    serial: str | None = "SN-0001",
    plan: tuple[str, str] = ("P-1001", "C"),
    result: str = "accept",
) -> dict[str, Any]:
    """An inspection of part PN-778 `serial` (one `measurement()` when none is given)."""
    return {
        "plan": {"id": plan[0], "rev": plan[1]},
        "part": {"number": "PN-778", "serial": serial, "lot": "L42"},
        "operator": "op-17",
        "reason": "production",
        "started": "2026-11-21T08:00:00.000Z",
        "completed": "2026-11-21T08:00:30.000Z",
        "result": result,
        "measurements": list(measurements) or [measurement()],
    }


def instrument_check(instrument: str = "CAL-0042", verdict: str = "pass") -> dict[str, Any]:
    """A daily check of `instrument` against gauge block GB-25."""
    return {
        "instrument": instrument,
        "standard": "GB-25",
        "reference": 25.0,
        "unit": "mm",
        "readings": [25.001, 25.0],
        "bias": 0.0005,
        "mpe": 0.004,
        "verdict": verdict,
        "operator": "op-17",
    }


def event(kind: str = "login", operator: str | None = "op-17") -> dict[str, Any]:
    """An operator event with no detail."""
    return {"kind": kind, "operator": operator, "detail": {}}


def numbered_event(n: int) -> dict[str, Any]:
    """The `test` event numbered `n`: the body of synthetic backlogs and hand-built chains."""
    return {"kind": "test", "operator": None, "detail": {"n": n}}


def calibration_payload(
    tmp_path: Path, result: CalibrationResult, completed: str
) -> tuple[str, bytes]:
    """(topic, payload) of a one-point CAL-0042 calibration record (seq 1), as a station
    publishes it: appended to a real store of its own under `tmp_path`."""
    from station.core.calibration import PointSpec, judge_point
    from station.core.calibration_record import CalibrationRun, PointTrace, calibration_body
    from station.store import Store

    spec = PointSpec("outside-25", 25.0, 1, mpe=0.02)
    point = judge_point(spec, [25.01], reference=25.0, u_ref=0.0001, resolution=0.01)
    run = CalibrationRun(
        "CAL-0042", "caliper", "CP-CALIPER", "A", "op-17",
        "2026-12-02T22:30:00.000Z", completed, "mm", "simple",
    )  # fmt: skip
    due = date(2027, 12, 2) if result != "fail" else None
    body = calibration_body(run, [(point, PointTrace("GB-25"))], None, result, due)
    with Store.open(tmp_path / f"{result}.db", site="plant-a", station="bench-01") as store:
        record = store.append("calibration", body)
        return "qms/v1/plant-a/bench-01/record/calibration", record.payload()


__all__ = [
    "calibration_payload",
    "event",
    "inspection",
    "instrument_check",
    "measurement",
    "numbered_event",
]


def study(
    instrument: str = "CAL-0042",
    verdict: str = "unacceptable",
    *,
    kind: str = "type-1",
    tolerance: float = 0.1,
    completed: str = "2026-11-21T09:00:00.000Z",
) -> dict[str, Any]:
    """A gauge study record body (contract record.schema.json `study`), figures abridged:
    what the study gate reads (instrument, kind, verdict, tolerance, unit, completed)."""
    return {
        "kind": kind,
        "procedure": {"id": "T1-CAL", "rev": "A"},
        "instrument": instrument,
        "standard": "GB-25" if kind == "type-1" else None,
        "operator": "op-17",
        "started": "2026-11-21T08:30:00.000Z",
        "completed": completed,
        "unit": "mm",
        "tolerance": tolerance,
        "reference": 25.0 if kind == "type-1" else None,
        "readings": [{"trial": 1, "value": 25.001, "raw": "01A+00025.001", "ts": completed}],
        "results": {"cg": 0.9, "cgk": 0.8},
        "verdict": verdict,
    }
