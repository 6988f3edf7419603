"""The central's PostgreSQL database: the only module of `station.central` that uses psycopg.

One batch of received messages is one transaction (`CentralStore.ingest`):

1. the refused messages go to `rejects`;
2. the valid records are inserted with one `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO
   NOTHING RETURNING id`: the primary key (`id`) and the unique `(site, station, seq)` refuse
   a duplicate or a collision; a refused row is then looked up to tell a duplicate (same id,
   same hash: expected, the station re-sends) from a conflict (kept aside in `conflicts`);
3. for every station the batch touched, in a fixed order, its `station_status` row is locked
   (`SELECT ... FOR UPDATE`) and the acknowledgeable seq is walked forward IN THE DATABASE
   (`ADVANCE_SQL`: each next seq present and its `prev` equal to the hash before), then held
   below the lowest conflict (contract mqtt.md, "Delivery": never past a gap, a broken link
   or a conflict);
4. commit; only then does the caller publish the acks this returns.

Why that is correct with several replicas ("Several consumers"): under READ COMMITTED each
statement sees every transaction committed before it began (PostgreSQL docs §13.2.1). The
walk runs after the row lock is granted, so of two replicas storing neighbouring records of one
station at once, the one that locks second sees the other's committed rows and acks the
whole run; the first acks only what it could see. Either way no replica acks a record that is
not committed. Rows are inserted sorted by (site, station, seq) and station rows locked in
sorted order, so two replicas take locks in one order; a deadlock or serialization failure
that still happens is retried (§13.4 advises retrying those).

A lost connection (PostgreSQL restarted) raises `StoreUnavailable`: the transaction was not
committed, nothing was acked, and the caller keeps the batch to ingest again on a new
connection.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import make_conninfo

from station.central.check import Rejected, Valid
from station.central.migrations import LATEST, MIGRATIONS

log = logging.getLogger("station.central")

ZERO_HASH = "0" * 64
_MIGRATION_LOCK = 0x5354_4154  # "STAT": the advisory lock key of schema migrations
_RETRIES = 5

_INSERT = """
INSERT INTO records (id, site, station, seq, type, ts, prev, hash, body, payload, replica)
SELECT i, si, st, sq, ty, t, p, h, b::jsonb, pl, %(replica)s
FROM unnest(%(ids)b::text[], %(sites)b::text[], %(stations)b::text[], %(seqs)b::bigint[],
            %(types)b::text[], %(ts)b::timestamptz[], %(prevs)b::text[], %(hashes)b::text[],
            %(bodies)b::text[], %(payloads)b::text[]) AS u(i, si, st, sq, ty, t, p, h, b, pl)
ON CONFLICT DO NOTHING
RETURNING id
"""
# For every station of a batch at once (one statement, not a few per station: a batch of a
# 50-station fleet touches 50), the highest seq N reachable from its delivered seq by records
# that are each the next seq and whose `prev` is the hash of the one before (one index lookup
# per step), with what is stored at N + 1 (a record there means a broken link) and the lowest
# conflict kept aside for the station.
ADVANCE_SQL = """
WITH RECURSIVE walk(site, station, seq, hash) AS (
    SELECT * FROM unnest(%(sites)s::text[], %(stations)s::text[], %(seqs)s::bigint[],
                         %(hashes)s::text[])
  UNION ALL
    SELECT r.site, r.station, r.seq, r.hash FROM walk w JOIN records r
      ON r.site = w.site AND r.station = w.station AND r.seq = w.seq + 1 AND r.prev = w.hash
), top AS (
    SELECT DISTINCT ON (site, station) site, station, seq, hash FROM walk
    ORDER BY site, station, seq DESC
)
SELECT t.site, t.station, t.seq, t.hash, n.id, n.prev, n.hash, n.payload,
       (SELECT min(c.seq) FROM conflicts c WHERE c.site = t.site AND c.station = t.station)
FROM top t LEFT JOIN records n ON n.site = t.site AND n.station = t.station AND n.seq = t.seq + 1
ORDER BY t.site, t.station
"""
_LOCK = """
SELECT site, station, delivered_seq, delivered_hash FROM station_status
WHERE (site, station) IN (SELECT * FROM unnest(%(sites)s::text[], %(stations)s::text[]))
ORDER BY site, station FOR UPDATE
"""
_DELIVERED = """
UPDATE station_status s SET delivered_seq = u.seq, delivered_hash = u.hash
FROM unnest(%(sites)s::text[], %(stations)s::text[], %(seqs)s::bigint[], %(hashes)s::text[])
     AS u(site, station, seq, hash)
WHERE s.site = u.site AND s.station = u.station
"""
_CONFLICT = """
INSERT INTO conflicts (site, station, seq, kind, held_id, held_hash, got_id, got_hash, detail,
                       payload, replica)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT DO NOTHING RETURNING n
"""

# The newest passing calibration per (site, instrument); `completed` is the record's own
# time of completion (record.schema.json, calibration body).
_CONFIRMED = """
SELECT DISTINCT ON (site, body->>'instrument') site, body::text FROM records
WHERE type = 'calibration' AND body->>'result' IN ('pass', 'adjusted')
  AND coalesce(body->>'next_due', '') <> ''
ORDER BY site, body->>'instrument', (body->>'completed')::timestamptz DESC, seq DESC
"""


class StoreUnavailable(Exception):
    """PostgreSQL cannot be reached or the connection broke; nothing of the batch committed."""


@dataclass(frozen=True)
class Conflict:
    """A record kept aside for a person (logged once, when first kept)."""

    site: str
    station: str
    seq: int
    kind: str
    detail: str


@dataclass
class Ingested:
    """What one committed batch did, and the acks it earned."""

    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    new_conflicts: list[Conflict] = field(default_factory=list)
    # (site, station) -> (seq, hash) to acknowledge; only stations with something to ack.
    acks: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    stored_ids: set[str] = field(default_factory=set)  # the records stored by this batch


def _got(v: Valid) -> tuple[str, str, int, str, str, str]:
    return (v.site, v.station, v.seq, v.id, v.hash, v.payload)


class CentralStore:
    """One connection to the central database (one per replica process)."""

    def __init__(
        self, dsn: str, *, replica: str, password: str | None = None, connect_timeout: int = 5
    ) -> None:
        self.dsn, self.replica, self._password = dsn, replica, password
        self.connect_timeout = connect_timeout
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    # -- connection --------------------------------------------------------------------------

    def connect(self) -> None:
        """Open the connection and bring the schema to `LATEST`.

        Raises:
            StoreUnavailable: the server cannot be reached (the caller retries).
        """
        self.close()
        extra: dict[str, str] = {"connect_timeout": str(self.connect_timeout)}
        if self._password is not None:
            extra["password"] = self._password
        try:
            conninfo = make_conninfo(
                self.dsn, application_name=f"station-central {self.replica}", **extra
            )
            conn = psycopg.connect(conninfo, autocommit=True)
        except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:
            raise StoreUnavailable(str(exc).strip()) from None
        self._conn = conn
        try:
            self._migrate(conn)
        except psycopg.OperationalError as exc:
            self.close()
            raise StoreUnavailable(str(exc).strip()) from None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def __enter__(self) -> CentralStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def _migrate(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY,"
                " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            have = {int(str(r[0])) for r in conn.execute("SELECT version FROM schema_migrations")}
            for version, name, sql in MIGRATIONS:
                if version in have:
                    continue
                conn.execute(sql.encode())  # bytes: several statements, no parameters
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (version, name),
                )
                log.info("database schema: applied migration %d (%s)", version, name)
        if max(have, default=0) > LATEST:
            log.warning("database schema is at %d, newer than this bridge (%d)", max(have), LATEST)

    def _run(self, what: str, fn: object) -> object:
        """Run `fn(conn)` in one transaction, retrying deadlocks and serialization failures."""
        assert callable(fn)
        for attempt in range(_RETRIES):
            if self._conn is None or self._conn.closed:
                raise StoreUnavailable("not connected")
            try:
                with self._conn.transaction():
                    return fn(self._conn)
            except (pg_errors.DeadlockDetected, pg_errors.SerializationFailure) as exc:
                log.info("%s: %s; retrying (%d)", what, type(exc).__name__, attempt + 1)
            except psycopg.OperationalError as exc:
                self.close()
                raise StoreUnavailable(f"{what}: {str(exc).strip()}") from None
            except psycopg.InterfaceError as exc:
                self.close()
                raise StoreUnavailable(f"{what}: {exc}") from None
        raise StoreUnavailable(f"{what}: still failing after {_RETRIES} attempts")

    # -- writing -----------------------------------------------------------------------------

    def ingest(self, valid: Sequence[Valid], rejected: Sequence[Rejected]) -> Ingested:
        """Store one batch in one transaction and compute the acks it earns (see the module).

        Raises:
            StoreUnavailable: nothing was committed; ingest the same batch again later.
        """
        result = self._run("storing a batch", lambda conn: self._ingest(conn, valid, rejected))
        assert isinstance(result, Ingested)
        return result

    def _ingest(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        valid: Sequence[Valid],
        rejected: Sequence[Rejected],
    ) -> Ingested:
        out = Ingested(rejected=len(rejected))
        if rejected:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO rejects (topic, reason, payload_head, replica)"
                    " VALUES (%s, %s, %s, %s)",
                    [(r.topic, r.reason, r.payload_head.replace("\x00", ""), self.replica)
                     for r in rejected],
                )  # fmt: skip
        unique: dict[str, Valid] = {}
        for v in sorted(valid, key=lambda v: (v.site, v.station, v.seq)):
            if v.id in unique and unique[v.id].hash == v.hash:
                out.duplicates += 1
            else:
                unique.setdefault(v.id, v)  # a second hash for one id: judged below
        rows = list(unique.values())
        others = [v for v in valid if unique.get(v.id) is not v and v.hash != unique[v.id].hash]
        inserted: set[str] = set()
        if rows:
            cur = conn.execute(
                _INSERT,
                {
                    "replica": self.replica,
                    "ids": [v.id for v in rows],
                    "sites": [v.site for v in rows],
                    "stations": [v.station for v in rows],
                    "seqs": [v.seq for v in rows],
                    "types": [v.type for v in rows],
                    "ts": [v.ts for v in rows],
                    "prevs": [v.prev for v in rows],
                    "hashes": [v.hash for v in rows],
                    "bodies": [v.body for v in rows],
                    "payloads": [v.payload for v in rows],
                },
            )
            inserted = {str(r[0]) for r in cur.fetchall()}
        out.stored, out.stored_ids = len(inserted), inserted
        for v in [*(v for v in rows if v.id not in inserted), *others]:
            self._refused(conn, v, out)
        self._advance(conn, sorted({(v.site, v.station) for v in valid}), out)
        return out

    def _refused(
        self, conn: psycopg.Connection[tuple[object, ...]], v: Valid, out: Ingested
    ) -> None:
        """A valid record the insert refused: a duplicate, or a conflict to keep aside."""
        held = conn.execute("SELECT hash FROM records WHERE id = %s", (v.id,)).fetchone()
        if held is not None and held[0] == v.hash:
            out.duplicates += 1
            return
        if held is not None:
            detail = f"id {v.id} reused with another content"
            self._conflict(conn, _got(v), "id-reused", (v.id, str(held[0])), detail=detail, out=out)
            return
        other = conn.execute(
            "SELECT id, hash FROM records WHERE site = %s AND station = %s AND seq = %s",
            (v.site, v.station, v.seq),
        ).fetchone()
        held_id, held_hash = (str(other[0]), str(other[1])) if other else (None, None)
        if held_hash == v.hash:  # pragma: no cover - same hash means same envelope and id
            out.duplicates += 1
            return
        detail = f"seq {v.seq} already held by {held_id} (hash {str(held_hash)[:12]}…)"
        self._conflict(conn, _got(v), "seq-reused", (held_id, held_hash), detail=detail, out=out)

    def _conflict(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        got: tuple[str, str, int, str, str, str],
        kind: str,
        held: tuple[str | None, str | None],
        *,
        detail: str,
        out: Ingested,
    ) -> None:
        """Keep `got` (site, station, seq, id, hash, payload) aside; new ones are reported."""
        site, station, seq, got_id, got_hash, payload = got
        row = conn.execute(
            _CONFLICT,
            (site, station, seq, kind, held[0], held[1], got_id, got_hash, detail, payload,
             self.replica),
        ).fetchone()  # fmt: skip
        if row is not None:
            out.new_conflicts.append(Conflict(site, station, seq, kind, detail))

    def _advance(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        keys: list[tuple[str, str]],
        out: Ingested,
    ) -> None:
        """Lock the stations' rows (in sorted order), walk each acknowledgeable seq forward,
        store the new ones and put the acks in `out`. Four statements for any number of
        stations."""
        if not keys:
            return
        sites, stations = [k[0] for k in keys], [k[1] for k in keys]
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO station_status (site, station)"
                " SELECT * FROM unnest(%(sites)s::text[], %(stations)s::text[])"
                " ON CONFLICT DO NOTHING",
                {"sites": sites, "stations": stations},
            )
            cur.execute(_LOCK, {"sites": sites, "stations": stations})
            locked = {(str(r[0]), str(r[1])): (int(str(r[2])), str(r[3])) for r in cur}
            cur.execute(
                ADVANCE_SQL,
                {
                    "sites": sites,
                    "stations": stations,
                    "seqs": [locked[k][0] for k in keys],
                    "hashes": [locked[k][1] for k in keys],
                },
            )
            walked = cur.fetchall()
        changed: list[tuple[str, str, int, str]] = []
        for site_, station_, seq_, digest_, nxt_id, nxt_prev, nxt_hash, nxt_payload, low in walked:
            site, station, seq, digest = str(site_), str(station_), int(str(seq_)), str(digest_)
            if nxt_id is not None:  # present, yet the walk stopped: its prev does not link
                got = (site, station, seq + 1, str(nxt_id), str(nxt_hash), str(nxt_payload))
                detail = (
                    f"seq {seq + 1} ({nxt_id}) has prev {str(nxt_prev)[:12]}… but the record"
                    f" {seq} held here has hash {digest[:12]}…"
                )
                self._conflict(conn, got, "broken-link", (None, digest), detail=detail, out=out)
            # Held below the lowest conflict (a broken link found just now is at seq + 1).
            if low is not None and int(str(low)) - 1 < seq:
                seq = max(0, int(str(low)) - 1)
                digest = self._hash_at(conn, site, station, seq)
            if (seq, digest) != locked[(site, station)]:
                changed.append((site, station, seq, digest))
            if seq >= 1:
                out.acks[(site, station)] = (seq, digest)
        if changed:
            conn.execute(
                _DELIVERED,
                {
                    "sites": [c[0] for c in changed],
                    "stations": [c[1] for c in changed],
                    "seqs": [c[2] for c in changed],
                    "hashes": [c[3] for c in changed],
                },
            )

    @staticmethod
    def _hash_at(
        conn: psycopg.Connection[tuple[object, ...]], site: str, station: str, seq: int
    ) -> str:
        if seq == 0:
            return ZERO_HASH
        row = conn.execute(
            "SELECT hash FROM records WHERE site = %s AND station = %s AND seq = %s",
            (site, station, seq),
        ).fetchone()
        return ZERO_HASH if row is None else str(row[0])

    def record_status(self, site: str, station: str, state: str, doc_json: str) -> None:
        """Keep a station's last status message (birth or will)."""

        def write(conn: psycopg.Connection[tuple[object, ...]]) -> None:
            conn.execute(
                "INSERT INTO station_status (site, station, state, status, status_at)"
                " VALUES (%s, %s, %s, %s::jsonb, now()) ON CONFLICT (site, station) DO UPDATE"
                " SET state = excluded.state, status = excluded.status, status_at = now()",
                (site, station, state, doc_json),
            )

        self._run("storing a status", write)

    # -- reading -----------------------------------------------------------------------------

    def confirmed_calibrations(self) -> list[tuple[str, str]]:
        """(site, body JSON) of the latest passing calibration of each instrument per site:
        what the bridge confirmed (answer_calibrations), so that publishing the master-data
        folder again after a restart does not take a confirmation back."""

        def read(conn: psycopg.Connection[tuple[object, ...]]) -> list[tuple[str, str]]:
            rows = conn.execute(_CONFIRMED).fetchall()
            return [(str(r[0]), str(r[1])) for r in rows]

        result = self._run("reading the confirmed calibrations", read)
        assert isinstance(result, list)
        return result

    def delivered(self, site: str, station: str) -> tuple[int, str] | None:
        """The station's acknowledgeable (seq, hash) as stored, or None (nothing yet)."""

        def read(conn: psycopg.Connection[tuple[object, ...]]) -> tuple[int, str] | None:
            row = conn.execute(
                "SELECT delivered_seq, delivered_hash FROM station_status"
                " WHERE site = %s AND station = %s",
                (site, station),
            ).fetchone()
            return None if row is None or int(str(row[0])) < 1 else (int(str(row[0])), str(row[1]))

        result = self._run("reading a delivered seq", read)
        return result if isinstance(result, tuple) else None


__all__ = ["ADVANCE_SQL", "ZERO_HASH", "CentralStore", "Conflict", "Ingested", "StoreUnavailable"]
