"""What `Store.prune` may delete: the retention rule (private to `station.store`).

A delivered record is still evidence at the bench: a failed instrument check lists every
inspection that used the instrument since its last passing check (its suspect list,
`station/bench/checkmode.py`), and the calibration interlock reads that last passing check.
The wall clock alone must never decide what goes: set a year ahead (an RTC reset, a typo in
`date -s`) it made every record look old. So a record is pruned only when all of these hold:

1. it is delivered, with every record before it (only a prefix of the chain is pruned, so
   it stays verifiable from the checkpoint), and it is not the newest record;
2. its `ts` is older than `retention_days` by the wall clock (`now`) **and** by the store's
   own order: the newest record is at least `retention_days` later. A clock jump alone then
   prunes nothing; records written after a jump are flagged `clock-implausible`;
3. it is older than everything a suspect list can still need, whatever the clock says
   (`first_pinned_seq`): for every instrument, the inspections that used it after its last
   passing check (by `seq`, or at or after that check's `ts`, the window `checkmode` uses),
   or, with no passing check held, after the day before its master data's `calibrated`
   date (the window the instrument schema names), or every use when neither is known; and
   the last passing check itself of an instrument that needs checks (`check_interval_h`)
   and is not retired, so pruning never turns a checked instrument into an unchecked one;
   and the newest gauge study of each gated kind (`type-1`, `grr`) of every instrument not
   retired, because the study gate reads it (`station.core.studygate`): pruning an
   `unacceptable` Type-1 would let the instrument measure the tolerances it failed;
4. it is older than every open run of wrong PINs (`pin-failed` events of an operator after
   their last right PIN or the QMS's last publication of them): the bench re-derives a
   lockout from those events (`station.bench.pinledger`, 21 CFR 11.300(d)), so pruning them
   would unlock an operator, or forgive failures that count towards the lock.

The price of (3): a station that uses an instrument with neither bench checks nor a
`calibrated` date keeps every record from that instrument's first retained use, and one
that studied an instrument keeps every record since its newest study (a few a year).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, time, timedelta

from station.core.studygate import GATED_KINDS
from station.core.timefmt import format_ts, parse_ts


def cutoff_ts(now: datetime, newest_ts: str, retention: timedelta) -> tuple[str, str]:
    """(wall-clock cutoff, store-order cutoff): prune only `ts < wall and ts <= store`."""
    return format_ts(now - retention), format_ts(parse_ts(newest_ts) - retention)


def _instruments(conn: sqlite3.Connection) -> list[str]:
    """Every instrument with a retained use or check (index skip-scan, not a table scan)."""
    found: set[str] = set()
    for table in ("ix_instrument_use", "ix_check"):
        last = ""
        while True:
            row = conn.execute(
                f"SELECT MIN(instrument) FROM {table} WHERE instrument > ?", (last,)
            ).fetchone()
            if row is None or row[0] is None:
                break
            last = str(row[0])
            found.add(last)
    return sorted(found)


def _calibrated_from(doc: dict[str, object]) -> str | None:
    """The start of the day before `calibrated` in UTC: earlier than that date's midnight
    in any site zone (UTC-12..UTC+14), so the window is never cut short."""
    value = doc.get("calibrated")
    if not isinstance(value, str):
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return format_ts(datetime.combine(day - timedelta(days=1), time(), UTC))


def _retired(conn: sqlite3.Connection, instrument: str) -> bool:
    row = conn.execute(
        "SELECT doc FROM master_current WHERE kind = 'instrument' AND item_id = ? "
        "ORDER BY vid DESC LIMIT 1",
        (instrument,),
    ).fetchone()
    return row is not None and json.loads(row[0]).get("status") == "retired"


def _study_pins(conn: sqlite3.Connection) -> list[int]:
    """The newest gated study of each instrument not retired (rule 3)."""
    marks = ", ".join("?" * len(GATED_KINDS))
    rows = conn.execute(
        f"SELECT instrument, MAX(seq) FROM ix_study WHERE kind IN ({marks}) "
        "GROUP BY instrument, kind",
        GATED_KINDS,
    ).fetchall()
    return [int(seq) for inst, seq in rows if not _retired(conn, str(inst))]


def _lockout_pins(conn: sqlite3.Connection) -> list[int]:
    """The first wrong PIN of each operator's open run (rule 4)."""
    rows = conn.execute(
        "SELECT MIN(f.seq) FROM ix_pin f WHERE f.kind = 'pin-failed' AND f.seq > "
        "COALESCE((SELECT MAX(r.seq) FROM ix_pin r WHERE r.operator = f.operator "
        "AND r.kind IN ('pin-accepted', 'unlock')), 0) GROUP BY f.operator"
    ).fetchall()
    return [int(r[0]) for r in rows]


def first_pinned_seq(conn: sqlite3.Connection) -> int | None:
    """The lowest seq that rules (3) and (4) keep, or None when nothing is pinned."""
    pins: list[int] = _study_pins(conn) + _lockout_pins(conn)
    for inst in _instruments(conn):
        check = conn.execute(
            "SELECT c.seq, r.ts FROM ix_check c JOIN records r ON r.seq = c.seq "
            "WHERE c.instrument = ? AND c.verdict = 'pass' ORDER BY c.seq DESC LIMIT 1",
            (inst,),
        ).fetchone()
        row = conn.execute(
            "SELECT doc FROM master_current WHERE kind = 'instrument' AND item_id = ? "
            "ORDER BY vid DESC LIMIT 1",
            (inst,),
        ).fetchone()
        doc = json.loads(row[0]) if row is not None else {}
        if check is not None:
            check_seq, check_ts = int(check[0]), str(check[1])
            use = conn.execute(
                "SELECT MIN(seq) FROM ix_instrument_use WHERE instrument = ? "
                "AND (seq > ? OR ts >= ?)",
                (inst, check_seq, check_ts),
            ).fetchone()[0]
            if doc.get("check_interval_h") is not None and doc.get("status") != "retired":
                pins.append(check_seq)
        else:
            since = _calibrated_from(doc) or ""
            use = conn.execute(
                "SELECT MIN(seq) FROM ix_instrument_use WHERE instrument = ? AND ts >= ?",
                (inst, since),
            ).fetchone()[0]
        if use is not None:
            pins.append(int(use))
    return min(pins) if pins else None


__all__ = ["cutoff_ts", "first_pinned_seq"]
