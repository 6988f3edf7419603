"""The calibration-due list: which instruments need calibrating, most urgent first.

ISO 10012:2003 7.1.2 and ISO 9001:2015 7.1.5.2 a) ask that measuring equipment be calibrated
at specified intervals; a bench that calibrates must show the technician what is due. The
list holds every instrument the station knows that is not retired (a retired instrument is
never calibrated again), in three groups: overdue (cal_due before today), due within the
horizon (today .. today + horizon_days), and the rest; within a group the earliest due date
first, then the id. "Today" is the site's calendar date (`station.core.gate.site_date`), as
for every due-date judgement: an instrument due on the 31st is usable through that day.

Each row names the procedure to calibrate it with: the instrument's own `procedure` (the
master's choice) when a released revision of it exists, else the released calibration
procedures for its `type` (none: the row says so, since the technician cannot start one).
Pure: master data and the date are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from station.core.model import Instrument, MasterData, Procedure

DueGroup = Literal["overdue", "due", "later"]
DEFAULT_HORIZON_DAYS = 30


@dataclass(frozen=True)
class DueRow:
    """One instrument on the due list."""

    instrument: Instrument
    group: DueGroup
    days: int  # cal_due - today: negative when overdue
    procedures: tuple[str, ...]  # ids of the released calibration procedures that apply

    @property
    def summary(self) -> str:
        """`CAL-0042 caliper due 2027-03-01 (in 12 d) CP-CALIPER` style text."""
        inst = self.instrument
        when = (
            f"{-self.days} d overdue"
            if self.days < 0
            else ("today" if self.days == 0 else f"in {self.days} d")
        )
        status = "" if inst.status == "active" else f" [{inst.status}]"
        procs = " ".join(self.procedures) or "no released procedure"
        return f"{inst.id} {inst.type}{status} due {inst.cal_due} ({when}) {procs}"


def procedures_for(instrument: Instrument, master: MasterData) -> tuple[str, ...]:
    """The released calibration procedures that apply: the instrument's own, else by type."""
    released = [p for p in master.procedures if p.status == "released" and p.kind == "calibration"]
    own = [p for p in released if p.id == instrument.procedure]
    if own:
        return (own[0].id,)
    return tuple(sorted({p.id for p in released if _applies(p, instrument)}))


def _applies(procedure: Procedure, instrument: Instrument) -> bool:
    return instrument.type in procedure.instrument_types


def due_list(
    master: MasterData, today: date, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> list[DueRow]:
    """Every instrument not retired: overdue first, then due within the horizon, then later.

    Raises:
        ValueError: a negative horizon.
    """
    if horizon_days < 0:
        raise ValueError(f"the due horizon must be >= 0 days, got {horizon_days}")
    rows = []
    for inst in master.instruments:
        if inst.status == "retired":
            continue
        days = (inst.cal_due - today).days
        group: DueGroup = "overdue" if days < 0 else ("due" if days <= horizon_days else "later")
        rows.append(DueRow(inst, group, days, procedures_for(inst, master)))
    order = {"overdue": 0, "due": 1, "later": 2}
    rows.sort(key=lambda r: (order[r.group], r.instrument.cal_due, r.instrument.id))
    return rows


__all__ = ["DEFAULT_HORIZON_DAYS", "DueGroup", "DueRow", "due_list", "procedures_for"]
