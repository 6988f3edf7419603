"""Read-only record queries of the store, served by the index tables filled at append time.

A mixin of `station.store.Store` (private): kept apart so the write path stays short. Every
query is answered from an index (`ix_*` tables, or the records' primary key), never by
scanning record bodies, so it stays fast at a million records (benchmarks/store_bench.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from station.core.timefmt import format_ts
from station.store.base import StoreBase
from station.store.model import Record, StoreError

_RECORD_COLUMNS = "r.envelope, r.hash"


def _records(rows: list[Any]) -> list[Record]:
    return [Record.from_text(text, digest) for text, digest in rows]


def normalize_ts(value: str) -> str:
    """`value` (any RFC 3339 / ISO 8601 time with a zone) in the stored `…T…:…:….mmmZ` form.

    Stored timestamps compare as strings only in one exact form; "2026-11-21T08:00:00Z"
    would sort after "2026-11-21T08:00:00.500Z", so every bound is normalized first.
    """
    try:
        moment = datetime.fromisoformat(value)
        return format_ts(moment)
    except ValueError as exc:
        raise StoreError(
            f"time {value!r} is not an RFC 3339 timestamp with a zone, "
            "e.g. 2026-11-21T08:00:00.000Z"
        ) from exc


class Queries(StoreBase):
    """Indexed read queries."""

    def iter_records(self, record_type: str, *, batch: int = 500) -> Iterator[Record]:
        """Every stored record of `record_type`, ascending by seq, read `batch` at a time
        (keyset pages on the primary key: memory stays flat however large the store, and a
        record appended meanwhile is included or not, never half)."""
        after = 0
        while True:
            with self._guard(f"read {record_type} records") as conn:
                rows = conn.execute(
                    f"SELECT {_RECORD_COLUMNS}, r.seq FROM records r "
                    "WHERE r.type = ? AND r.seq > ? ORDER BY r.seq LIMIT ?",
                    (record_type, after, batch),
                ).fetchall()
            if not rows:
                return
            for text, digest, _ in rows:
                yield Record.from_text(text, digest)
            after = int(rows[-1][2])

    def record(self, seq: int) -> Record | None:
        """The record with this seq, or None (never written, or pruned)."""
        with self._guard(f"read record {seq}") as conn:
            rows = conn.execute(
                "SELECT envelope, hash FROM records WHERE seq = ?", (seq,)
            ).fetchall()
        return _records(rows)[0] if rows else None

    def records(self, after_seq: int = 0, limit: int = 1000) -> list[Record]:
        """Records with seq > `after_seq`, ascending, at most `limit`."""
        with self._guard("read records") as conn:
            rows = conn.execute(
                "SELECT envelope, hash FROM records WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return _records(rows)

    def event_after(self, kind: str, after_seq: int) -> bool:
        """Whether an `event` record of `kind` exists with seq > `after_seq`.

        A range scan on the primary key with the kind read inside SQLite, so the bench can ask
        at start-up without parsing every later record in Python.
        """
        with self._guard(f"look for a {kind} event") as conn:
            row = conn.execute(
                "SELECT 1 FROM records WHERE seq > ? AND type = 'event' "
                "AND json_extract(envelope, '$.body.kind') = ? LIMIT 1",
                (after_seq, kind),
            ).fetchone()
        return row is not None

    def inspections_using(self, instrument_id: str, since: str | None) -> list[Record]:
        """Reverse traceability: inspections that used `instrument_id` at or after `since`
        (the time of a measurement with it; None = ever), ascending by seq."""
        bound = "" if since is None else normalize_ts(since)
        with self._guard(f"find inspections using {instrument_id}") as conn:
            rows = conn.execute(
                f"SELECT {_RECORD_COLUMNS} FROM ix_instrument_use u "
                "JOIN records r ON r.seq = u.seq "
                "WHERE u.instrument = ? AND u.ts >= ? ORDER BY u.seq",
                (instrument_id, bound),
            ).fetchall()
        return _records(rows)

    def inspections_using_after(self, instrument_id: str, after_seq: int) -> list[Record]:
        """Reverse traceability in record order: inspections that used `instrument_id` with
        seq > `after_seq` (e.g. the seq of its last passing check; 0 = ever), ascending.

        The record order cannot be moved by a station clock that jumped back or forward,
        where measurement times can (a time bound then missed inspections taken after the
        check under a clock set back).
        """
        with self._guard(f"find inspections using {instrument_id}") as conn:
            rows = conn.execute(
                f"SELECT {_RECORD_COLUMNS} FROM ix_instrument_use u "
                "JOIN records r ON r.seq = u.seq "
                "WHERE u.instrument = ? AND u.seq > ? ORDER BY u.seq",
                (instrument_id, int(after_seq)),
            ).fetchall()
        return _records(rows)

    def _window(self, since: str | None, after_seq: int | None) -> tuple[str, tuple[object, ...]]:
        if after_seq is not None:
            return "u.seq > ?", (int(after_seq),)
        return "u.ts >= ?", ("" if since is None else normalize_ts(since),)

    def inspection_parts_using(
        self, instrument_id: str, *, since: str | None = None, after_seq: int | None = None
    ) -> list[tuple[str, str | None]]:
        """(record id, part as JSON text) of each inspection `inspections_using` (with
        `since`) or `inspections_using_after` (with `after_seq`) returns, ascending by seq,
        from the indexes alone: no record is decoded."""
        where, arg = self._window(since, after_seq)
        with self._guard(f"find inspections using {instrument_id}") as conn:
            rows = conn.execute(
                "SELECT r.id, i.part FROM ix_instrument_use u JOIN records r ON r.seq = u.seq "
                f"LEFT JOIN ix_inspection i ON i.seq = u.seq WHERE u.instrument = ? AND {where} "
                "ORDER BY u.seq",
                (instrument_id, *arg),
            ).fetchall()
        return [(str(rid), None if part is None else str(part)) for rid, part in rows]

    def measurements_using(
        self, instrument_id: str, *, since: str | None = None, after_seq: int | None = None
    ) -> list[tuple[Any, ...]]:
        """Every variable measurement taken with `instrument_id` in those inspections, in
        record order: (record id, characteristic, sample, value, unit, lsl, usl, rule, u,
        verdict), from `ix_measurement` (`station.store.measurement_index`)."""
        where, arg = self._window(since, after_seq)
        with self._guard(f"read the measurements of {instrument_id}") as conn:
            return conn.execute(
                "SELECT r.id, m.characteristic, m.sample, m.value, m.unit, m.lsl, m.usl, "
                "m.rule, m.u, m.verdict FROM ix_instrument_use u "
                "JOIN ix_measurement m ON m.instrument = u.instrument AND m.seq = u.seq "
                f"JOIN records r ON r.seq = u.seq WHERE u.instrument = ? AND {where} "
                "ORDER BY u.seq, m.pos",
                (instrument_id, *arg),
            ).fetchall()

    def last_passing_check(self, instrument_id: str) -> Record | None:
        """The newest instrument-check record of `instrument_id` with verdict pass."""
        with self._guard(f"find the last passing check of {instrument_id}") as conn:
            rows = conn.execute(
                f"SELECT {_RECORD_COLUMNS} FROM ix_check c JOIN records r ON r.seq = c.seq "
                "WHERE c.instrument = ? AND c.verdict = 'pass' ORDER BY c.seq DESC LIMIT 1",
                (instrument_id,),
            ).fetchall()
        return _records(rows)[0] if rows else None

    def last_values(
        self, plan_id: str, characteristic: str, n: int = 125, rev: str | None = None
    ) -> list[float]:
        """The last `n` variable values of a characteristic (oldest first), for SPC.

        Values are in record order, then in their order within the record. `rev` limits
        them to one plan revision. These survive pruning of the records they came from.
        """
        if rev is None:
            sql = (
                "SELECT value FROM ix_value WHERE plan_id = ? AND characteristic = ? "
                "ORDER BY seq DESC, pos DESC LIMIT ?"
            )
            params: tuple[Any, ...] = (plan_id, characteristic, n)
        else:
            sql = (
                "SELECT value FROM ix_value WHERE plan_id = ? AND plan_rev = ? "
                "AND characteristic = ? ORDER BY seq DESC, pos DESC LIMIT ?"
            )
            params = (plan_id, rev, characteristic, n)
        with self._guard(f"read values of {plan_id}/{characteristic}") as conn:
            rows = conn.execute(sql, params).fetchall()
        return [float(v) for (v,) in reversed(rows)]

    def first_values(self, plan_id: str, characteristic: str, n: int, rev: str) -> list[float]:
        """The first `n` values of a characteristic in one plan revision (SPC baseline)."""
        with self._guard(f"read values of {plan_id}/{characteristic}") as conn:
            rows = conn.execute(
                "SELECT value FROM ix_value WHERE plan_id = ? AND plan_rev = ? "
                "AND characteristic = ? ORDER BY seq, pos LIMIT ?",
                (plan_id, rev, characteristic, n),
            ).fetchall()
        return [float(v) for (v,) in rows]

    def count_values(self, plan_id: str, characteristic: str, rev: str) -> int:
        """How many values a characteristic has in one plan revision."""
        with self._guard(f"count values of {plan_id}/{characteristic}") as conn:
            row = conn.execute(
                "SELECT count(*) FROM ix_value WHERE plan_id = ? AND plan_rev = ? "
                "AND characteristic = ?",
                (plan_id, rev, characteristic),
            ).fetchone()
        return int(row[0])

    def inspections_by_serial(self, serial: str) -> list[Record]:
        """Every inspection of the part with this serial number, oldest first."""
        with self._guard(f"find inspections of serial {serial}") as conn:
            rows = conn.execute(
                f"SELECT {_RECORD_COLUMNS} FROM ix_inspection i JOIN records r ON r.seq = i.seq "
                "WHERE i.serial = ? ORDER BY i.seq",
                (serial,),
            ).fetchall()
        return _records(rows)

    def recent_inspections(self, n: int = 20) -> list[Record]:
        """The `n` newest inspections, newest first."""
        with self._guard("read recent inspections") as conn:
            rows = conn.execute(
                f"SELECT {_RECORD_COLUMNS} FROM ix_inspection i JOIN records r ON r.seq = i.seq "
                "ORDER BY i.seq DESC LIMIT ?",
                (n,),
            ).fetchall()
        return _records(rows)


__all__ = ["Queries", "normalize_ts"]
