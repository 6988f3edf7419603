"""Plumbing shared by the store's parts (private to `station.store`): the connection, its
transactions, and the in-transaction append that every write path goes through.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from station.core.timefmt import format_ts
from station.store import chain
from station.store.clock import clock_event, clock_problem
from station.store.mark import Mark, MarkWriter
from station.store.model import Record, RecordType, StoreError
from station.store.schema import begin_immediate

log = logging.getLogger("station.store")

AppendFn = Callable[[RecordType, dict[str, Any]], Record]


class StoreBase:
    """Connection, transactions and the in-transaction append."""

    def __init__(
        self,
        db: Database,
        path: Path,
        *,
        site: str,
        station: str,
        budget_mb: float | None,
        retention_days: int | None,
        clock: Callable[[], datetime],
        readonly: bool = False,
    ) -> None:
        """Use `Store.open`; this wraps an already migrated connection."""
        self._db: Database | None = db
        self.path = path
        self.site = site
        self.station = station
        self.budget_mb = budget_mb
        self.retention_days = retention_days
        self.readonly = readonly
        self._clock = clock
        self._mark = None if readonly else MarkWriter(path)
        # At most one `clock-implausible` event per open store (see `_append_in`).
        self._clock_flagged = False

    # -- plumbing ------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError(f"{self.path}: the store is closed")
        return self._db.conn

    @contextmanager
    def _guard(self, what: str) -> Iterator[sqlite3.Connection]:
        """Run a read; SQLite errors become StoreError naming the file and the action."""
        conn = self._conn()
        try:
            yield conn
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            # UnicodeDecodeError: SQLite's message quoted damaged (non-UTF-8) file content.
            raise StoreError(f"{self.path}: cannot {what}: {exc}") from exc

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE … COMMIT, rolled back on any error.

        After COMMIT the high-water mark moves to what is now committed (`mark`).
        """
        if self.readonly:
            raise StoreError(f"{self.path}: cannot {what}: the store is open read-only")
        with self._guard(what) as conn:
            begin_immediate(conn)
            try:
                yield conn
                mark = self._mark_now(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        if self._mark is not None:
            self._mark.note(mark)

    @staticmethod
    def _mark_now(conn: sqlite3.Connection) -> Mark:
        seq, digest = chain.head(conn)
        first = conn.execute("SELECT MIN(seq) FROM undelivered").fetchone()[0]
        return Mark(seq, digest, seq if first is None else int(first) - 1)

    @contextmanager
    def _snapshot(self, what: str) -> Iterator[sqlite3.Connection]:
        """A read transaction, so several SELECTs see one consistent state."""
        with self._guard(what) as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def _close_mark(self) -> None:
        if self._mark is not None:
            self._mark.close()

    def _now(self) -> str:
        return format_ts(self._clock())

    def _append_in(
        self, conn: sqlite3.Connection, items: Sequence[tuple[RecordType, dict[str, Any]]]
    ) -> list[Record]:
        """Build and insert `items`; return their records.

        The record `ts` is always the clock's reading, never adjusted: it is what the station
        believed, and a shifted time would hide the fault. Instead, the first time an open
        store sees the clock before its newest record (beyond `clock.BACK_TOLERANCE`)
        or more than `clock.AHEAD_LIMIT` after it, it chains a `clock-implausible`
        event just before these records, in the same transaction, and logs a warning.
        Order is `seq`'s, not `ts`'s.
        """
        readings: list[datetime] = []

        def reading() -> datetime:
            readings.append(self._clock())
            return readings[-1]

        after = chain.head(conn)
        built = chain.build(items, after=after, site=self.site, station=self.station, clock=reading)
        flagged = False
        if not self._clock_flagged:
            row = conn.execute("SELECT seq, ts FROM records ORDER BY seq DESC LIMIT 1").fetchone()
            problem = None if row is None else clock_problem(readings[0], str(row[1]))
            if row is not None and problem is not None:
                log.warning("%s: %s", self.path, problem)
                event = clock_event(readings[0], int(row[0]), str(row[1]), problem)
                # Rebuilt with the same clock readings (the event shares the first one), so
                # the clock is read once per record either way.
                replay = iter([readings[0], *readings])
                built = chain.build(
                    [("event", event), *items],
                    after=after,
                    site=self.site,
                    station=self.station,
                    clock=lambda: next(replay),
                )
                flagged = True
        for record, text in built:
            chain.insert(conn, record, text)
        self._clock_flagged = self._clock_flagged or flagged
        return [record for record, _ in built[int(flagged) :]]

    def _appender(self, conn: sqlite3.Connection) -> AppendFn:
        return lambda rtype, body: self._append_in(conn, [(rtype, body)])[0]


__all__ = ["AppendFn", "StoreBase"]
