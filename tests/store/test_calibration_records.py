"""Contract 1.1 record types `calibration` and `suspect` with `rejudged` (issue 15): the bodies
`station.core.calibration_record` builds from judged points are accepted by the store, which
validates every envelope against `record.schema.json` before it commits, and read back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from station.core.calibration import (
    PointResult,
    PointSpec,
    calibration_result,
    judge_point,
    next_due,
)
from station.core.calibration_record import (
    CalibrationRun,
    PointTrace,
    calibration_body,
    rejudged_body,
)
from station.core.rejudge import ErrorCurve, RecordedMeasurement, rejudge
from station.store import RecordInvalid, Store
from tests.helpers.records import inspection, measurement

RUN = CalibrationRun(
    "CAL-0042", "caliper", "CP-CALIPER", "A", "op-17",
    "2026-12-02T08:00:00.000Z", "2026-12-02T08:20:00.000Z", "mm", "simple",
)  # fmt: skip


def points(offset: float) -> list[tuple[PointResult, PointTrace]]:
    out = []
    for gb, mpe in ((10.0, 0.02), (25.0, 0.02), (50.0, 0.02)):
        spec = PointSpec(f"outside-{int(gb)}", gb, 3, mpe=mpe, standard_type="gauge-block")
        readings = [round(gb + offset, 3)] * 3
        judged = judge_point(spec, readings, reference=gb, u_ref=0.0001, resolution=0.01)
        raw = tuple(f"01A+{r:011.3f}" for r in readings)
        out.append((judged, PointTrace(standard=f"GB-{int(gb):02d}", raw=raw)))
    return out


def test_an_adjusted_calibration_and_its_suspect_notice_are_valid_records(tmp_path: Path) -> None:
    with Store.open(tmp_path / "station.db", site="plant-a", station="bench-01") as store:
        # Recorded as 12.410 mm (above usl 12.4: fail) with a caliper that, as found, read
        # 0.03 mm high at every point: the part was 12.380 mm, within tolerance.
        bad = measurement(value=12.41) | {"verdict": "fail"}
        used = store.append("inspection", inspection(bad, result="reject"))
        found, left = points(0.03), points(0.0)
        result = calibration_result([p for p, _ in found], [p for p, _ in left])
        assert result == "adjusted"
        due = next_due(date(2026, 12, 2), 365, result)
        cal = store.append(
            "calibration",
            calibration_body(RUN, found, left, result, due),
        )
        curve = ErrorCurve.of([p for p, _ in found], "mm")
        m = used.body["measurements"][0]
        flips = rejudge(
            [RecordedMeasurement(used.id, m["characteristic"], 1, m["value"], "mm",
                                 m["lsl"], m["usl"], "simple", None, m["verdict"])],
            curve,
        )  # fmt: skip
        assert [(r.verdict, r.verdict_corrected) for r in flips] == [("fail", "pass")]
        assert flips[0].corrected == pytest.approx(12.38)
        suspect = store.append(
            "suspect",
            {
                "instrument": "CAL-0042",
                "cause": "calibration-as-found",
                "since": None,
                "check": None,
                "inspections": [used.id],
                "parts": [used.body["part"]],
                "calibration": cal.id,
                "rejudged": rejudged_body(flips),
            },
        )
        back = store.record(cal.seq)
        assert back is not None and back.body["as_found"]["verdict"] == "fail"
        assert back.body["as_left"]["verdict"] == "pass"
        assert back.body["next_due"] == "2027-12-02"
        assert back.body["as_found"]["points"][0]["raw"] == ["01A+0000010.030"] * 3
        assert suspect.body["calibration"] == cal.id
        assert suspect.body["rejudged"][0]["verdict_corrected"] == "pass"


def test_a_calibration_body_the_schema_refuses_is_not_written(tmp_path: Path) -> None:
    with Store.open(tmp_path / "station.db", site="plant-a", station="bench-01") as store:
        body = calibration_body(RUN, points(0.0), None, "pass", date(2027, 12, 2))
        body["result"] = "passed"
        with pytest.raises(RecordInvalid, match="result"):
            store.append("calibration", body)
        assert store.last_seq() == 0
