"""Master data as frozen, typed objects (contract: `docs/contract/schemas/*.schema.json`).

The QMS defines these; the station only reads them. `station.master` builds them from JSON
documents that already passed schema validation. Dates are `datetime.date`, timestamps are
timezone-aware `datetime` in UTC; nothing here reads the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from station.core.calibration import PointSpec

CharacteristicKind = Literal["variable", "attribute"]
DecisionRuleName = Literal["simple", "guarded"]
PlanStatus = Literal["draft", "released", "obsolete"]
ProcedureKind = Literal["calibration", "type-1", "grr", "attribute-agreement"]
InstrumentStatus = Literal["active", "quarantined", "retired"]
ChartKind = Literal["imr", "xbar-r", "xbar-s"]
NelsonRule = Literal[
    "nelson-1",
    "nelson-2",
    "nelson-3",
    "nelson-4",
    "nelson-5",
    "nelson-6",
    "nelson-7",
    "nelson-8",
]


@dataclass(frozen=True)
class SpcSpec:
    """A characteristic's `spc` block: chart kind, subgroup size, rules, baseline or limits."""

    chart: ChartKind = "imr"
    subgroup: int = 1
    rules: tuple[NelsonRule, ...] = ("nelson-1", "nelson-2")
    baseline: int = 25
    center: float | None = None
    ucl: float | None = None
    lcl: float | None = None

    @property
    def approved_limits(self) -> bool:
        """True when the plan carries approved control limits (no baseline is computed)."""
        return self.center is not None and self.ucl is not None and self.lcl is not None


@dataclass(frozen=True)
class Characteristic:
    """One characteristic of a plan: a variable with limits, or a pass/fail attribute."""

    id: str
    kind: CharacteristicKind
    name: str = ""
    nominal: float | None = None
    lsl: float | None = None
    usl: float | None = None
    unit: str | None = None
    instrument_type: str | None = None
    samples: int = 1
    rule: DecisionRuleName = "simple"
    critical: bool = False
    spc: SpcSpec | None = None


@dataclass(frozen=True)
class Plan:
    """One revision of an inspection plan."""

    id: str
    rev: str
    status: PlanStatus
    part_numbers: tuple[str, ...]
    characteristics: tuple[Characteristic, ...]
    title: str = ""
    qualifications: tuple[str, ...] = ()
    instruction: str = ""

    def characteristic(self, cid: str) -> Characteristic:
        """Return characteristic `cid`; KeyError names the plan when it is absent."""
        for c in self.characteristics:
            if c.id == cid:
                return c
        raise KeyError(f"plan {self.id} rev {self.rev} has no characteristic {cid!r}")


@dataclass(frozen=True)
class Instrument:
    """A measuring instrument and its calibration status, as the QMS defines it."""

    id: str
    type: str
    status: InstrumentStatus
    cal_due: date
    unit: str
    resolution: float
    description: str = ""
    u: float | None = None
    mpe: float | None = None
    check_interval_h: float | None = None
    # Contract 1.1: the date of the last calibration and the procedure it follows.
    calibrated: date | None = None
    procedure: str | None = None


@dataclass(frozen=True)
class Qualification:
    """An operator qualification: a code, valid through `expires` (inclusive) when given."""

    code: str
    expires: date | None = None


@dataclass(frozen=True)
class Operator:
    """An operator and the qualifications they hold."""

    id: str
    name: str
    badge: str
    qualifications: tuple[Qualification, ...] = ()
    active: bool = True
    # Contract 1.1: the scrypt verifier of the signing PIN (never the PIN); kept out of repr
    # so it never lands in a log line or a traceback.
    pin: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Standard:
    """A reference standard (gauge block, weight, ring gauge…) with its certified value."""

    id: str
    type: str
    value: float
    unit: str
    uncertainty: float
    cal_due: date


@dataclass(frozen=True)
class Procedure:
    """One revision of a procedure the bench runs: a calibration or a gauge study (contract
    `procedure.schema.json`). Only a released revision is run, like a plan."""

    id: str
    rev: str
    status: PlanStatus
    kind: ProcedureKind
    instrument_types: tuple[str, ...]
    unit: str
    title: str = ""
    instruction: str = ""
    qualifications: tuple[str, ...] = ()
    rule: DecisionRuleName = "simple"
    # calibration
    interval_days: int | None = None
    points: tuple[PointSpec, ...] = ()
    # studies
    tolerance: float | None = None
    readings: int | None = None
    parts: int | None = None
    appraisers: int | None = None
    trials: int | None = None
    limits: tuple[tuple[str, float], ...] = ()  # acceptance limits given (absent: defaults)
    references: tuple[tuple[str, str], ...] = ()  # attribute agreement: part -> decision

    def limit(self, name: str, default: float) -> float:
        """The acceptance limit `name`, or the documented default when the QMS gave none."""
        return dict(self.limits).get(name, default)


@dataclass(frozen=True)
class MasterData:
    """Everything the QMS defines, as one immutable snapshot."""

    plans: tuple[Plan, ...] = ()
    instruments: tuple[Instrument, ...] = ()
    operators: tuple[Operator, ...] = ()
    standards: tuple[Standard, ...] = ()
    procedures: tuple[Procedure, ...] = ()  # every revision, like plans

    def released_procedure(self, pid: str) -> Procedure | None:
        """The released revision of procedure `pid`, or None."""
        return next((p for p in self.procedures if p.id == pid and p.status == "released"), None)

    def instrument(self, iid: str) -> Instrument | None:
        """The instrument with id `iid`, or None."""
        return next((i for i in self.instruments if i.id == iid), None)

    def standard(self, sid: str) -> Standard | None:
        """The standard with id `sid`, or None."""
        return next((s for s in self.standards if s.id == sid), None)

    def operator_by_badge(self, badge: str) -> Operator | None:
        """The operator whose badge scans as `badge`, or None."""
        return next((o for o in self.operators if o.badge == badge), None)


__all__ = [
    "Characteristic",
    "CharacteristicKind",
    "ChartKind",
    "DecisionRuleName",
    "Instrument",
    "InstrumentStatus",
    "MasterData",
    "NelsonRule",
    "Operator",
    "Plan",
    "PlanStatus",
    "Procedure",
    "ProcedureKind",
    "Qualification",
    "SpcSpec",
    "Standard",
]
