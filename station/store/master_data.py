"""Master data as the store offers it: apply (from MQTT or the `[master]` folder), reject,
read the current snapshot and the history of every version.

A mixin of `station.store.Store`; the SQL is in `master_docs`. Every change appends its
`master-applied` / `master-rejected` event in the same transaction (the audit trail says which
plan revision or calibration status was in force when)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from station.core.model import MasterData
from station.master import load_master_dir, master_snapshot
from station.store import master_docs as master
from station.store.base import StoreBase
from station.store.model import Record

log = logging.getLogger("station.store")


class MasterDataMixin(StoreBase):
    """Master data with history."""

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


__all__ = ["MasterDataMixin"]
