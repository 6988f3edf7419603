"""The reference central QMS's own store: one row per record `id`, per-station chain checks.

What an integrator's consumer has to do with the station's record stream (contract: mqtt.md,
"The record stream" and "Delivery"), in one SQLite file:

- validate every message against `record.schema.json` and against its topic;
- recompute the `hash` of every record (canonical JSON, SHA-256) and refuse a mismatch;
- keep one record per `id` (the idempotency key): duplicates are expected, since the station
  re-publishes whatever it has not seen acknowledged;
- never let a second record take a `seq` that another `id` already holds (a station whose
  store was replaced would otherwise silently overwrite history);
- compute, per station, the highest `seq` N such that it holds every record 1..N, each
  linked to the one before by `prev`: the only number it may acknowledge, as
  `{"seq": N, "hash": H}` with H the hash of its record N (every record with `seq <= N` is
  durably stored here, and the station checks H against its own record N);
- never acknowledge past a gap, a broken `prev` link or a conflict (same seq, another
  record): a conflict is kept in the `conflicts` table for a person (`--conflicts` prints it,
  the summary lists it) and acks stop below it until it is resolved (`resolve()`).

The canonical JSON and the hash are written out here rather than imported from the station's
store (`station.store.ids`): this module is the oracle the end-to-end tests check the
station's hashes against, so it must not share the code it checks.

SQLite is used directly (this is the simulated QMS, not the station: the station's one-owner
rule for its store does not apply here). Writes are batched by the caller: `ingest_many()`
(or `ingest()`) as messages arrive, then `commit()` once, then acknowledge.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from station.schemas.fast import record_problems
from station.sync.payload import PayloadRejected, parse_payload

ZERO_HASH = "0" * 64
MAX_RECORD_BYTES = 16 * 1024 * 1024  # far above any record; refuses a flood before parsing
_CONFLICT_INSERT = (
    "INSERT INTO conflicts (site, station, seq, kind, held_id, held_hash, got_id, got_hash,"
    " detail, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
TOPIC_ROOT = "qms/v1"

Outcome = Literal["stored", "duplicate", "conflict", "invalid"]

_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    station TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    ts TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX IF NOT EXISTS records_station_seq ON records (site, station, seq);
CREATE TABLE IF NOT EXISTS stations (
    site TEXT NOT NULL,
    station TEXT NOT NULL,
    received INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    conflicts INTEGER NOT NULL DEFAULT 0,
    invalid INTEGER NOT NULL DEFAULT 0,
    contiguous_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site, station)
);
CREATE TABLE IF NOT EXISTS conflicts (
    n INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    station TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    held_id TEXT,
    held_hash TEXT,
    got_id TEXT NOT NULL,
    got_hash TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (site, station, seq, got_hash)
);
CREATE TABLE IF NOT EXISTS superseded (
    id TEXT NOT NULL,
    site TEXT NOT NULL,
    station TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    payload TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE IF NOT EXISTS rejected (
    n INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
"""


# The primary key (id) and the unique (site, station, seq) index refuse a duplicate or a
# conflict; `total_changes` then tells that a row was refused (see `CentralDB.ingest_many`).
_INSERT_NEW = (
    "INSERT INTO records (id, site, station, seq, type, ts, prev, hash, payload)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
# A valid record as a `records` row: id, site, station, seq, type, ts, prev, hash, payload.
_Row = tuple[str, str, str, int, str, str, str, str, str]
# `json.dumps` with these arguments builds a new encoder per call; one reused is cheaper.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(obj: Any) -> bytes:
    """The contract's canonical form: sorted keys, no spaces, UTF-8, non-ASCII kept as is
    (`json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`)."""
    return _CANONICAL.encode(obj).encode()


def record_hash(envelope: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of the envelope without its `hash` field."""
    body = {k: v for k, v in envelope.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


@dataclass(frozen=True)
class Ingested:
    """What happened to one received message."""

    outcome: Outcome
    site: str
    station: str
    seq: int | None
    reason: str | None = None
    new: bool = True  # for a conflict: first time seen (logged once, not at every resend)


def _topic_parts(topic: str) -> tuple[str, str, str] | None:
    """(site, station, type) of `qms/v1/{site}/{station}/record/{type}`, else None."""
    parts = topic.split("/")
    if len(parts) != 6 or parts[0:2] != ["qms", "v1"] or parts[4] != "record":
        return None
    return parts[2], parts[3], parts[5]


class CentralDB:
    """One SQLite file holding what the central QMS has received."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN … COMMIT), so that one batch of
        # messages is one transaction and an acknowledgement never precedes its commit.
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA_SQL)
        self._in_txn = False
        # Per-station counters of the open batch, written once at commit.
        self._counts: dict[tuple[str, str], dict[str, int]] = {}
        # Conflicts kept since the caller last emptied this list (it logs each once).
        self.new_conflicts: list[Ingested] = []

    def close(self) -> None:
        if self._in_txn:
            self.commit()
        self._db.close()

    def __enter__(self) -> CentralDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------

    def _begin(self) -> None:
        if not self._in_txn:
            self._db.execute("BEGIN IMMEDIATE")
            self._in_txn = True

    def commit(self) -> None:
        """Make every `ingest()` since the last commit durable (synchronous=FULL)."""
        if not self._in_txn:
            return
        for (site, station), c in self._counts.items():
            self._db.execute(
                "INSERT INTO stations (site, station) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (site, station),
            )
            self._db.execute(
                "UPDATE stations SET received = received + ?, duplicates = duplicates + ?,"
                " conflicts = conflicts + ?, invalid = invalid + ? WHERE site = ? AND station = ?",
                (c["received"], c["duplicates"], c["conflicts"], c["invalid"], site, station),
            )
        self._counts.clear()
        self._db.execute("COMMIT")
        self._in_txn = False

    def _count(self, site: str, station: str, column: str) -> None:
        key = (site, station)
        if key not in self._counts:
            self._counts[key] = dict.fromkeys(("received", "duplicates", "conflicts", "invalid"), 0)
        self._counts[key][column] += 1

    def _reject(self, topic: str, site: str, station: str, reason: str) -> Ingested:
        self._count(site, station, "invalid")
        self._db.execute("INSERT INTO rejected (topic, reason) VALUES (?, ?)", (topic, reason))
        return Ingested("invalid", site, station, None, reason)

    def _check(self, topic: str, payload: bytes) -> Ingested | _Row:
        """Validate one message: its row for `records`, or why it is invalid (counted)."""
        where = _topic_parts(topic)
        site, station, rtype = where if where else ("?", "?", "?")
        self._count(site, station, "received")
        if where is None:
            return self._reject(topic, site, station, f"not a record topic: {topic!r}")
        try:
            # The station's bounded parser: a record topic is as open to hostile input as
            # the station's own topics (deep nesting would raise RecursionError here).
            doc = parse_payload(payload, max_bytes=MAX_RECORD_BYTES)
            text = payload.decode("utf-8")
        except PayloadRejected as exc:
            return self._reject(topic, site, station, f"payload is not UTF-8 JSON: {exc}")
        if not isinstance(doc, dict):
            return self._reject(topic, site, station, "payload is not a JSON object")
        problems = record_problems(doc)
        if problems:
            return self._reject(topic, site, station, "record schema: " + "; ".join(problems[:5]))
        got = (doc["site"], doc["station"], doc["type"])
        if got != (site, station, rtype):
            return self._reject(
                topic, site, station, f"topic says {(site, station, rtype)}, record says {got}"
            )
        digest = doc["hash"]
        if record_hash(doc) != digest:
            return self._reject(
                topic, site, station, f"seq {doc['seq']}: hash does not match the content"
            )
        seq = int(doc["seq"])
        return (doc["id"], site, station, seq, rtype, doc["ts"], doc["prev"], digest, text)

    def ingest(self, topic: str, payload: bytes) -> Ingested:
        """Validate and store one record message (inside the open batch; see `commit`)."""
        return self.ingest_many([(topic, payload)])[0]

    def ingest_many(self, messages: Sequence[tuple[str, bytes]]) -> list[Ingested]:
        """Validate and store a batch of record messages (inside the open batch; see `commit`).

        Every message is validated on its own (schema, topic, hash). The valid ones are then
        inserted with one `executemany`; when SQLite's change count shows that a row was
        refused (a duplicate `id` or a `seq` another id holds: rare, after re-sends), that
        insert is rolled back and the rows are stored one by one to find out which.
        """
        self._begin()
        out: list[Ingested | None] = []
        rows: list[tuple[int, _Row]] = []
        for topic, payload in messages:
            checked = self._check(topic, payload)
            if isinstance(checked, Ingested):
                out.append(checked)
            else:
                rows.append((len(out), checked))
                out.append(None)
        if rows:
            self._db.execute("SAVEPOINT batch")
            before = self._db.total_changes
            self._db.executemany(_INSERT_NEW, [row for _, row in rows])
            all_new = self._db.total_changes - before == len(rows)
            if not all_new:
                self._db.execute("ROLLBACK TO batch")
            self._db.execute("RELEASE batch")
            for pos, row in rows:
                out[pos] = (
                    Ingested("stored", row[1], row[2], row[3]) if all_new else self._store(row)
                )
        return [r for r in out if r is not None]

    def _store(self, row: _Row) -> Ingested:
        """Insert one valid record, or find out why it is a duplicate or a conflict."""
        rid, site, station, seq, digest = row[0], row[1], row[2], row[3], row[7]
        if self._db.execute(_INSERT_NEW, row).rowcount == 1:
            return Ingested("stored", site, station, seq)
        held = self._db.execute("SELECT hash FROM records WHERE id = ?", (rid,)).fetchone()
        if held is not None and held[0] == digest:
            self._count(site, station, "duplicates")
            return Ingested("duplicate", site, station, seq)
        if held is not None:
            return self._conflict(row, "id-reused", rid, held[0], f"id {rid} reused")
        other = self._db.execute(
            "SELECT id, hash FROM records WHERE site = ? AND station = ? AND seq = ?",
            (site, station, seq),
        ).fetchone()
        held_id, held_hash = (other[0], other[1]) if other else (None, None)
        return self._conflict(
            row, "seq-reused", held_id, held_hash, f"seq {seq} already held by {held_id}"
        )

    def _conflict(
        self, row: _Row, kind: str, held_id: str | None, held_hash: str | None, detail: str
    ) -> Ingested:
        """Keep a conflicting record for a person; `new` tells whether it was not kept yet
        (a station re-publishes it at every resend)."""
        rid, site, station, seq, digest, text = row[0], row[1], row[2], row[3], row[7], row[8]
        self._count(site, station, "conflicts")
        cur = self._db.execute(
            _CONFLICT_INSERT,
            (site, station, seq, kind, held_id, held_hash, rid, digest, detail, text),
        )
        result = Ingested("conflict", site, station, seq, detail, new=cur.rowcount == 1)
        if result.new:
            self.new_conflicts.append(result)
        return result

    def advance(self, site: str, station: str) -> int:
        """Move the station's acknowledgeable seq forward; return it (0: nothing to ack).

        It walks the stored records from the last such seq while each next one is there
        (no gap) and links to the one before by `prev` (a record whose `prev` does not is
        kept as a `broken-link` conflict), and it stays below the lowest conflict held.
        """
        self._begin()
        self._db.execute(
            "INSERT INTO stations (site, station) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (site, station),
        )
        row = self._db.execute(
            "SELECT contiguous_seq FROM stations WHERE site = ? AND station = ?", (site, station)
        ).fetchone()
        contiguous = int(row[0]) if row else 0
        held = self._db.execute(
            "SELECT hash FROM records WHERE site = ? AND station = ? AND seq = ?",
            (site, station, contiguous),
        ).fetchone()
        prev_hash = ZERO_HASH if contiguous == 0 or held is None else str(held[0])
        while True:
            rows = self._db.execute(
                "SELECT seq, prev, hash, id FROM records WHERE site = ? AND station = ?"
                " AND seq > ? ORDER BY seq LIMIT 1000",
                (site, station, contiguous),
            ).fetchall()
            stop = len(rows) < 1000
            for seq, prev, digest, rid in rows:
                if seq != contiguous + 1:
                    stop = True
                    break
                if prev != prev_hash:
                    payload = self._db.execute(
                        "SELECT payload FROM records WHERE id = ?", (rid,)
                    ).fetchone()[0]
                    self._conflict(
                        (rid, site, station, seq, "", "", prev, digest, payload),
                        "broken-link",
                        None,
                        prev_hash,
                        f"seq {seq} ({rid}) has prev {prev[:12]}… but the record {seq - 1}"
                        f" held here has hash {prev_hash[:12]}…",
                    )
                    stop = True
                    break
                contiguous, prev_hash = seq, digest
            if stop:
                break
        self._db.execute(
            "UPDATE stations SET contiguous_seq = ? WHERE site = ? AND station = ?",
            (contiguous, site, station),
        )
        first = self._db.execute(
            "SELECT MIN(seq) FROM conflicts WHERE site = ? AND station = ?", (site, station)
        ).fetchone()[0]
        return contiguous if first is None else min(contiguous, int(first) - 1)

    def ack(self, site: str, station: str) -> dict[str, Any] | None:
        """The ack owed to a station (`advance`), as `{"seq", "hash"}`; None when none is."""
        seq = self.advance(site, station)
        if seq < 1:
            return None
        row = self._db.execute(
            "SELECT hash FROM records WHERE site = ? AND station = ? AND seq = ?",
            (site, station, seq),
        ).fetchone()
        return {"seq": seq, "hash": str(row[0])}

    def conflicts(self) -> list[dict[str, Any]]:
        """Every conflict held for a person, by station and seq."""
        rows = self._db.execute(
            "SELECT site, station, seq, kind, held_id, held_hash, got_id, got_hash, detail, at"
            " FROM conflicts ORDER BY site, station, seq, n"
        ).fetchall()
        keys = ("site", "station", "seq", "kind", "held_id", "held_hash", "got_id", "got_hash")
        return [dict(zip((*keys, "detail", "at"), r, strict=True)) for r in rows]

    def resolve(self, site: str, station: str) -> int:
        """A person decided the station's current records win: move the records held here
        from its lowest conflict on to `superseded` (kept, not deleted), forget its
        conflicts, and let the station's re-published records fill in. Returns how many
        records were moved."""
        self._begin()
        first = self._db.execute(
            "SELECT MIN(seq) FROM conflicts WHERE site = ? AND station = ?", (site, station)
        ).fetchone()[0]
        if first is None:
            return 0
        where = "site = ? AND station = ? AND seq >= ?"
        args = (site, station, int(first))
        self._db.execute(
            f"INSERT INTO superseded (id, site, station, seq, hash, payload)"
            f" SELECT id, site, station, seq, hash, payload FROM records WHERE {where}",
            args,
        )
        moved = self._db.execute(f"DELETE FROM records WHERE {where}", args).rowcount
        self._db.execute("DELETE FROM conflicts WHERE site = ? AND station = ?", (site, station))
        self._db.execute(
            "UPDATE stations SET contiguous_seq = MIN(contiguous_seq, ?) WHERE site = ?"
            " AND station = ?",
            (int(first) - 1, site, station),
        )
        self.commit()
        return int(moved)

    # -- reading -------------------------------------------------------------------------------

    def _station_summary(self, site: str, station: str, counters: sqlite3.Row) -> dict[str, Any]:
        gaps: list[list[int]] = []
        broken: list[int] = []
        expected = 1
        prev_hash = ZERO_HASH
        count = 0
        cursor = self._db.execute(
            "SELECT seq, prev, hash, payload FROM records WHERE site = ? AND station = ?"
            " ORDER BY seq",
            (site, station),
        )
        for seq, prev, digest, payload in cursor:
            count += 1
            if seq > expected:
                gaps.append([expected, seq - 1])
            elif prev != prev_hash:
                broken.append(int(seq))
            if record_hash(json.loads(payload)) != digest:
                broken.append(int(seq))
            expected = seq + 1
            prev_hash = digest
        held = [
            {"seq": int(r[0]), "kind": str(r[1]), "detail": str(r[2]), "at": str(r[3])}
            for r in self._db.execute(
                "SELECT seq, kind, detail, at FROM conflicts WHERE site = ? AND station = ?"
                " ORDER BY seq, n LIMIT 20",
                (site, station),
            )
        ]
        return {
            "received": counters["received"],
            "unique": count,
            "duplicates": counters["duplicates"],
            "conflicts": counters["conflicts"],
            "invalid": counters["invalid"],
            "last_seq": expected - 1,
            "contiguous_seq": counters["contiguous_seq"],
            "gaps": gaps,
            "chain_valid": not broken,
            "broken_links": broken[:20],
            # Kept for a person; no ack reaches the lowest (see `advance`).
            "held_conflicts": held,
        }

    def summary(self) -> dict[str, Any]:
        """Totals and per-station figures, every link of every chain recomputed."""
        self._db.row_factory = sqlite3.Row
        try:
            rows = self._db.execute("SELECT * FROM stations ORDER BY site, station").fetchall()
            stations = {
                f"{r['site']}/{r['station']}": self._station_summary(r["site"], r["station"], r)
                for r in rows
            }
            reasons = [
                f"{r['topic']}: {r['reason']}"
                for r in self._db.execute("SELECT topic, reason FROM rejected ORDER BY n LIMIT 20")
            ]
        finally:
            self._db.row_factory = None
        per = stations.values()
        return {
            "received": sum(s["received"] for s in per),
            "unique": sum(s["unique"] for s in per),
            "duplicates": sum(s["duplicates"] for s in per),
            "conflicts": sum(s["conflicts"] for s in per),
            "held_conflicts": sum(len(s["held_conflicts"]) for s in per),
            "gaps": sum(b - a + 1 for s in per for a, b in s["gaps"]),
            "invalid": sum(s["invalid"] for s in per),
            "chain_valid": all(s["chain_valid"] for s in per),
            "stations": stations,
            "rejected": reasons,
        }


def read_summary(path: Path) -> dict[str, Any]:
    """The summary of the central database at `path` (opened, read, closed)."""
    if not path.exists():
        raise FileNotFoundError(f"no central database at {path}")
    with CentralDB(path) as db:
        return db.summary()


__all__ = ["ZERO_HASH", "CentralDB", "Ingested", "canonical_json", "read_summary", "record_hash"]
