"""One inspection: measurements against a plan, completeness, the result and the record body.

Why here: the record is audit evidence (ISO 17025 7.8.6 asks a conformity statement to say
which result, which specification and which decision rule), so every measurement carries
the limits, rule and U it was judged with, the instrument and its `cal_due` at the time of
use, and the raw instrument string. Building that body in one pure place keeps the UI and
the store from each inventing their own.

Completeness: an inspection has a result only when every characteristic of the plan has
all its `samples` (numbered 1..samples); until then `plan_result` returns None.

Payload extension (allowed by the contract: extend, never contradict): a variable
measurement also carries ``reading`` = {"value", "unit"}, the instrument's value in the
unit it arrived in, because `value` is in the plan's unit and a raw Mitutoyo string carries
no unit; without it a converted value could not be traced back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from station.core.model import (
    Characteristic,
    CharacteristicKind,
    DecisionRuleName,
    Instrument,
    Plan,
)
from station.core.timefmt import format_date, format_ts, require_aware
from station.core.units import Number, exact
from station.core.verdict import (
    InspectionResult,
    Judgement,
    Verdict,
    inspection_result,
    judge_attribute,
    judge_variable,
)


class InspectionError(ValueError):
    """Measurements do not fit the plan (unknown characteristic, sample, duplicate…)."""


@dataclass(frozen=True)
class Measurement:
    """One sample of one characteristic, as recorded (record.schema.json `measurement`)."""

    characteristic: str
    sample: int
    kind: CharacteristicKind
    verdict: Verdict
    ts: datetime
    value: float | None = None
    unit: str | None = None
    raw: str | None = None
    nominal: float | None = None
    lsl: float | None = None
    usl: float | None = None
    rule: DecisionRuleName | None = None
    u: float | None = None
    instrument: str | None = None
    cal_due: date | None = None
    reading_value: float | None = None
    reading_unit: str | None = None
    judgement: Judgement | None = field(default=None, compare=False, repr=False)

    def body(self) -> dict[str, object]:
        """The JSON-ready measurement object for the inspection record."""
        out: dict[str, object] = {
            "characteristic": self.characteristic,
            "sample": self.sample,
            "kind": self.kind,
            "value": self.value,
            "unit": self.unit,
            "raw": self.raw,
            "nominal": self.nominal,
            "lsl": self.lsl,
            "usl": self.usl,
            "rule": self.rule,
            "u": self.u,
            "verdict": self.verdict,
            "instrument": self.instrument,
            "cal_due": None if self.cal_due is None else format_date(self.cal_due),
            "ts": format_ts(self.ts),
        }
        if self.kind == "variable":
            out["reading"] = {"value": self.reading_value, "unit": self.reading_unit}
        return out


def _check_sample(characteristic: Characteristic, sample: int) -> None:
    if isinstance(sample, bool) or not 1 <= sample <= characteristic.samples:
        raise InspectionError(
            f"characteristic {characteristic.id} has samples 1..{characteristic.samples}, "
            f"got sample {sample!r}"
        )


def measure_variable(
    characteristic: Characteristic,
    sample: int,
    value: Number,
    unit: str,
    *,
    instrument: Instrument,
    ts: datetime,
    raw: str | None = None,
) -> Measurement:
    """Judge one reading (`verdict.judge_variable`) and build its measurement.

    `instrument` is required: a variable measurement without one is not traceable (the
    schema requires it). Its fitness is the caller's job (`fitness.assess_instrument`),
    done before the reading is accepted.

    Raises:
        InspectionError: `sample` outside 1..characteristic.samples.
        ConfigurationError, UnitError, ValueError: see `judge_variable`.
    """
    _check_sample(characteristic, sample)
    require_aware(ts, "ts")
    j = judge_variable(characteristic, value, unit, instrument=instrument)
    return Measurement(
        characteristic=characteristic.id,
        sample=sample,
        kind="variable",
        verdict=j.verdict,
        ts=ts,
        value=j.value,
        unit=j.unit,
        raw=raw,
        nominal=j.nominal,
        lsl=j.lsl,
        usl=j.usl,
        rule=j.rule,
        u=j.u,
        instrument=instrument.id,
        cal_due=instrument.cal_due,
        reading_value=float(exact(value)),
        reading_unit=unit,
        judgement=j,
    )


def measure_attribute(
    characteristic: Characteristic,
    sample: int,
    passed: bool,
    *,
    ts: datetime,
    instrument: Instrument | None = None,
) -> Measurement:
    """Record the operator's pass/fail for an attribute characteristic.

    Raises:
        InspectionError: `sample` outside 1..characteristic.samples.
        ConfigurationError, TypeError: see `judge_attribute`.
    """
    _check_sample(characteristic, sample)
    require_aware(ts, "ts")
    return Measurement(
        characteristic=characteristic.id,
        sample=sample,
        kind="attribute",
        verdict=judge_attribute(characteristic, passed),
        ts=ts,
        instrument=None if instrument is None else instrument.id,
        cal_due=None if instrument is None else instrument.cal_due,
    )


def _index(plan: Plan, measurements: Iterable[Measurement]) -> dict[tuple[str, int], Measurement]:
    done: dict[tuple[str, int], Measurement] = {}
    for m in measurements:
        try:
            c = plan.characteristic(m.characteristic)
        except KeyError as exc:
            raise InspectionError(exc.args[0]) from None
        _check_sample(c, m.sample)
        key = (m.characteristic, m.sample)
        if key in done:
            raise InspectionError(
                f"characteristic {m.characteristic} sample {m.sample} is measured twice; "
                "replace the earlier measurement instead of adding another"
            )
        done[key] = m
    return done


def pending(
    plan: Plan, measurements: Iterable[Measurement]
) -> tuple[tuple[Characteristic, int], ...]:
    """Every (characteristic, sample) still to measure, in plan order.

    Raises:
        InspectionError: a measurement does not fit the plan, or is duplicated.
    """
    done = _index(plan, measurements)
    return tuple(
        (c, s)
        for c in plan.characteristics
        for s in range(1, c.samples + 1)
        if (c.id, s) not in done
    )


def plan_result(plan: Plan, measurements: Iterable[Measurement]) -> InspectionResult | None:
    """The inspection result, or None while any sample is still missing.

    Raises:
        InspectionError: a measurement does not fit the plan, or is duplicated.
    """
    ms = list(measurements)
    if pending(plan, ms):
        return None
    return inspection_result(m.verdict for m in ms)


def inspection_body(
    *,
    plan: Plan,
    part_number: str,
    operator: str,
    reason: str,
    started: datetime,
    completed: datetime,
    measurements: Iterable[Measurement],
    serial: str | None = None,
    lot: str | None = None,
    scan: str | None = None,
) -> dict[str, object]:
    """The `inspection` record body (record.schema.json), for a complete inspection.

    Measurements are written in plan order, then by sample.

    Raises:
        InspectionError: the inspection is incomplete (naming what is missing), a
            measurement does not fit the plan, or `completed` is before `started`.
        ValueError: a naive timestamp.
    """
    ms = list(measurements)
    missing = pending(plan, ms)
    if missing:
        listed = ", ".join(f"{c.id} sample {s}" for c, s in missing)
        raise InspectionError(
            f"inspection of plan {plan.id} rev {plan.rev} is incomplete: {listed}"
        )
    if require_aware(completed, "completed") < require_aware(started, "started"):
        raise InspectionError(
            f"inspection completed ({format_ts(completed)}) "
            f"before it started ({format_ts(started)})"
        )
    order = {c.id: i for i, c in enumerate(plan.characteristics)}
    ms.sort(key=lambda m: (order[m.characteristic], m.sample))
    return {
        "plan": {"id": plan.id, "rev": plan.rev},
        "part": {"number": part_number, "serial": serial, "lot": lot, "scan": scan},
        "operator": operator,
        "reason": reason,
        "started": format_ts(started),
        "completed": format_ts(completed),
        "result": inspection_result(m.verdict for m in ms),
        "measurements": [m.body() for m in ms],
    }


__all__ = [
    "InspectionError",
    "Measurement",
    "inspection_body",
    "measure_attribute",
    "measure_variable",
    "pending",
    "plan_result",
]
