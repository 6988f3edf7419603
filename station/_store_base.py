"""Plumbing shared by the store's parts (private to `station.store`): the connection, its
transactions, and the in-transaction append that every write path goes through.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from station import _store_chain as chain
from station._store_schema import begin_immediate
from station._store_types import Record, RecordType, StoreError
from station.core.timefmt import format_ts

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
    ) -> None:
        """Use `Store.open`; this wraps an already migrated connection."""
        self._db: Database | None = db
        self.path = path
        self.site = site
        self.station = station
        self.budget_mb = budget_mb
        self.retention_days = retention_days
        self._clock = clock

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
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot {what}: {exc}") from exc

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE … COMMIT, rolled back on any error."""
        with self._guard(what) as conn:
            begin_immediate(conn)
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

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

    def _now(self) -> str:
        return format_ts(self._clock())

    def _append_in(
        self, conn: sqlite3.Connection, items: Sequence[tuple[RecordType, dict[str, Any]]]
    ) -> list[Record]:
        built = chain.build(
            items, after=chain.head(conn), site=self.site, station=self.station, clock=self._clock
        )
        for record, text in built:
            chain.insert(conn, record, text)
        return [record for record, _ in built]

    def _appender(self, conn: sqlite3.Connection) -> AppendFn:
        return lambda rtype, body: self._append_in(conn, [(rtype, body)])[0]


__all__ = ["AppendFn", "StoreBase"]
