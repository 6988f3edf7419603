"""The unfinished inspection as a JSON document, so it survives a crash or power cut.

The bench saves the draft in the store (one durable commit) after every accepted reading; on
the next start it is offered for resumption. Measurements are kept as their record bodies
(`Measurement.body()`), so a resumed inspection carries exactly the limits, rule, instrument
and `cal_due` each value was judged with, even if master data changed meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from station.core.inspection import Measurement
from station.core.model import CharacteristicKind, DecisionRuleName, Plan
from station.core.timefmt import format_ts, parse_date, parse_ts
from station.core.verdict import Verdict

DRAFT_SCHEMA = "station.draft/1"


@dataclass
class PartInfo:
    """The part being inspected, as the record's `part` object wants it."""

    number: str
    serial: str | None = None
    lot: str | None = None
    scan: str | None = None

    def body(self) -> dict[str, Any]:
        """The record's `part` object."""
        return {"number": self.number, "serial": self.serial, "lot": self.lot, "scan": self.scan}


@dataclass
class Draft:
    """An inspection in progress."""

    operator: str
    plan: Plan
    part: PartInfo
    started: datetime
    reason: str
    measurements: dict[tuple[str, int], Measurement]

    def to_doc(self) -> dict[str, Any]:
        """The JSON document saved in the store."""
        return {
            "schema": DRAFT_SCHEMA,
            "operator": self.operator,
            "plan": {"id": self.plan.id, "rev": self.plan.rev},
            "part": self.part.body(),
            "started": format_ts(self.started),
            "reason": self.reason,
            "measurements": [m.body() for m in self.measurements.values()],
        }


def measurement_from_body(body: dict[str, Any]) -> Measurement:
    """Rebuild a Measurement from its record body (the inverse of `Measurement.body`)."""
    reading = body.get("reading") or {}
    cal_due = body.get("cal_due")
    return Measurement(
        characteristic=str(body["characteristic"]),
        sample=int(body["sample"]),
        kind=cast(CharacteristicKind, body["kind"]),
        verdict=cast(Verdict, body["verdict"]),
        ts=parse_ts(str(body["ts"])),
        value=body.get("value"),
        unit=body.get("unit"),
        raw=body.get("raw"),
        nominal=body.get("nominal"),
        lsl=body.get("lsl"),
        usl=body.get("usl"),
        rule=cast(DecisionRuleName | None, body.get("rule")),
        u=body.get("u"),
        instrument=body.get("instrument"),
        cal_due=None if cal_due is None else parse_date(str(cal_due)),
        reading_value=reading.get("value"),
        reading_unit=reading.get("unit"),
    )


def draft_from_doc(doc: dict[str, Any], plans: tuple[Plan, ...]) -> Draft:
    """Rebuild a Draft; the plan revision must still be known to the store.

    Raises:
        ValueError: the document is not a draft, or its plan revision is unknown.
    """
    if doc.get("schema") != DRAFT_SCHEMA:
        raise ValueError(f"not a bench draft (schema {doc.get('schema')!r})")
    pid, rev = doc["plan"]["id"], doc["plan"]["rev"]
    plan = next((p for p in plans if p.id == pid and p.rev == rev), None)
    if plan is None:
        raise ValueError(f"plan {pid} rev {rev} of the unfinished inspection is no longer known")
    part = doc["part"]
    ms = [measurement_from_body(m) for m in doc["measurements"]]
    return Draft(
        operator=str(doc["operator"]),
        plan=plan,
        part=PartInfo(part["number"], part.get("serial"), part.get("lot"), part.get("scan")),
        started=parse_ts(str(doc["started"])),
        reason=str(doc.get("reason", "production")),
        measurements={(m.characteristic, m.sample): m for m in ms},
    )


__all__ = ["DRAFT_SCHEMA", "Draft", "PartInfo", "draft_from_doc", "measurement_from_body"]
