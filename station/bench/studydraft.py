"""A gauge study in progress as a JSON document, so it survives a crash or a restart.

Like a calibration (`station.bench.caldraft`), the study is kept in the store's draft slot
after every step that changes it and offered again on the next start to the operator who
began it. Its readings are kept as taken (values already in the procedure's unit), with the
appraiser, part and trial of each, so a resumed study records exactly what was measured; the
start time is kept too, since it seeds the suggested order (`studymode.Study.order`).
"""

from __future__ import annotations

from typing import Any, cast

from station.bench.studymode import Study, Taken
from station.core.model import Instrument, MasterData, Standard
from station.core.msa_attribute import Decision
from station.core.timefmt import format_ts, parse_ts

STUDY_DRAFT_SCHEMA = "station.study/1"


def to_doc(study: Study) -> dict[str, Any]:
    """The JSON document saved in the store's draft slot."""
    return {
        "schema": STUDY_DRAFT_SCHEMA,
        "procedure": {"id": study.procedure.id, "rev": study.procedure.rev},
        "operator": study.operator,
        "started": format_ts(study.started),
        "appraiser": study.appraiser,
        "instrument": None if study.instrument is None else study.instrument.id,
        "standard": None if study.standard is None else study.standard.id,
        "part": study.part,
        "readings": [
            {
                "trial": r.trial,
                "appraiser": r.appraiser,
                "part": r.part,
                "value": r.value,
                "decision": r.decision,
                "raw": r.raw,
                "ts": format_ts(r.ts),
            }
            for r in study.readings
        ],
        "redo": study.redo,
        "redo_reason": None if study.redo_reason is None else list(study.redo_reason),
        "inputs": sorted(study.inputs),
    }


def is_study_doc(doc: dict[str, Any] | None) -> bool:
    """True when the draft slot holds a gauge study in progress."""
    return doc is not None and doc.get("schema") == STUDY_DRAFT_SCHEMA


def from_doc(doc: dict[str, Any], master: MasterData) -> Study:
    """Rebuild the study in progress.

    Raises:
        ValueError: not a study draft, or its procedure revision, instrument or standard is
            no longer known.
    """
    if not is_study_doc(doc):
        raise ValueError(f"not a study draft (schema {doc.get('schema')!r})")
    pid, rev = doc["procedure"]["id"], doc["procedure"]["rev"]
    proc = next((p for p in master.procedures if p.id == pid and p.rev == rev), None)
    if proc is None:
        raise ValueError(f"procedure {pid} rev {rev} of the study is no longer known")
    inst: Instrument | None = None
    if doc.get("instrument") is not None:
        inst = master.instrument(str(doc["instrument"]))
        if inst is None:
            raise ValueError(f"instrument {doc['instrument']} of the study is no longer known")
    std: Standard | None = None
    if doc.get("standard") is not None:
        std = master.standard(str(doc["standard"]))
        if std is None:
            raise ValueError(f"standard {doc['standard']} of the study is no longer known")
    readings = [
        Taken(
            trial=int(r["trial"]),
            appraiser=r.get("appraiser"),
            part=r.get("part"),
            value=None if r.get("value") is None else float(r["value"]),
            decision=cast(Decision | None, r.get("decision")),
            raw=r.get("raw"),
            ts=parse_ts(str(r["ts"])),
        )
        for r in doc.get("readings", [])
    ]
    redo = doc.get("redo")
    if redo is not None and not 0 <= int(redo) < len(readings):
        raise ValueError(f"the study's redo index {redo} is outside its readings")
    return Study(
        procedure=proc,
        operator=str(doc["operator"]),
        started=parse_ts(str(doc["started"])),
        appraiser=str(doc["appraiser"]),
        instrument=inst,
        standard=std,
        part=doc.get("part"),
        readings=readings,
        redo=None if redo is None else int(redo),
        redo_reason=_reason(doc.get("redo_reason")),
        inputs=set(doc.get("inputs", [])),
    )


def _reason(value: Any) -> tuple[str, str] | None:
    """A stored redo reason ([code, note]); a draft from before reasons has none."""
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return (value[0], value[1])
    return None


__all__ = ["STUDY_DRAFT_SCHEMA", "from_doc", "is_study_doc", "to_doc"]
