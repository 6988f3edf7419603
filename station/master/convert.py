"""Valid master documents turned into the core's frozen objects (`station.core.model`), and the
typed snapshot the bench works from."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, get_args

from station.core.calibration import PointSource, PointSpec, PointTest
from station.core.model import (
    Characteristic,
    CharacteristicKind,
    ChartKind,
    DecisionRuleName,
    Instrument,
    InstrumentStatus,
    MasterData,
    NelsonRule,
    Operator,
    Plan,
    PlanStatus,
    Procedure,
    ProcedureKind,
    Qualification,
    SpcSpec,
    Standard,
)
from station.core.timefmt import parse_date
from station.master.validation import MasterDataError, MasterDoc, semantic_errors, show_json

log = logging.getLogger("station.master")
Model = Plan | Instrument | Operator | Standard | Procedure


def _enum(value: Any, literal: Any) -> Any:
    if value not in get_args(literal):
        raise MasterDataError(f"{show_json(value)} is not one of {', '.join(get_args(literal))}")
    return value


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


# The schema's `default` keywords are the model's field defaults: taken from there, once.
_SPC = SpcSpec()
_CHARACTERISTIC = Characteristic(id="", kind="variable")


def _spc(doc: Mapping[str, Any]) -> SpcSpec:
    return SpcSpec(
        chart=_enum(doc.get("chart", _SPC.chart), ChartKind),
        subgroup=int(doc.get("subgroup", _SPC.subgroup)),
        rules=tuple(_enum(r, NelsonRule) for r in doc.get("rules", _SPC.rules)),
        baseline=int(doc.get("baseline", _SPC.baseline)),
        center=_opt_float(doc.get("center")),
        ucl=_opt_float(doc.get("ucl")),
        lcl=_opt_float(doc.get("lcl")),
    )


def _characteristic(c: Mapping[str, Any]) -> Characteristic:
    spc = c.get("spc")
    return Characteristic(
        id=str(c["id"]),
        kind=_enum(c["kind"], CharacteristicKind),
        name=str(c.get("name", _CHARACTERISTIC.name)),
        nominal=_opt_float(c.get("nominal")),
        lsl=_opt_float(c.get("lsl")),
        usl=_opt_float(c.get("usl")),
        unit=c.get("unit"),
        instrument_type=c.get("instrument_type"),
        samples=int(c.get("samples", _CHARACTERISTIC.samples)),
        rule=_enum(c.get("rule", _CHARACTERISTIC.rule), DecisionRuleName),
        critical=bool(c.get("critical", _CHARACTERISTIC.critical)),
        spc=None if spc is None else _spc(spc),
    )


def _convert(kind: str, d: Mapping[str, Any]) -> Model:
    if kind == "plan":
        return Plan(
            id=d["id"],
            rev=d["rev"],
            status=_enum(d["status"], PlanStatus),
            part_numbers=tuple(d["part_numbers"]),
            characteristics=tuple(_characteristic(c) for c in d["characteristics"]),
            title=d.get("title", ""),
            qualifications=tuple(d.get("qualifications", ())),
            instruction=d.get("instruction", ""),
        )
    if kind == "instrument":
        return Instrument(
            id=d["id"],
            type=d["type"],
            status=_enum(d["status"], InstrumentStatus),
            cal_due=parse_date(d["cal_due"]),
            unit=d["unit"],
            resolution=float(d["resolution"]),
            description=d.get("description", ""),
            u=_opt_float(d.get("u")),
            mpe=_opt_float(d.get("mpe")),
            check_interval_h=_opt_float(d.get("check_interval_h")),
            calibrated=None if d.get("calibrated") is None else parse_date(d["calibrated"]),
            procedure=d.get("procedure"),
        )
    if kind == "operator":
        quals = d["qualifications"]
        return Operator(
            id=d["id"],
            name=d["name"],
            badge=d["badge"],
            qualifications=tuple(
                Qualification(
                    q["code"], None if q.get("expires") is None else parse_date(q["expires"])
                )
                for q in quals
            ),
            active=bool(d.get("active", True)),
            pin=d.get("pin"),
        )
    if kind == "standard":
        return Standard(
            id=d["id"],
            type=d["type"],
            value=float(d["value"]),
            unit=d["unit"],
            uncertainty=float(d["uncertainty"]),
            cal_due=parse_date(d["cal_due"]),
        )
    if kind == "procedure":
        return _procedure(d)
    raise MasterDataError(f"unknown master-data kind {show_json(kind)}")


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _point(p: Mapping[str, Any]) -> PointSpec:
    return PointSpec(
        name=str(p["name"]),
        nominal=float(p["nominal"]),
        readings=int(p["readings"]),
        test=_enum(p.get("test", "error"), PointTest),
        mpe=_opt_float(p.get("mpe")),
        mpe_rel=_opt_float(p.get("mpe_rel")),
        limit=_opt_float(p.get("limit")),
        source=_enum(p.get("source", "standard"), PointSource),
        standard_type=p.get("standard_type"),
    )


def _procedure(d: Mapping[str, Any]) -> Procedure:
    return Procedure(
        id=d["id"],
        rev=d["rev"],
        status=_enum(d["status"], PlanStatus),
        kind=_enum(d["kind"], ProcedureKind),
        instrument_types=tuple(d["instrument_types"]),
        unit=d["unit"],
        title=d.get("title", ""),
        instruction=d.get("instruction", ""),
        qualifications=tuple(d.get("qualifications", ())),
        rule=_enum(d.get("rule", "simple"), DecisionRuleName),
        interval_days=_opt_int(d.get("interval_days")),
        points=tuple(_point(p) for p in d.get("points", ())),
        tolerance=_opt_float(d.get("tolerance")),
        readings=_opt_int(d.get("readings")),
        parts=_opt_int(d.get("parts")),
        appraisers=_opt_int(d.get("appraisers")),
        trials=_opt_int(d.get("trials")),
        limits=tuple(sorted((str(k), float(v)) for k, v in d.get("limits", {}).items())),
        references=tuple(sorted((str(k), str(v)) for k, v in d.get("references", {}).items())),
    )


def to_model(kind: str, doc: Mapping[str, Any]) -> Model:
    """Convert a document that passed `validate_master` into its typed core object.

    Raises:
        MasterDataError: the document was not valid (call `validate_master` first).
    """
    try:
        return _convert(kind, doc)
    except MasterDataError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MasterDataError(
            f"{kind} {show_json(doc.get('id'))}: not valid master data: {exc!r}"
        ) from exc


def master_snapshot(docs: Iterable[MasterDoc | tuple[str, Mapping[str, Any]]]) -> MasterData:
    """Build the typed snapshot from valid documents (`MasterDoc`s or `(kind, doc)` pairs).

    Every plan and procedure revision is kept (the core picks the released one); each kind is
    sorted by id (plans and procedures by id, then rev) so that equal inputs give equal snapshots.
    """
    plans: list[Plan] = []
    instruments: list[Instrument] = []
    operators: list[Operator] = []
    standards: list[Standard] = []
    procedures: list[Procedure] = []
    for item in docs:
        kind, doc = (item.kind, item.doc) if isinstance(item, MasterDoc) else item
        # A store written by an older station may hold a document today's bounds refuse
        # (issue 13.4: a resolution of 10**400 kept the bench from starting). Such a document
        # is left out, so the bench refuses what it names as unknown instead of crashing.
        problems = semantic_errors(kind, doc)
        if problems:
            log.warning(
                "master data %s %s left out: %s", kind, show_json(doc.get("id")), problems[0]
            )
            continue
        try:
            obj = to_model(kind, doc)
        except MasterDataError as exc:
            log.warning("master data left out: %s", exc)
            continue
        if isinstance(obj, Plan):
            plans.append(obj)
        elif isinstance(obj, Instrument):
            instruments.append(obj)
        elif isinstance(obj, Operator):
            operators.append(obj)
        elif isinstance(obj, Procedure):
            procedures.append(obj)
        else:
            standards.append(obj)
    return MasterData(
        plans=tuple(sorted(plans, key=lambda p: (p.id, p.rev))),
        instruments=tuple(sorted(instruments, key=lambda i: i.id)),
        operators=tuple(sorted(operators, key=lambda o: o.id)),
        standards=tuple(sorted(standards, key=lambda s: s.id)),
        procedures=tuple(sorted(procedures, key=lambda p: (p.id, p.rev))),
    )
