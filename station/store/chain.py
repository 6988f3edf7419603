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

from station.core.timefmt import format_ts
from station.schemas.fast import record_problems
from station.store.ids import ZERO_HASH, canonical, new_uuid7, sha256_hex, unix_ms
from station.store.indexes import IndexDigest, insert_rows, rows_of
from station.store.model import (
    RECORD_TYPES,
    SCHEMA_ID,
    Record,
    RecordInvalid,
    RecordType,
    VerifyResult,
)

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
    insert_rows(conn, rows_of(record.type, record.seq, record.ts, record.body))


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


_ROW_SQL = (
    "SELECT seq, id, type, ts, hash, CAST(envelope AS BLOB) FROM records WHERE seq > ? "
    "ORDER BY seq LIMIT ?"
)
Row = tuple[int, str, str, str, str, bytes]


class Unreadable(Exception):
    """SQLite could not read the record after seq `after` (private to the store)."""

    def __init__(self, after: int, error: sqlite3.Error | ValueError) -> None:
        super().__init__(str(error))
        self.after = after
        self.error = error


def _rows(conn: sqlite3.Connection, after: int) -> Iterator[Row]:
    """Every record after seq `after`, ascending, fetched page by page.

    The envelope comes as bytes (decoded by the caller), so a flipped byte that is not UTF-8
    is reported for its record instead of failing the whole read. When a page of rows cannot
    be read (a damaged B-tree page), the rows are re-read one by one to find the first one
    that cannot.

    Raises:
        Unreadable: the next record after `Unreadable.after` cannot be read.
    """
    while True:
        try:
            page = conn.execute(_ROW_SQL, (after, _VERIFY_PAGE)).fetchall()
        except (sqlite3.Error, ValueError):
            for _ in range(_VERIFY_PAGE):
                try:
                    row = conn.execute(_ROW_SQL, (after, 1)).fetchone()
                except (sqlite3.Error, ValueError) as exc:
                    raise Unreadable(after, exc) from exc
                if row is None:
                    return
                yield row
                after = int(row[0])
            continue
        if not page:
            return
        yield from page
        after = page[-1][0]


def check_row(
    row: Row, expect_seq: int, prev: str
) -> tuple[str, str | None, dict[str, Any] | None]:
    """(stored text, None, envelope) for a record that chains after `prev`, else (text,
    why not, None).

    Checks that seq is `expect_seq`; the stored text is UTF-8, canonical JSON whose `seq`,
    `id`, `type`, `ts` match the columns; `prev` is the previous record's hash (64 zeros for
    seq 1); sha256(text) equals `hash`.
    """
    seq, rid, rtype, ts, digest, raw = row
    if seq != expect_seq:
        return "", f"missing (next stored record is seq {seq})", None
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        return "", f"stored envelope is not UTF-8 ({exc.reason} at byte {exc.start})", None
    try:
        env = json.loads(text)
    except ValueError as exc:
        return text, f"stored envelope is not JSON ({exc})", None
    if not isinstance(env, dict) or "hash" in env:
        return text, "stored envelope is not an object without `hash`", None
    if canonical(env) != text:
        return text, "stored envelope is not in canonical JSON form", None
    for key, column in (("seq", seq), ("id", rid), ("type", rtype), ("ts", ts)):
        if env.get(key) != column:
            return text, f"envelope {key} {env.get(key)!r} differs from column {column!r}", None
    if env.get("prev") != prev:
        return text, f"prev {env.get('prev')} is not the hash of seq {seq - 1} ({prev})", None
    if sha256_hex(text) != digest:
        return text, f"hash mismatch: stored {digest}, recomputed {sha256_hex(text)}", None
    return text, None, env


def chain_start(conn: sqlite3.Connection) -> tuple[int, str]:
    """(first seq to expect, its prev): after the pruning checkpoint, or (1, zeros)."""
    ckpt = conn.execute("SELECT seq, hash FROM checkpoint WHERE id = 1").fetchone()
    return (int(ckpt[0]) + 1, str(ckpt[1])) if ckpt else (1, ZERO_HASH)


def verify_chain(conn: sqlite3.Connection, expected: IndexDigest | None = None) -> VerifyResult:
    """Recompute every hash and prev link; stop at the first bad or unreadable record.
    With `expected`, add every checked record's index rows to it (`indexes.IndexDigest`)."""
    try:
        expect_seq, prev = chain_start(conn)
    except (sqlite3.Error, ValueError) as exc:
        return VerifyResult(False, 0, 0, None, f"the pruning checkpoint cannot be read ({exc})")
    checked = 0
    last = expect_seq - 1

    def bad(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(False, checked, last, seq, reason)

    try:
        for row in _rows(conn, expect_seq - 1):
            _, problem, env = check_row(row, expect_seq, prev)
            if problem is not None or env is None:
                return bad(expect_seq, problem or "unreadable")
            if expected is not None:
                try:
                    expected.add(rows_of(env["type"], env["seq"], env["ts"], env["body"]))
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    return bad(expect_seq, f"its body cannot be indexed ({exc!r})")
            prev, last, expect_seq = row[4], row[0], row[0] + 1
            checked += 1
    except Unreadable as exc:
        return bad(exc.after + 1, f"cannot be read: {exc.error}")
    return VerifyResult(True, checked, last, None, None)


__all__ = [
    "Row",
    "Unreadable",
    "build",
    "chain_start",
    "check_row",
    "head",
    "insert",
    "verify_chain",
    "wire_payload",
]
