"""The query indexes, derived from each record's body at append time (private).

Every `ix_*` row is a function of one record: written in the record's own transaction
(`rows_of`), and checked by `station verify` against the records it derives from
(`IndexDigest`), because the bench acts on them: reverse traceability (`ix_instrument_use`),
the last passing check (`ix_check`), SPC (`ix_value`), and the re-judgement after an as-found
calibration (`ix_measurement`, `ix_inspection.part`: each variable measurement by instrument
with what its verdict was decided by, and each inspection's part, so a year of one caliper's
parts is re-judged without decoding its records: issue 15). A flipped bit in an index row
would otherwise change a suspect list or a re-judged verdict unnoticed. `ix_study` names each
gauge study's instrument and kind, so the study gate (`station.store.studies`) and retention
(`station.store.retention`: the newest gating study of an instrument is kept) find them
without a scan of the records (issue 17). `ix_pin` holds the events that make and clear a
PIN lockout (wrong and right PINs, the lock, the QMS publishing the operator again), so
retention keeps an open run of wrong PINs: pruning it would unlock the operator (issue 16,
21 CFR 11.300(d)).

`ix_measurement` holds what `station.bench.calsuspect` accepts: a variable measurement with
an instrument, a numeric value, a unit and a verdict of the contract; the recorded rule, or
`simple` where it has none. Values are bound from the parsed JSON (Python floats), so the
exact path re-reads the same shortest decimal the instrument sent.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

VERDICTS = ("pass", "fail", "indeterminate")
RULES = ("simple", "guarded")

COLUMNS: dict[str, tuple[str, ...]] = {
    "ix_inspection": ("seq", "serial", "part_number", "part"),
    "ix_instrument_use": ("instrument", "seq", "ts"),
    "ix_value": ("plan_id", "characteristic", "seq", "pos", "plan_rev", "value"),
    "ix_measurement": (
        *("instrument", "seq", "pos", "characteristic", "sample", "value", "unit"),
        *("lsl", "usl", "rule", "u", "verdict"),
    ),
    "ix_check": ("seq", "instrument", "verdict"),
    "ix_study": ("instrument", "kind", "seq"),
    "ix_pin": ("operator", "seq", "kind"),
}
# The events of a PIN lockout (`station.bench.pinledger`); `unlock` is a `master-applied`
# event for an operator document: the QMS published the operator again.
PIN_KINDS = ("pin-failed", "pin-accepted", "operator-locked")
INSERT = {
    table: f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    for table, cols in COLUMNS.items()
}
Rows = dict[str, list[tuple[Any, ...]]]


def _number(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def part_text(body: dict[str, Any]) -> str:
    """The inspection's part as canonical JSON text (sorted keys, as records are)."""
    return json.dumps(body["part"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def measurement_rows(seq: int, body: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """The `ix_measurement` rows of one inspection body."""
    for pos, m in enumerate(body.get("measurements", [])):
        if not isinstance(m, dict) or m.get("kind") != "variable":
            continue
        instrument, value, unit = m.get("instrument"), _number(m.get("value")), m.get("unit")
        if not isinstance(instrument, str) or value is None or not isinstance(unit, str):
            continue
        if m.get("verdict") not in VERDICTS:
            continue
        rule = m["rule"] if m.get("rule") in RULES else "simple"
        yield (
            *(instrument, seq, pos, str(m.get("characteristic")), int(m.get("sample") or 0)),
            *(value, unit, _number(m.get("lsl")), _number(m.get("usl")), rule),
            *(_number(m.get("u")), str(m["verdict"])),
        )


def pin_row(seq: int, body: dict[str, Any]) -> tuple[str, int, str] | None:
    """The `ix_pin` row of one event body, if it is one of a PIN lockout."""
    kind, operator, detail = body.get("kind"), body.get("operator"), body.get("detail")
    if kind in PIN_KINDS and isinstance(operator, str):
        return (operator, seq, str(kind))
    if kind == "master-applied" and isinstance(detail, dict) and detail.get("master") == "operator":
        return (str(detail.get("id")), seq, "unlock")
    return None


def rows_of(record_type: str, seq: int, ts: str, body: dict[str, Any]) -> Rows:
    """Every index row one record contributes, by table."""
    out: Rows = {}
    if record_type == "instrument-check":
        out["ix_check"] = [(seq, body["instrument"], body["verdict"])]
    if record_type == "study":
        out["ix_study"] = [(str(body["instrument"]), str(body["kind"]), seq)]
    if record_type == "event":
        pin = pin_row(seq, body)
        if pin is not None:
            out["ix_pin"] = [pin]
    if record_type != "inspection":
        return out
    part = body["part"]
    out["ix_inspection"] = [(seq, part.get("serial"), part["number"], part_text(body))]
    plan_id, plan_rev = str(body["plan"]["id"]), str(body["plan"]["rev"])
    last_use: dict[str, str] = {}
    values = []
    for pos, m in enumerate(body["measurements"]):
        instrument = m.get("instrument")
        if isinstance(instrument, str):
            m_ts = str(m.get("ts") or ts)
            last_use[instrument] = max(m_ts, last_use.get(instrument, m_ts))
        value = m.get("value")
        if m["kind"] == "variable" and isinstance(value, int | float):
            values.append((plan_id, str(m["characteristic"]), seq, pos, plan_rev, float(value)))
    out["ix_instrument_use"] = [(iid, seq, t) for iid, t in last_use.items()]
    out["ix_value"] = values
    out["ix_measurement"] = list(measurement_rows(seq, body))
    return out


def insert_rows(conn: sqlite3.Connection, rows: Rows) -> None:
    """Write one record's index rows (inside its transaction)."""
    for table, items in rows.items():
        if items:
            conn.executemany(INSERT[table], items)


def _bodies(
    conn: sqlite3.Connection, record_type: str, batch: int = 2000
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """The stored records of `record_type` as pages of (seq, body): keyset pages, so a
    migration's backfill keeps memory flat at a million records."""
    after = 0
    while True:
        page = conn.execute(
            "SELECT seq, envelope FROM records WHERE type = ? AND seq > ? ORDER BY seq LIMIT ?",
            (record_type, after, batch),
        ).fetchall()
        if not page:
            return
        yield [(int(seq), json.loads(text)["body"]) for seq, text in page]
        after = int(page[-1][0])


def backfill_measurements(conn: sqlite3.Connection) -> int:
    """Fill `ix_measurement` and `ix_inspection.part` from the stored inspections (the
    migration that adds them)."""
    done = 0
    for page in _bodies(conn, "inspection"):
        for seq, body in page:
            conn.executemany(INSERT["ix_measurement"], list(measurement_rows(seq, body)))
            conn.execute("UPDATE ix_inspection SET part = ? WHERE seq = ?", (part_text(body), seq))
        done += len(page)
    return done


def backfill_studies(conn: sqlite3.Connection) -> int:
    """Fill `ix_study` from the stored study records (the migration that adds it)."""
    done = 0
    for page in _bodies(conn, "study"):
        rows = [(str(b["instrument"]), str(b["kind"]), seq) for seq, b in page]
        conn.executemany(INSERT["ix_study"], rows)
        done += len(rows)
    return done


def backfill_pins(conn: sqlite3.Connection) -> int:
    """Fill `ix_pin` from the stored events (the migration that adds it)."""
    done = 0
    for page in _bodies(conn, "event"):
        found = [r for r in (pin_row(seq, body) for seq, body in page) if r is not None]
        conn.executemany(INSERT["ix_pin"], found)
        done += len(found)
    return done


def _row_hash(table: str, row: tuple[Any, ...]) -> int:
    return int.from_bytes(hashlib.blake2b(repr((table, row)).encode(), digest_size=8).digest())


class IndexDigest:
    """An order-independent digest (a sum of row hashes) of index rows per table: what
    the records say the indexes hold, compared with what they do hold."""

    def __init__(self) -> None:
        self.sums = dict.fromkeys(COLUMNS, 0)
        self.counts = dict.fromkeys(COLUMNS, 0)

    def add(self, rows: Rows) -> None:
        for table, items in rows.items():
            for row in items:
                self.sums[table] = (self.sums[table] + _row_hash(table, row)) % (1 << 64)
            self.counts[table] += len(items)

    @classmethod
    def stored(cls, conn: sqlite3.Connection, after_seq: int) -> IndexDigest:
        """The digest of the index rows stored for records after `after_seq` (rows of
        pruned records are kept by some indexes: SPC history)."""
        out = cls()
        for table, cols in COLUMNS.items():
            cur = conn.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE seq > ?", (after_seq,))
            while page := cur.fetchmany(5000):
                out.add({table: [tuple(r) for r in page]})
        return out

    def differences(self, other: IndexDigest) -> list[str]:
        """The tables whose rows differ, with the row counts."""
        return [
            f"{t} ({self.counts[t]} rows expected from the records, {other.counts[t]} stored)"
            if self.counts[t] != other.counts[t]
            else f"{t} (a row differs from its record)"
            for t in COLUMNS
            if (self.sums[t], self.counts[t]) != (other.sums[t], other.counts[t])
        ]


__all__ = [
    "COLUMNS",
    "PIN_KINDS",
    "IndexDigest",
    "Rows",
    "backfill_measurements",
    "backfill_pins",
    "backfill_studies",
    "insert_rows",
    "measurement_rows",
    "part_text",
    "pin_row",
    "rows_of",
]
