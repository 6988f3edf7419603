"""Control limits frozen at the station per plan revision and characteristic (the SPC
baseline), each with its `spc-baseline` event in the same transaction.

A mixin of `station.store.Store`."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, cast

from station.store.base import StoreBase
from station.store.model import Record, StoreError


class SpcLimitsMixin(StoreBase):
    """Frozen SPC limits."""

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


__all__ = ["SpcLimitsMixin"]
