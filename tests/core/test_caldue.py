"""The calibration-due list a technician reads at the bench (ISO 10012 7.1.2)."""

from __future__ import annotations

from datetime import date

import pytest

from station.core.caldue import due_list
from station.core.model import Instrument, MasterData, Procedure

TODAY = date(2026, 12, 2)


def inst(
    iid: str, due: date, *, status: str = "active", type_: str = "caliper", **kw: object
) -> Instrument:
    return Instrument(iid, type_, status, due, "mm", 0.01, **kw)  # type: ignore[arg-type]


def proc(
    pid: str, types: tuple[str, ...], *, status: str = "released", kind: str = "calibration"
) -> Procedure:
    return Procedure(pid, "A", status, kind, types, "mm")  # type: ignore[arg-type]


MASTER = MasterData(
    instruments=(
        inst("CAL-3", date(2027, 6, 1)),
        inst("CAL-1", date(2026, 12, 20)),
        inst("CAL-2", date(2026, 11, 30), status="quarantined"),
        inst("CAL-0", date(2026, 10, 1)),
        inst("OLD-1", date(2020, 1, 1), status="retired"),
        inst("TRQ-1", date(2026, 12, 2), type_="torque-wrench", procedure="CP-TW"),
        inst("BAL-1", date(2026, 12, 31), type_="balance"),
    ),
    procedures=(
        proc("CP-CALIPER", ("caliper",)),
        proc("CP-CALIPER-2", ("caliper",), status="draft"),
        proc("T1-CALIPER", ("caliper",), kind="type-1"),
        proc("CP-TW", ("torque-wrench",)),
        proc("CP-TW-GENERIC", ("torque-wrench",)),
    ),
)


def test_overdue_first_then_due_within_the_horizon_then_later_and_never_retired() -> None:
    rows = due_list(MASTER, TODAY, horizon_days=30)
    assert [(r.instrument.id, r.group, r.days) for r in rows] == [
        ("CAL-0", "overdue", -62),
        ("CAL-2", "overdue", -2),  # quarantined instruments are listed: they need calibrating
        ("TRQ-1", "due", 0),  # due today is still usable today, and due
        ("CAL-1", "due", 18),
        ("BAL-1", "due", 29),
        ("CAL-3", "later", 181),
    ]


def test_the_horizon_moves_instruments_between_due_and_later() -> None:
    groups = {r.instrument.id: r.group for r in due_list(MASTER, TODAY, horizon_days=20)}
    assert groups["CAL-1"] == "due" and groups["BAL-1"] == "later"
    with pytest.raises(ValueError, match="horizon"):
        due_list(MASTER, TODAY, horizon_days=-1)


def test_each_row_names_the_released_calibration_procedure_to_use() -> None:
    rows = {r.instrument.id: r for r in due_list(MASTER, TODAY)}
    # By type: only the released calibration procedure, not the draft or the Type-1 study.
    assert rows["CAL-1"].procedures == ("CP-CALIPER",)
    # The instrument's own procedure wins over others of its type.
    assert rows["TRQ-1"].procedures == ("CP-TW",)
    assert rows["BAL-1"].procedures == ()
    assert rows["BAL-1"].summary == "BAL-1 balance due 2026-12-31 (in 29 d) no released procedure"
    assert rows["CAL-2"].summary == (
        "CAL-2 caliper [quarantined] due 2026-11-30 (2 d overdue) CP-CALIPER"
    )
    assert rows["TRQ-1"].summary.endswith("(today) CP-TW")
