"""Is the store intact? SQLite's own check, the chain, lost records, the clock (private).

A mixin of `station.store.Store`. What each command runs, and why:

- `verify` (`Store.verify`): the whole chain (every hash and link, `chain`), then
  `PRAGMA integrity_check` (a flipped byte in a B-tree page, a free-list or an index entry
  that the chain never reads: https://www.sqlite.org/pragma.html#pragma_integrity_check),
  then the high-water mark (`mark`: records lost with a truncated `-wal`).
- `status` (`Store.checked_status`): the cheap part of that, fit for a script polling it:
  `PRAGMA quick_check` (the same page checks without the index cross-checks) and the mark.
  A changed byte inside a record's text is only found by `verify`.
- the sync daemon (`Store.readable_pending`): the records it publishes next, each re-hashed,
  up to the first one that cannot be read or does not match its hash.

None of them raises on damage: they say what is wrong and where.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace

from station.store import chain
from station.store.base import StoreBase
from station.store.clock import clock_problem
from station.store.ids import sha256_hex
from station.store.indexes import IndexDigest
from station.store.mark import mark_path, read_mark
from station.store.model import (
    Health,
    Record,
    RecordType,
    StoreCorrupt,
    StoreError,
    StoreStatus,
    VerifyResult,
)

PendingPayload = tuple[int, RecordType, bytes]  # (seq, type, MQTT payload)
# integrity_check lists at most this many problems: enough to say where, short enough to read.
_MAX_PROBLEMS = 10
# `status` re-hashes this many of the next undelivered records (~6 ms per 100 here).
_PENDING_CHECK = 200
_PENDING_SQL = (
    "SELECT r.seq, r.type, CAST(r.envelope AS BLOB), r.hash FROM undelivered u "
    "JOIN records r ON r.seq = u.seq WHERE u.seq > ? ORDER BY u.seq LIMIT ?"
)


class HealthMixin(StoreBase):
    """Integrity checks that report instead of raising."""

    def integrity_problems(self, *, quick: bool = False) -> list[str]:
        """What `PRAGMA integrity_check` (or `quick_check`) finds, one line each; [] = ok."""
        pragma = "quick_check" if quick else "integrity_check"
        try:
            rows = self._conn().execute(f"PRAGMA {pragma}({_MAX_PROBLEMS})").fetchall()
        except (sqlite3.Error, ValueError) as exc:
            return [f"SQLite {pragma} cannot read the file: {exc}"]
        lines = [str(r[0]) for r in rows]
        return [] if lines == ["ok"] else [f"SQLite {pragma}: {line}" for line in lines]

    def lost_records(self, last_seq: int, last_hash: str | None) -> list[str]:
        """Compare the store's head (`last_seq`, its hash) with its high-water mark.

        A store that ends below the seq it once committed lost records (a truncated or
        missing `-wal`, a restored backup, a replaced file); a newest record whose hash is
        not the one committed under that seq was replaced. [] when they agree or there is
        no mark (a store from before the mark, or a copy of the database file alone).
        """
        try:
            mark = read_mark(self.path)
        except (OSError, ValueError) as exc:
            return [f"the store's mark file cannot be read: {exc}"]
        if mark is None:
            return []
        where = mark_path(self.path).name
        if mark.last_seq > last_seq:
            acked = ""
            if mark.delivered_seq > last_seq:
                acked = (
                    f"; the QMS had acknowledged up to seq {mark.delivered_seq}, so it holds "
                    f"seq {last_seq + 1}..{mark.delivered_seq}"
                )
            return [
                f"records lost: this store committed up to seq {mark.last_seq} ({where}) but "
                f"now ends at seq {last_seq}: seq {last_seq + 1}..{mark.last_seq} are gone "
                f"(a truncated or missing {self.path.name}-wal, or a restored file){acked}"
            ]
        if mark.last_seq == last_seq and last_hash is not None and mark.hash != last_hash:
            return [
                f"seq {last_seq} is not the record this store committed: hash {last_hash}, "
                f"{where} holds {mark.hash} (the file was replaced or edited)"
            ]
        return []

    def clock_status(self, newest_ts: str | None) -> str:
        """ "ok", or why this process's clock is implausible against the newest record."""
        return clock_problem(self._clock(), newest_ts) or "ok"

    def _newest(self) -> tuple[int, str | None, str | None]:
        """(seq, hash, ts) of the chain head (from the checkpoint when all are pruned)."""
        with self._guard("read the newest record") as conn:
            row = conn.execute("SELECT seq, hash, ts FROM records ORDER BY seq DESC LIMIT 1")
            got = row.fetchone()
            if got is not None:
                return int(got[0]), str(got[1]), str(got[2])
            seq, digest = chain.head(conn)
        return seq, (digest if seq else None), None

    def verify(self) -> VerifyResult:
        """Check the whole store: the chain, the query indexes against the records they
        derive from (`station.store.indexes`), SQLite's integrity_check, lost records.

        `first_bad_seq`/`reason` name the first record that is missing, unreadable or
        damaged; `problems` holds damage SQLite found outside the records' text and
        records lost from the end. Never raises for damage.
        """
        conn = self._conn()
        index_problems: list[str] = []
        try:
            conn.execute("BEGIN")  # one read snapshot for the chain and its indexes
            expected = IndexDigest()
            result = chain.verify_chain(conn, expected)
            if result.ok:
                start, _ = chain.chain_start(conn)
                try:
                    diffs = expected.differences(IndexDigest.stored(conn, start - 1))
                except (sqlite3.Error, ValueError) as exc:  # incl. a text cell not UTF-8
                    diffs = [f"an index cannot be read ({exc})"]
                if diffs:
                    index_problems.append(
                        "the query indexes do not match the records they derive from: "
                        + "; ".join(diffs)
                        + " (the bench's suspect lists and SPC read them)"
                    )
        except sqlite3.Error as exc:
            result = VerifyResult(False, 0, 0, None, f"the records cannot be read ({exc})")
        finally:
            try:
                if conn.in_transaction:
                    conn.execute("COMMIT")
            except sqlite3.Error:
                # Ending a read of a damaged file can fail too; there is nothing to keep.
                conn.rollback()
        problems = [*index_problems, *self.integrity_problems()]
        try:
            seq, digest, _ = self._newest()
        except StoreError as exc:
            problems.append(f"the newest record cannot be read: {exc}")
        else:
            problems += self.lost_records(seq, digest)
        if not problems:
            return result
        return replace(result, ok=False, problems=tuple(problems))

    def checked_status(self, status: StoreStatus) -> StoreStatus:
        """`status` with its health: `quick_check`, lost records and the clock."""
        problems = self.integrity_problems(quick=True)
        seq, digest, ts = self._newest()
        lost = self.lost_records(seq, digest)
        # The next records the sync daemon sends, re-hashed: one that cannot go out stalls
        # every record after it.
        _, corrupt = self.readable_pending(status.delivered_seq, _PENDING_CHECK)
        if corrupt is not None:
            problems.append(
                f"seq {corrupt.seq}: {corrupt.reason} (undelivered: the sync daemon stops there)"
            )
        health: Health = "corrupt" if problems else "records-lost" if lost else "ok"
        return replace(
            status, health=health, problems=(*lost, *problems), clock=self.clock_status(ts)
        )

    def readable_pending(
        self, after_seq: int = 0, limit: int = 100
    ) -> tuple[list[PendingPayload], StoreCorrupt | None]:
        """Like `pending_payloads`, stopping at the first damaged record instead of failing.

        Returns the payloads of the undelivered records after `after_seq` (ascending, at
        most `limit`) that read back intact (UTF-8, and sha256 of the stored text equal to
        the stored hash), up to the first that does not, and a `StoreCorrupt` naming that
        record's seq and what is wrong with it (None when all `limit` were fine). The sync
        daemon publishes the good prefix, then stops and says why: a damaged record must
        not go out, and the ones after it must not overtake it (contract `mqtt.md`: in
        `seq` order).
        """
        out: list[PendingPayload] = []
        conn = self._conn()
        after = after_seq
        try:
            rows = conn.execute(_PENDING_SQL, (after_seq, limit)).fetchall()
        except (sqlite3.Error, ValueError):
            rows = None
        while True:
            if rows is None:  # a damaged page: one row at a time, to find the bad one
                try:
                    rows = conn.execute(_PENDING_SQL, (after, 1)).fetchall()
                    step = True
                except (sqlite3.Error, ValueError) as exc:
                    return out, StoreCorrupt(str(self.path), self._next_pending(after), str(exc))
            else:
                step = False
            for seq, rtype, raw, digest in rows:
                try:
                    text = bytes(raw).decode("utf-8")
                except UnicodeDecodeError as exc:
                    return out, StoreCorrupt(str(self.path), seq, f"not UTF-8 ({exc.reason})")
                if sha256_hex(text) != digest:
                    return out, StoreCorrupt(
                        str(self.path), seq, "the stored text does not match its hash"
                    )
                payload = chain.wire_payload(text, digest)
                if payload is None:
                    try:
                        payload = Record.from_text(text, digest).payload()
                    except (ValueError, KeyError, TypeError) as exc:
                        return out, StoreCorrupt(str(self.path), seq, f"not an envelope: {exc}")
                out.append((int(seq), rtype, payload))
                after = int(seq)
            if not step or not rows or len(out) >= limit:
                return out, None
            rows = None

    def _next_pending(self, after: int) -> int | None:
        """The undelivered seq after `after` (from the small delivery table), if readable."""
        try:
            row = (
                self._conn()
                .execute("SELECT MIN(seq) FROM undelivered WHERE seq > ?", (after,))
                .fetchone()
            )
        except (sqlite3.Error, ValueError):
            return None
        return None if row is None or row[0] is None else int(row[0])


__all__ = ["HealthMixin", "PendingPayload"]
