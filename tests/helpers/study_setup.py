"""Gauge-study master data for bench tests: a study procedure and the MSA-1 qualification."""

from __future__ import annotations

from typing import Any

from station.store import Store

# A Type-1 on GB-10 with a 0.01 mm caliper: s = 0.0051 mm, so for T = 0.1 mm
# Cg = 0.2*0.1/(6*0.0051) = 0.65 < 1.33: unacceptable (Bosch Booklet 10 §4.1).
TYPE1_VALUES = [10.00, 10.01] * 12 + [10.00]


def publish_procedure(store: Store, pid: str, kind: str, **fields: Any) -> None:
    """A released study procedure `pid` of `kind` for calipers in mm, needing MSA-1."""
    doc = {
        "schema": "qms.master/procedure@1", "id": pid, "rev": "A", "status": "released",
        "kind": kind, "instrument_types": ["caliper"], "unit": "mm",
        "qualifications": ["MSA-1"], **fields,
    }  # fmt: skip
    store.apply_master("procedure", pid, doc, source="test")


def qualify(store: Store, oid: str, code: str = "MSA-1") -> None:
    """Operator `oid` holds `code` until the end of 2027."""
    op = store.master_doc("operator", oid)
    assert op is not None
    quals = [*op["qualifications"], {"code": code, "expires": "2027-12-31"}]
    store.apply_master("operator", oid, op | {"qualifications": quals}, source="test")
