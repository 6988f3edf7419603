"""What the bench is doing and everything the screen shows: the workflow's state.

The workflow's steps change this state only once the store has committed what they write
(issue 13.7), so the screen, rebuilt from it after every action, never shows a value, a part
or a check result the store does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from station.bench.calmode import Calibration
from station.bench.checkmode import InstrumentCheck
from station.bench.draft import Draft
from station.bench.interlock import Refusal
from station.bench.signing import SignRequest
from station.bench.spc_watch import SpcAlert
from station.bench.studymode import Study
from station.core.inspection import Measurement
from station.core.model import Instrument, Operator, Plan
from station.core.signing import SigningSession
from station.store import Record

# The draft slot holds this while a rejected inspection still owes its nonconformance.
NC_OWED_SCHEMA = "station.nc-owed/1"

# Reason codes offered by the nonconformance dialog (the QMS may map them to its own list).
NC_REASONS: tuple[str, ...] = (
    "dimension-out-of-tolerance",
    "weight-out-of-tolerance",
    "torque-out-of-tolerance",
    "surface-defect",
    "burr",
    "damage",
    "wrong-part",
    "other",
)


class Mode(Enum):
    """What the bench is waiting for."""

    IDLE = "scan your badge"
    READY = "scan a part"
    INSPECTING = "take the readings"
    NONCONFORMANCE = "describe the nonconformance"
    CHECK = "instrument check"
    CALIBRATION = "calibration"
    STUDY = "gauge study"
    SPC_SIGNAL = "acknowledge the SPC signal"


@dataclass
class BenchState:
    """Everything the screen shows, rebuilt by the workflow after each action."""

    mode: Mode = Mode.IDLE
    operator: Operator | None = None
    plan: Plan | None = None  # the plan of the current or last inspection
    draft: Draft | None = None
    selected_instrument: Instrument | None = None  # scanned, bound on its next reading
    redo: tuple[str, int] | None = None  # the next value replaces this sample
    redo_reason: tuple[str, str] | None = None  # (code, note) given for that redo
    last_key: tuple[str, int] | None = None
    last_measurement: Measurement | None = None
    last_inspection: Record | None = None
    nc_for: Record | None = None  # the rejected inspection awaiting its NC
    check: InstrumentCheck | None = None
    calibration: Calibration | None = None
    study: Study | None = None  # a gauge study (station.bench.studying)
    spc_alerts: list[SpcAlert] = field(default_factory=list)
    # Inputs that take no reading until a fit instrument is scanned (issue 12.1).
    refusals: dict[str, Refusal] = field(default_factory=dict)
    # 21 CFR 11.200(a)(1): the signing session (ends with the state at logout) and the step
    # waiting for its signature(s) (`station.bench.signing`).
    signing: SigningSession | None = None
    sign_request: SignRequest | None = None


__all__ = ["NC_OWED_SCHEMA", "NC_REASONS", "BenchState", "Mode"]
