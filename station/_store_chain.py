"""The hash chain: building, inserting and verifying records (private to `station.store`).

Every function here runs on a connection whose caller already holds the right transaction
(`BEGIN IMMEDIATE` for `insert_records`, a read transaction for `verify_chain`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from station._store_ids import ZERO_HASH, canonical, new_uuid7, sha256_hex, unix_ms
from station._store_types import (
    RECORD_TYPES,
    SCHEMA_ID,
    Record,
    RecordInvalid,
    RecordType,
    VerifyResult,
)
from station.core.timefmt import format_ts
from station.schemas.fast import record_problems

# The payload (what MQTT carries) is the stored text plus `"hash":"<64 hex>",`.
HASH_FIELD_BYTES = 74
# Rows in pages of this size while verifying, so a million records never sit in memory.
_VERIFY_PAGE = 5000
# In the canonical envelope the keys sort body < hash < id < prev < schema < seq < site <
# station < ts < type: `hash` goes right after `body`, i.e. just before the top-level `"id"`.
_AFTER_HASH = ',"id":"'


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """(seq, hash) of the newest record, or of the pruning checkpoint, or (0, zeros)."""
    row = conn.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        row = conn.execute("SELECT seq, hash FROM checkpoint WHERE id = 1").fetchone()
    if row is None:
        return 0, ZERO_HASH
    return int(row[0]), str(row[1])


def build(
    items: Sequence[tuple[RecordType, dict[str, Any]]],
    *,
    after: tuple[int, str],
    site: str,
    station: str,
    clock: Callable[[], datetime],
) -> list[tuple[Record, str]]:
    """Chain `items` after `after` = (seq, hash); return each record with its stored text.

    Nothing is written. Each envelope is validated against `record.schema.json`.

    Raises:
        RecordInvalid: the first invalid item, naming its position, type and every problem.
    """
    seq, prev = after
    out: list[tuple[Record, str]] = []
    for pos, (rtype, body) in enumerate(items):
        where = f"record {pos + 1} of {len(items)} ({rtype!r})" if len(items) > 1 else repr(rtype)
        if rtype not in RECORD_TYPES:
            raise RecordInvalid(
                f"record type {rtype!r} is not one of {', '.join(RECORD_TYPES)}; nothing written",
                [f"$.type: {rtype!r} is not one of {list(RECORD_TYPES)}"],
            )
        now = clock()
        env: dict[str, Any] = {
            "schema": SCHEMA_ID,
            "type": rtype,
            "id": new_uuid7(unix_ms(now)),
            "seq": seq + 1,
            "site": site,
            "station": station,
            "ts": format_ts(now),
            "prev": prev,
            "body": body,
        }
        try:
            text = canonical(env)
        except (TypeError, ValueError) as exc:
            raise RecordInvalid(
                f"{where} body is not plain JSON data ({exc}); nothing written", [f"$.body: {exc}"]
            ) from exc
        digest = sha256_hex(text)
        # Validate (and keep) the round-tripped form: it is what the chain will hold,
        # so e.g. tuples became lists exactly as a consumer will see them.
        stored = json.loads(text)
        stored["hash"] = digest
        problems = record_problems(stored)
        if problems:
            raise RecordInvalid(
                f"{where} does not match record.schema.json; nothing written: "
                + "; ".join(problems),
                problems,
            )
        out.append((Record.from_envelope(stored, digest), text))
        seq, prev = seq + 1, digest
    return out


def insert(conn: sqlite3.Connection, record: Record, text: str) -> None:
    """Write one built record, its delivery row and its query-index rows."""
    conn.execute(
        "INSERT INTO records (seq, id, type, ts, hash, envelope) VALUES (?, ?, ?, ?, ?, ?)",
        (record.seq, record.id, record.type, record.ts, record.hash, text),
    )
    conn.execute(
        "INSERT INTO undelivered (seq, state, bytes) VALUES (?, 'pending', ?)",
        (record.seq, len(text.encode("utf-8")) + HASH_FIELD_BYTES),
    )
    if record.type == "inspection":
        _index_inspection(conn, record)
    elif record.type == "instrument-check":
        body = record.body
        conn.execute(
            "INSERT INTO ix_check (seq, instrument, verdict) VALUES (?, ?, ?)",
            (record.seq, body["instrument"], body["verdict"]),
        )


def _index_inspection(conn: sqlite3.Connection, record: Record) -> None:
    body = record.body
    part = body["part"]
    conn.execute(
        "INSERT INTO ix_inspection (seq, serial, part_number) VALUES (?, ?, ?)",
        (record.seq, part.get("serial"), part["number"]),
    )
    plan_id, plan_rev = str(body["plan"]["id"]), str(body["plan"]["rev"])
    last_use: dict[str, str] = {}
    values: list[tuple[str, str, int, int, str, float]] = []
    for pos, m in enumerate(body["measurements"]):
        instrument = m.get("instrument")
        if isinstance(instrument, str):
            ts = str(m.get("ts") or record.ts)
            last_use[instrument] = max(ts, last_use.get(instrument, ts))
        value = m.get("value")
        if m["kind"] == "variable" and isinstance(value, int | float):
            values.append(
                (plan_id, str(m["characteristic"]), record.seq, pos, plan_rev, float(value))
            )
    conn.executemany(
        "INSERT INTO ix_instrument_use (instrument, seq, ts) VALUES (?, ?, ?)",
        [(iid, record.seq, ts) for iid, ts in last_use.items()],
    )
    conn.executemany(
        "INSERT INTO ix_value (plan_id, characteristic, seq, pos, plan_rev, value) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        values,
    )


def wire_payload(text: str, digest: str) -> bytes | None:
    """The record's MQTT payload built from its stored text without parsing it, or None.

    `text` is the stored canonical JSON of the envelope without `hash`; inserting
    `"hash":"<digest>"` at its sorted place gives exactly `canonical(envelope)`, the bytes
    `Record.payload()` would build (~2 µs instead of ~45 µs for a 1.6 KB inspection). The
    top-level `"id"` is the last `,"id":"` of the text: the members after it (id, prev, schema,
    seq, site, station, ts, type) hold no `"` (schema patterns, and `Store.open` checks site and
    station). None when the text does not have that shape: the caller then parses it.
    """
    at = text.rfind(_AFTER_HASH)
    if at < 0 or not text.startswith('{"body":') or not text.endswith("}"):
        return None
    return f'{text[:at]},"hash":"{digest}"{text[at:]}'.encode()


def _rows(conn: sqlite3.Connection, after: int) -> Iterator[tuple[int, str, str, str, str, str]]:
    """Every record after seq `after`, ascending, fetched page by page."""
    while True:
        page = conn.execute(
            "SELECT seq, id, type, ts, hash, envelope FROM records WHERE seq > ? "
            "ORDER BY seq LIMIT ?",
            (after, _VERIFY_PAGE),
        ).fetchall()
        if not page:
            return
        yield from page
        after = page[-1][0]


def verify_chain(conn: sqlite3.Connection) -> VerifyResult:
    """Recompute every hash and prev link; stop at the first bad record.

    Checks, per record: seq is the previous + 1 (from the pruning checkpoint or 1); the
    stored text is canonical JSON whose `seq`, `id`, `type`, `ts` match the columns; `prev`
    equals the previous record's hash (64 zeros for seq 1); sha256(text) equals `hash`.
    """
    ckpt = conn.execute("SELECT seq, hash FROM checkpoint WHERE id = 1").fetchone()
    expect_seq, prev = (int(ckpt[0]) + 1, str(ckpt[1])) if ckpt else (1, ZERO_HASH)
    checked = 0
    last = expect_seq - 1

    def bad(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(False, checked, last, seq, reason)

    for seq, rid, rtype, ts, digest, text in _rows(conn, expect_seq - 1):
        if seq != expect_seq:
            return bad(expect_seq, f"missing (next stored record is seq {seq})")
        try:
            env = json.loads(text)
        except ValueError as exc:
            return bad(seq, f"stored envelope is not JSON ({exc})")
        if not isinstance(env, dict) or "hash" in env:
            return bad(seq, "stored envelope is not an object without `hash`")
        if canonical(env) != text:
            return bad(seq, "stored envelope is not in canonical JSON form")
        for key, column in (("seq", seq), ("id", rid), ("type", rtype), ("ts", ts)):
            if env.get(key) != column:
                return bad(seq, f"envelope {key} {env.get(key)!r} differs from column {column!r}")
        if env.get("prev") != prev:
            return bad(seq, f"prev {env.get('prev')} is not the hash of seq {seq - 1} ({prev})")
        if sha256_hex(text) != digest:
            return bad(seq, f"hash mismatch: stored {digest}, recomputed {sha256_hex(text)}")
        prev, last, expect_seq = digest, seq, seq + 1
        checked += 1
    return VerifyResult(True, checked, last, None, None)


__all__ = ["build", "head", "insert", "verify_chain", "wire_payload"]
