"""A calibration in progress as a JSON document, so it survives a crash or a restart.

Like an unfinished inspection (`station.bench.draft`), the calibration is kept in the
store's draft slot after every step that changes it, and offered again on the next start to
the technician who began it. Its points are kept as their record bodies
(`calibration_record.point_body`), so a resumed calibration records exactly what was judged,
even if master data changed meanwhile; the procedure revision must still be known.
"""

from __future__ import annotations

from typing import Any, cast

from drivers.base import Reading
from station.bench.calmode import Calibration, Taken
from station.core.calibration import PointResult, PointTest, PointVerdict
from station.core.calibration_record import PointTrace, point_body
from station.core.model import Instrument, MasterData
from station.core.timefmt import format_ts, parse_ts
from station.store import Record

CALIBRATION_DRAFT_SCHEMA = "station.calibration/1"


def to_doc(cal: Calibration) -> dict[str, Any]:
    """The JSON document saved in the store's draft slot."""

    def series(points: list[Taken] | None) -> list[dict[str, Any]] | None:
        return None if points is None else [point_body(p, t) for p, t in points]

    return {
        "schema": CALIBRATION_DRAFT_SCHEMA,
        "procedure": {"id": cal.procedure.id, "rev": cal.procedure.rev},
        "operator": cal.operator,
        "started": format_ts(cal.started),
        "instrument": None if cal.instrument is None else cal.instrument.id,
        "as_found": series(cal.as_found),
        "as_left": series(cal.as_left),
        "standard": None if cal.standard is None else cal.standard.id,
        "reference_instrument": (
            None if cal.reference_instrument is None else cal.reference_instrument.id
        ),
        "readings": [
            {"value": r.value, "unit": r.unit, "raw": r.raw, "wall": format_ts(r.wall)}
            for r in cal.readings
        ],
        "inputs": sorted(cal.inputs),
    }


def point_taken(body: dict[str, Any]) -> Taken:
    """A point back from its record body (`calibration_record.point_body`)."""
    return _point(body)


def _point(body: dict[str, Any]) -> Taken:
    result = PointResult(
        name=str(body["name"]),
        nominal=float(body["nominal"]),
        test=cast(PointTest, body["test"]),
        reference=float(body["reference"]),
        readings=tuple(float(v) for v in body["readings"]),
        error=body.get("error"),
        mean_error=body.get("mean_error"),
        s=body.get("s"),
        mpe=body.get("mpe"),
        limit=body.get("limit"),
        u=float(body.get("u") or 0.0),
        tur=body.get("tur"),
        verdict=cast(PointVerdict, body["verdict"]),
    )
    trace = PointTrace(
        standard=body.get("standard"),
        reference_instrument=body.get("reference_instrument"),
        raw=tuple(str(x) for x in body.get("raw", [])),
    )
    return result, trace


SUSPECT_OWED_SCHEMA = "station.suspect-owed/1"


def suspect_owed_doc(calibration: Record, instrument_id: str, unit: str) -> dict[str, Any]:
    """The draft slot's content once a calibration whose as-found failed is recorded and
    its suspect record is not yet: written in the calibration's own transaction
    (`Store.append_and_clear_draft`), cleared in the suspect's, so a crash or a store
    failure between the two leaves the suspect owed, never forgotten (ISO 9001 7.1.5.2)."""
    return {
        "schema": SUSPECT_OWED_SCHEMA,
        "calibration": calibration.seq,
        "instrument": instrument_id,
        "unit": unit,
    }


def is_suspect_owed_doc(doc: dict[str, Any] | None) -> bool:
    """True when the draft slot holds an owed suspect record."""
    return doc is not None and doc.get("schema") == SUSPECT_OWED_SCHEMA


def is_calibration_doc(doc: dict[str, Any] | None) -> bool:
    """True when the draft slot holds a calibration in progress."""
    return doc is not None and doc.get("schema") == CALIBRATION_DRAFT_SCHEMA


def from_doc(doc: dict[str, Any], master: MasterData) -> Calibration:
    """Rebuild the calibration in progress.

    Raises:
        ValueError: not a calibration draft, or its procedure revision, instrument,
            standard or reference instrument is no longer known.
    """
    if not is_calibration_doc(doc):
        raise ValueError(f"not a calibration draft (schema {doc.get('schema')!r})")
    pid, rev = doc["procedure"]["id"], doc["procedure"]["rev"]
    proc = next((p for p in master.procedures if p.id == pid and p.rev == rev), None)
    if proc is None:
        raise ValueError(f"procedure {pid} rev {rev} of the calibration is no longer known")

    def known_instrument(iid: str | None) -> Instrument | None:
        if iid is None:
            return None
        inst = master.instrument(iid)
        if inst is None:
            raise ValueError(f"instrument {iid} of the calibration is no longer known")
        return inst

    std_id = doc.get("standard")
    std = None if std_id is None else master.standard(std_id)
    if std_id is not None and std is None:
        raise ValueError(f"standard {std_id} of the calibration is no longer known")
    left = doc.get("as_left")
    return Calibration(
        procedure=proc,
        operator=str(doc["operator"]),
        started=parse_ts(str(doc["started"])),
        instrument=known_instrument(doc.get("instrument")),
        as_found=[_point(b) for b in doc.get("as_found") or []],
        as_left=None if left is None else [_point(b) for b in left],
        standard=std,
        reference_instrument=known_instrument(doc.get("reference_instrument")),
        readings=[
            Reading(
                value=float(r["value"]),
                unit=r.get("unit"),
                raw=str(r.get("raw", "")),
                monotonic=0.0,  # a new process: only the debounce used it
                wall=parse_ts(str(r["wall"])),
            )
            for r in doc.get("readings", [])
        ],
        inputs=set(doc.get("inputs", [])),
    )


__all__ = [
    "CALIBRATION_DRAFT_SCHEMA",
    "SUSPECT_OWED_SCHEMA",
    "from_doc",
    "is_calibration_doc",
    "is_suspect_owed_doc",
    "point_taken",
    "suspect_owed_doc",
    "to_doc",
]
