"""Master data, local state and the sync daemon's state: the store's non-record tables.

A mixin of `station.store.Store` (private). Changes that matter for the audit trail
(master data applied or rejected, local quarantine) append their `event` record in the
same transaction as the change; bindings, the draft and the sync state are plain state.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from station.core.model import MasterData
from station.master import load_master_dir, master_snapshot
from station.store import master_docs as master
from station.store.base import StoreBase
from station.store.model import Record, StoreError

log = logging.getLogger("station.store")


def draft_text(doc: dict[str, Any]) -> str:
    """The stored form of a draft (local state, not hashed, so plain `json.dumps`).

    Raises:
        StoreError: `doc` is not plain JSON data.
    """
    try:
        return json.dumps(doc, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"draft is not plain JSON data: {exc}") from exc


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


class StateMixin(StoreBase):
    """Master data with history, local quarantine, bindings, SPC limits, draft, sync state."""

    # -- sync daemon state ---------------------------------------------------------------

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

    def apply_master(
        self,
        kind: str,
        item_id: str,
        doc: dict[str, Any] | None,
        *,
        topic: str | None = None,
        source: str = "mqtt",
    ) -> Record | None:
        """Store a validated master document (None deletes) and log `master-applied` in the
        same transaction; return that event, or None when identical to what is held."""
        now = self._now()
        with self._write(f"apply {kind} {item_id}") as conn:
            return master.apply(
                conn,
                self._appender(conn),
                kind=kind,
                item_id=item_id,
                doc=doc,
                topic=topic,
                source=source,
                ts=now,
            )

    def reject_master(self, topic: str, reason: str) -> Record:
        """Log `master-rejected` for an invalid master message (nothing else changes)."""
        detail = {"topic": topic, "reason": reason}
        body = {"kind": "master-rejected", "operator": None, "detail": detail}
        with self._write("log a rejected master message") as conn:
            return self._append_in(conn, [("event", body)])[0]

    def bootstrap_master(self, docs: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
        """Apply (kind, id, doc) from the `[master]` folder where the QMS never sent that item;
        return how many changed. Unchanged files log nothing, so restarts stay quiet."""
        now = self._now()
        changed = 0
        with self._write("apply the master-data folder") as conn:
            append = self._appender(conn)
            for kind, item_id, doc in docs:
                if master.has_mqtt_version(conn, kind, item_id):
                    continue
                event = master.apply(
                    conn,
                    append,
                    kind=kind,
                    item_id=item_id,
                    doc=doc,
                    topic=None,
                    source="file",
                    ts=now,
                )
                changed += event is not None
        return changed

    def bootstrap_master_dir(self, folder: Path | None) -> int:
        """Load the `[master] dir` files and `bootstrap_master` them; return how many changed.

        `folder` None (no `[master] dir` configured) changes nothing.

        A file with problems is logged (one line each, as `check-config` prints them) and not
        used; the others still apply, so one bad file never leaves the bench without data.

        Raises:
            StoreError: the store refused the write.
        """
        if folder is None:
            return 0
        docs, problems = load_master_dir(folder)
        for line in problems:
            log.error("master-data folder: %s (file not used)", line)
        changed = self.bootstrap_master((d.kind, d.id, d.doc) for d in docs)
        log.info("master-data folder %s: %d documents, %d applied", folder, len(docs), changed)
        return changed

    def master_doc(self, kind: str, item_id: str) -> dict[str, Any] | None:
        """The document last applied for (kind, id) (for a plan: its newest revision)."""
        master.check_kind(kind)
        with self._guard(f"read {kind} {item_id}") as conn:
            found = master.latest(conn, kind, item_id)
        return None if found is None else cast(dict[str, Any], json.loads(found))

    def master_data(self) -> MasterData:
        """Typed snapshot of all current master data (every current plan revision)."""
        with self._snapshot("read master data") as conn:
            docs = master.current_docs(conn)
        return master_snapshot(docs)

    def master_version(self) -> int:
        """A number that grows with every master-data change (0 before the first).

        `master_history` is append-only, so its newest version id changes exactly when
        master data does: a reader can keep a snapshot until this number moves.
        """
        with self._guard("read the master-data version") as conn:
            row = conn.execute("SELECT max(vid) FROM master_history").fetchone()
        return int(row[0] or 0)

    def master_history(self, kind: str, item_id: str) -> list[dict[str, Any]]:
        """Every applied version of (kind, id), oldest first (keys: version, rev, doc,
        source, topic, ts, record_seq; doc None = deleted)."""
        master.check_kind(kind)
        with self._guard(f"read the history of {kind} {item_id}") as conn:
            return master.history(conn, kind, item_id)

    # -- local state ---------------------------------------------------------------------

    def quarantine_instrument(
        self, instrument_id: str, reason: str, operator: str | None
    ) -> Record:
        """Quarantine an instrument locally; returns the `instrument-quarantined` event."""
        now = self._now()
        with self._write(f"quarantine {instrument_id}") as conn:
            return master.quarantine(
                conn,
                self._appender(conn),
                instrument_id=instrument_id,
                reason=reason,
                operator=operator,
                ts=now,
            )

    def release_instrument(self, instrument_id: str, operator: str | None) -> Record:
        """Lift a local quarantine; returns the `instrument-released` event.

        Raises:
            StoreError: the instrument is not in local quarantine.
        """
        with self._write(f"release {instrument_id}") as conn:
            return master.release(
                conn, self._appender(conn), instrument_id=instrument_id, operator=operator
            )

    def local_quarantines(self) -> dict[str, str]:
        """Instrument id → reason, for every local quarantine."""
        with self._guard("read local quarantines") as conn:
            rows = conn.execute("SELECT instrument, reason FROM quarantine ORDER BY instrument")
            return {str(i): str(r) for i, r in rows}

    def bind_instrument(self, input_name: str, instrument_id: str | None) -> None:
        """Bind an input to an instrument (None unbinds)."""
        now = self._now()
        with self._write(f"bind input {input_name}") as conn:
            if instrument_id is None:
                conn.execute("DELETE FROM bindings WHERE input = ?", (input_name,))
            else:
                conn.execute(
                    "INSERT INTO bindings (input, instrument, ts) VALUES (?, ?, ?) "
                    "ON CONFLICT (input) DO UPDATE SET instrument = excluded.instrument, "
                    "ts = excluded.ts",
                    (input_name, instrument_id, now),
                )

    def bindings(self) -> dict[str, str]:
        """Input name → bound instrument id."""
        with self._guard("read bindings") as conn:
            rows = conn.execute("SELECT input, instrument FROM bindings ORDER BY input")
            return {str(i): str(b) for i, b in rows}

    # -- SPC ---------------------------------------------------------------------------------

    def spc_limits(self, plan_id: str, rev: str, characteristic: str) -> dict[str, Any] | None:
        """The control limits frozen for (plan rev, characteristic), or None."""
        with self._guard(f"read SPC limits of {plan_id}/{characteristic}") as conn:
            row = conn.execute(
                "SELECT doc FROM spc_limits WHERE plan_id = ? AND plan_rev = ? "
                "AND characteristic = ?",
                (plan_id, rev, characteristic),
            ).fetchone()
        return None if row is None else cast(dict[str, Any], json.loads(row[0]))

    def freeze_spc_limits(
        self,
        plan_id: str,
        rev: str,
        characteristic: str,
        limits: dict[str, Any],
        operator: str | None,
    ) -> Record:
        """Freeze control limits and append the `spc-baseline` event, in one transaction.

        Raises:
            StoreError: limits are already frozen for this plan revision and characteristic.
        """
        text = json.dumps(limits, sort_keys=True, allow_nan=False)
        detail = {"plan": {"id": plan_id, "rev": rev}, "characteristic": characteristic}
        body = {"kind": "spc-baseline", "operator": operator, "detail": {**detail, **limits}}
        with self._write(f"freeze SPC limits of {plan_id}/{characteristic}") as conn:
            record = self._append_in(conn, [("event", body)])[0]
            try:
                conn.execute(
                    "INSERT INTO spc_limits (plan_id, plan_rev, characteristic, doc, record_seq) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (plan_id, rev, characteristic, text, record.seq),
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError(
                    f"SPC limits of {plan_id} rev {rev} {characteristic} are already frozen"
                ) from exc
            return record

    # -- the bench's draft -------------------------------------------------------------------

    def save_draft(self, doc: dict[str, Any]) -> None:
        """Keep the unfinished inspection so the bench can resume it after a restart."""
        text = draft_text(doc)
        now = self._now()
        with self._write("save the draft inspection") as conn:
            self._put_draft(conn, text, now)

    @staticmethod
    def _put_draft(conn: sqlite3.Connection, text: str, ts: str) -> None:
        conn.execute(
            "INSERT INTO draft (id, doc, ts) VALUES (1, ?, ?) ON CONFLICT (id) "
            "DO UPDATE SET doc = excluded.doc, ts = excluded.ts",
            (text, ts),
        )

    def load_draft(self) -> dict[str, Any] | None:
        """The saved unfinished inspection, or None."""
        with self._guard("read the draft inspection") as conn:
            row = conn.execute("SELECT doc FROM draft WHERE id = 1").fetchone()
        return None if row is None else cast(dict[str, Any], json.loads(row[0]))

    def clear_draft(self) -> None:
        """Forget the unfinished inspection (it was completed or abandoned)."""
        with self._write("clear the draft inspection") as conn:
            conn.execute("DELETE FROM draft")


__all__ = ["StateMixin", "draft_text"]
