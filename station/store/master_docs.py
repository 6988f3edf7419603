"""The SQL of master data and local quarantine: functions over a connection, run inside the
caller's transaction (private to `station.store`; `master_data` and `instruments` call them).

Master data arrives from the QMS (retained MQTT) or from the `[master]` folder at start.
Every applied version is kept in `master_history` (append-only, guarded by triggers), and
each change is logged as a `master-applied` event record in the same transaction, so the
audit trail says which plan revision or calibration status was in force when.

Functions here run inside the caller's `BEGIN IMMEDIATE` transaction; `append` writes event
records into that same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from station.master import MASTER_KINDS, REVISED_KINDS
from station.store.base import AppendFn
from station.store.ids import canonical, sha256_hex
from station.store.model import Record, StoreError


def check_kind(kind: str) -> None:
    """Refuse a master-data kind the contract does not define."""
    if kind not in MASTER_KINDS:
        raise StoreError(f"unknown master-data kind {kind!r} (expected one of {MASTER_KINDS})")


def latest(conn: sqlite3.Connection, kind: str, item_id: str) -> str | None:
    """The doc text most recently applied for (kind, id) (any plan revision), or None."""
    row = conn.execute(
        "SELECT doc FROM master_current WHERE kind = ? AND item_id = ? ORDER BY vid DESC LIMIT 1",
        (kind, item_id),
    ).fetchone()
    return None if row is None else str(row[0])


def apply(
    conn: sqlite3.Connection,
    append: AppendFn,
    *,
    kind: str,
    item_id: str,
    doc: dict[str, Any] | None,
    topic: str | None,
    source: str,
    ts: str,
) -> Record | None:
    """Store `doc` as the current version (None deletes every revision); log it.

    A doc identical to the one held for its (kind, id, rev), or deleting an absent item,
    changes nothing and logs nothing: a plan folder with revisions B and C is re-applied at
    every start and must stay quiet (comparing with the newest revision only would log B
    and C again each time).
    """
    check_kind(kind)
    if doc is None:
        if latest(conn, kind, item_id) is None:
            return None
        rev, text = "", None
    else:
        if doc.get("id", item_id) != item_id:
            raise StoreError(f"{kind} document id {doc.get('id')!r} does not match {item_id!r}")
        rev = str(doc.get("rev", "")) if kind in REVISED_KINDS else ""
        text = canonical(doc)
        held = conn.execute(
            "SELECT doc FROM master_current WHERE kind = ? AND item_id = ? AND rev = ?",
            (kind, item_id, rev),
        ).fetchone()
        if held is not None and held[0] == text:
            return None
    event = append(
        "event",
        {
            "kind": "master-applied",
            "operator": None,
            "detail": {
                "master": kind,
                "id": item_id,
                "rev": rev or None,
                "action": "deleted" if doc is None else "applied",
                "source": source,
                "topic": topic,
                "sha256": None if text is None else sha256_hex(text),
            },
        },
    )
    cur = conn.execute(
        "INSERT INTO master_history (kind, item_id, rev, doc, source, topic, ts, record_seq) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (kind, item_id, rev, text, source, topic, ts, event.seq),
    )
    if text is None:
        conn.execute("DELETE FROM master_current WHERE kind = ? AND item_id = ?", (kind, item_id))
    else:
        conn.execute(
            "INSERT INTO master_current (kind, item_id, rev, doc, vid) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (kind, item_id, rev) DO UPDATE SET doc = excluded.doc, vid = excluded.vid",
            (kind, item_id, rev, text, cur.lastrowid),
        )
    if kind == "instrument" and doc is not None:
        _release_if_recalibrated(conn, append, item_id, doc, held)
    return event


def _release_if_recalibrated(
    conn: sqlite3.Connection,
    append: AppendFn,
    instrument_id: str,
    doc: dict[str, Any],
    held: tuple[str] | None,
) -> None:
    """Lift a local quarantine when the QMS reports a new calibration (a new `cal_due`).

    A failed check quarantines an instrument at this station (ISO 9001 7.1.5.2); what makes
    it fit again is a calibration, which the QMS announces with a new `cal_due`. Any other
    change to the instrument's record (description, `u`, …) leaves the quarantine in force.
    """
    before = None if held is None else json.loads(held[0]).get("cal_due")
    quarantined = conn.execute(
        "SELECT 1 FROM quarantine WHERE instrument = ?", (instrument_id,)
    ).fetchone()
    if quarantined is None or before is None or doc.get("cal_due") == before:
        return
    release(
        conn,
        append,
        instrument_id=instrument_id,
        operator=None,
        why=f"recalibrated: the QMS sent cal_due {doc.get('cal_due')} (was {before})",
    )


def has_mqtt_version(conn: sqlite3.Connection, kind: str, item_id: str) -> bool:
    """True when the QMS has ever sent this item (a bootstrap file must not override it)."""
    row = conn.execute(
        "SELECT 1 FROM master_history WHERE kind = ? AND item_id = ? AND source = 'mqtt' LIMIT 1",
        (kind, item_id),
    ).fetchone()
    return row is not None


def current_docs(conn: sqlite3.Connection) -> list[tuple[str, dict[str, Any]]]:
    """Every current (kind, doc): one per item, one per plan revision."""
    rows = conn.execute("SELECT kind, doc FROM master_current ORDER BY kind, item_id, vid")
    return [(str(kind), json.loads(doc)) for kind, doc in rows]


def history(conn: sqlite3.Connection, kind: str, item_id: str) -> list[dict[str, Any]]:
    """Every applied version of (kind, id), oldest first; `doc` None marks a deletion."""
    rows = conn.execute(
        "SELECT vid, rev, doc, source, topic, ts, record_seq FROM master_history "
        "WHERE kind = ? AND item_id = ? ORDER BY vid",
        (kind, item_id),
    )
    return [
        {
            "version": vid,
            "rev": rev or None,
            "doc": None if doc is None else json.loads(doc),
            "source": source,
            "topic": topic,
            "ts": ts,
            "record_seq": record_seq,
        }
        for vid, rev, doc, source, topic, ts, record_seq in rows
    ]


def quarantine(
    conn: sqlite3.Connection,
    append: AppendFn,
    *,
    instrument_id: str,
    reason: str,
    operator: str | None,
    ts: str,
) -> Record:
    """Put an instrument in local quarantine and log `instrument-quarantined`."""
    if not reason.strip():
        raise StoreError(f"quarantine of {instrument_id!r} needs a reason (got an empty one)")
    event = append(
        "event",
        {
            "kind": "instrument-quarantined",
            "operator": operator,
            "detail": {"instrument": instrument_id, "reason": reason},
        },
    )
    conn.execute(
        "INSERT INTO quarantine (instrument, reason, operator, ts, record_seq) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (instrument) DO UPDATE SET reason = excluded.reason, "
        "operator = excluded.operator, ts = excluded.ts, record_seq = excluded.record_seq",
        (instrument_id, reason, operator, ts, event.seq),
    )
    return event


def release(
    conn: sqlite3.Connection,
    append: AppendFn,
    *,
    instrument_id: str,
    operator: str | None,
    why: str | None = None,
) -> Record:
    """Lift a local quarantine and log `instrument-released` (with the reason it had)."""
    row = conn.execute(
        "SELECT reason FROM quarantine WHERE instrument = ?", (instrument_id,)
    ).fetchone()
    if row is None:
        raise StoreError(
            f"instrument {instrument_id!r} is not in local quarantine; nothing to release"
        )
    event = append(
        "event",
        {
            "kind": "instrument-released",
            "operator": operator,
            "detail": {"instrument": instrument_id, "quarantine_reason": row[0], "why": why},
        },
    )
    conn.execute("DELETE FROM quarantine WHERE instrument = ?", (instrument_id,))
    return event


__all__ = [
    "apply",
    "check_kind",
    "current_docs",
    "has_mqtt_version",
    "history",
    "latest",
    "quarantine",
    "release",
]
