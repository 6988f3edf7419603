"""What the reference central (`sim.central`) holds, read as a QMS would: its SQLite file,
read-only, and each record checked against the contract's own schema file.

Shared by the end-to-end tests (tests/e2e/): the records the central stored, in seq order;
a wait until it holds a station's records up to a seq; and a record's problems against
`docs/contract/schemas/record.schema.json` (validated with jsonschema directly, not through
the product's copy of the schemas).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from sim.net import wait_until

CONTRACT_SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "contract" / "schemas"


def central_records(db: Path) -> list[dict[str, Any]]:
    """Every record the central holds, in seq order ([] before it created its tables)."""
    if not db.exists():
        return []
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
        try:
            rows = conn.execute("SELECT payload FROM records ORDER BY seq").fetchall()
        except sqlite3.OperationalError:  # the central has not created its tables yet
            return []
    return [json.loads(p) for (p,) in rows]


def wait_for_central(db: Path, last_seq: int, timeout: float = 30) -> list[dict[str, Any]]:
    """Wait until the central holds every record up to `last_seq`; return what it holds."""

    def arrived() -> bool:
        recs = central_records(db)
        return bool(recs) and max(r["seq"] for r in recs) >= last_seq

    wait_until(f"the central to hold every record up to #{last_seq}", arrived, timeout)
    return central_records(db)


@cache
def _record_validator() -> Draft202012Validator:
    schema = json.loads((CONTRACT_SCHEMAS / "record.schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def contract_errors(record: dict[str, Any]) -> list[str]:
    """`record`'s problems against the contract's record schema ([]: valid)."""
    return [f"{e.json_path}: {e.message}" for e in _record_validator().iter_errors(record)]


def delivery_problems(recs: list[dict[str, Any]]) -> list[str]:
    """What is wrong with one station's records at the central ([]: each seq once from 1, no
    gap, every `prev` the hash before it, every record valid against the contract)."""
    out = []
    if [r["seq"] for r in recs] != list(range(1, len(recs) + 1)):
        out.append(f"seqs are not 1..{len(recs)} once each: {[r['seq'] for r in recs]}")
    out += [f"#{b['seq']}: prev is not #{a['seq']}'s hash" for a, b in pairwise(recs)
            if b["prev"] != a["hash"]]  # fmt: skip
    out += [f"#{r['seq']} ({r['type']}): {e}" for r in recs for e in contract_errors(r)]
    return out


__all__ = [
    "CONTRACT_SCHEMAS",
    "central_records",
    "contract_errors",
    "delivery_problems",
    "wait_for_central",
]
