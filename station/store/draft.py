"""The bench's unfinished inspection, kept so that it survives a crash or a restart (local
state: not a record, not hashed; the inspection record is written when it completes).

A mixin of `station.store.Store`."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, cast

from station.store.base import StoreBase
from station.store.model import StoreError


def draft_text(doc: dict[str, Any]) -> str:
    """The stored form of a draft (local state, not hashed, so plain `json.dumps`).

    Raises:
        StoreError: `doc` is not plain JSON data.
    """
    try:
        return json.dumps(doc, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"draft is not plain JSON data: {exc}") from exc


class DraftMixin(StoreBase):
    """Save, load and clear the draft."""

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


__all__ = ["DraftMixin", "draft_text"]
