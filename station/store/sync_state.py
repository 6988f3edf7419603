"""The sync daemon's state inside the store: online or not (shown on the bench), and the seq
conflict it found (contract mqtt.md "Delivery": the QMS holds a seq with another hash).

A mixin of `station.store.Store`; plain state, no records."""

from __future__ import annotations

import sqlite3
from typing import Any

from station.store.base import StoreBase


def conflict_in(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """The `sync_conflict` row as `station status` shows it, or None. A store opened
    read-only before any daemon migrated it has no such table: no conflict was seen."""
    try:
        row = conn.execute("SELECT seq, detail, ts FROM sync_conflict WHERE id = 1").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    return None if row is None else {"seq": int(row[0]), "detail": str(row[1]), "ts": str(row[2])}


class SyncStateMixin(StoreBase):
    """What the sync daemon tells the bench and `station status`."""

    def set_sync_state(self, online: bool, detail: str = "") -> None:
        """Record whether the sync daemon is connected (shown on the bench)."""
        now = self._now()
        with self._write("save the sync state") as conn:
            conn.execute(
                "INSERT INTO sync_state (id, online, detail, ts) VALUES (1, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET online = excluded.online, "
                "detail = excluded.detail, ts = excluded.ts",
                (int(online), detail, now),
            )

    def sync_state(self) -> tuple[bool, str, str | None]:
        """(online, detail, updated ts); (False, "", None) when the daemon never reported."""
        with self._guard("read the sync state") as conn:
            row = conn.execute("SELECT online, detail, ts FROM sync_state WHERE id = 1").fetchone()
        return (False, "", None) if row is None else (bool(row[0]), str(row[1]), str(row[2]))

    def set_sync_conflict(self, seq: int, detail: str) -> None:
        """Keep what the QMS refused to ack at `seq` (a reused seq, a gap it will not pass),
        for `station status` and a person (docs/operations.md, "Recovering from a seq
        conflict"). The lowest seq wins: that is where delivery stops."""
        now = self._now()
        with self._write("save the sync conflict") as conn:
            conn.execute(
                "INSERT INTO sync_conflict (id, seq, detail, ts) VALUES (1, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, detail = excluded.detail, "
                "ts = excluded.ts WHERE excluded.seq <= sync_conflict.seq",
                (int(seq), detail, now),
            )

    def clear_sync_conflict(self, upto: int) -> bool:
        """The QMS acked `upto` with this station's own hash: a conflict at or below it is
        resolved. True when one was cleared."""
        with self._write("clear the sync conflict") as conn:
            cur = conn.execute("DELETE FROM sync_conflict WHERE seq <= ?", (int(upto),))
            return cur.rowcount > 0

    def sync_conflict(self) -> dict[str, Any] | None:
        """`{"seq", "detail", "ts"}` of the kept conflict, or None."""
        with self._guard("read the sync conflict") as conn:
            return conflict_in(conn)

    # -- master data ---------------------------------------------------------------------


__all__ = ["SyncStateMixin", "conflict_in"]
