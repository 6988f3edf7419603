"""The local record store: the station's only SQLite owner (contract: `mqtt.md`).

Records are audit evidence. One write path (`append`/`append_many`) gives each record its
`seq` (gap-free, never reused), UUIDv7 `id`, `ts`, `prev` and `hash`, validates the envelope
against `record.schema.json`, and returns only after a `synchronous=FULL` commit. SQLite
itself refuses UPDATE/DELETE on records (triggers) and any seq but last + 1. Delivery state
lives in its own table; records the QMS has not confirmed are never deleted, and once their
bytes reach the storage budget new inspections are refused (appends never are, so work in
progress always completes).

Threading: a Store is used from the thread that opened it. Another thread or process opens
its own Store on the same file: WAL, BEGIN IMMEDIATE and the busy timeout make that safe.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from station.core.timefmt import format_ts
from station.schemas.names import NAME_RE, NAME_RULE
from station.settings import Config
from station.store import chain
from station.store.clock import clock_problem
from station.store.draft import DraftMixin, draft_text
from station.store.health import HealthMixin
from station.store.ids import utc_now
from station.store.instruments import InstrumentStateMixin
from station.store.master_data import MasterDataMixin
from station.store.model import (
    RECORD_TYPES,
    SCHEMA_ID,
    DeliveryState,
    Record,
    RecordInvalid,
    RecordType,
    StorageBudgetExceeded,
    StoreCorrupt,
    StoreError,
    StoreMissing,
    StoreStatus,
    VerifyResult,
)
from station.store.queries import Queries
from station.store.retention import cutoff_ts, first_pinned_seq
from station.store.schema import connect, connect_readonly
from station.store.spc_limits import SpcLimitsMixin
from station.store.studies import StudiesMixin
from station.store.sync_state import SyncStateMixin, conflict_in

log = logging.getLogger("station.store")

MIB = 1024 * 1024  # `storage_budget_mb` counts MiB
PendingPayload = tuple[int, RecordType, bytes]  # (seq, type, MQTT payload)
_PRUNE_CHUNK = 10_000
# The outbox in seq order: what the sync daemon publishes next.
_UNDELIVERED = (
    "SELECT r.seq, r.type, r.envelope, r.hash FROM undelivered u JOIN records r "
    "ON r.seq = u.seq WHERE u.seq > ? ORDER BY u.seq LIMIT ?"
)


def _fmt_mb(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


class Store(
    MasterDataMixin,
    InstrumentStateMixin,
    SpcLimitsMixin,
    StudiesMixin,
    DraftMixin,
    SyncStateMixin,
    Queries,
    HealthMixin,
):
    """The append-only, hash-chained record store (see the module docstring).

    Records, delivery, budget and pruning are here; master data, local state and SPC limits
    in the mixins `master_data`, `instruments`, `spc_limits`, `draft` and `sync_state`; indexed
    queries (SPC values too) in `queries`; plumbing in `base`.
    """

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        site: str,
        station: str,
        budget_mb: float | None = None,
        retention_days: int | None = None,
        clock: Callable[[], datetime] | None = None,
        readonly: bool = False,
    ) -> Store:
        """Open (creating folders and file as needed) and migrate the store at `path`.

        `site`/`station` go into every record's envelope. `budget_mb` (MiB of undelivered
        records) enables `check_can_start_inspection`; `retention_days` enables `prune`.
        `readonly` opens an existing store without writing anything, not even a `-wal`
        (`schema.connect_readonly`): for `station verify` and `station status`, which
        must not create a store where a typo in `data_dir` points (only the bench and the
        sync daemon create one) and must work on a read-only copy.

        Raises:
            StoreMissing: `readonly` and there is no file at `path`.
            StoreError: bad argument, or the file cannot be opened as a station store.
        """
        for what, name in (("site", site), ("station", station)):
            if not NAME_RE.match(name):
                raise StoreError(f"{what} id {name!r} {NAME_RULE}")
        if budget_mb is not None and not budget_mb > 0:
            raise StoreError(f"storage budget must be > 0 MB (got {budget_mb})")
        if retention_days is not None and retention_days < 0:
            raise StoreError(f"retention_days must be >= 0 (got {retention_days})")
        path = Path(path)
        try:
            if readonly:
                db = connect_readonly(path)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                db = connect(path)
        except FileNotFoundError as exc:
            raise StoreMissing(f"{path}: no record store here") from exc
        except (OSError, sqlite3.Error, ValueError) as exc:
            raise StoreError(f"{path}: cannot open the record store: {_why(exc)}") from exc
        store = cls(
            db,
            path,
            site=site,
            station=station,
            budget_mb=budget_mb,
            retention_days=retention_days,
            clock=clock or utc_now,
            readonly=readonly,
        )
        if not readonly:
            try:
                seq, digest, _ = store._newest()
                for line in store.lost_records(seq, digest):
                    # Not refused: the bench must keep recording; `station status` and
                    # `station verify` report it (exit 1) until someone looks.
                    log.error("%s: %s", path, line)
            except StoreError as exc:
                log.error("%s: %s", path, exc)
        return store

    @classmethod
    def for_config(
        cls,
        cfg: Config,
        *,
        clock: Callable[[], datetime] | None = None,
        readonly: bool = False,
    ) -> Store:
        """Open the store a station config names: its file, ids, budget and retention.

        Raises:
            StoreError: as `open`.
        """
        st = cfg.station
        return cls.open(
            st.db_path,
            site=st.site,
            station=st.id,
            budget_mb=st.storage_budget_mb,
            retention_days=st.retention_days,
            clock=clock,
            readonly=readonly,
        )

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._close_mark()
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- records: the one write path -----------------------------------------------------

    def append(self, type: RecordType, body: dict[str, Any]) -> Record:
        """Append one record; it is committed (and fsynced) when this returns.

        Raises:
            RecordInvalid: the envelope fails record.schema.json (nothing written).
            StoreError: SQLite refused (e.g. the disk is full); nothing written.
        """
        with self._write(f"append a {type} record") as conn:
            return self._append_in(conn, [(type, body)])[0]

    def append_many(self, items: Sequence[tuple[RecordType, dict[str, Any]]]) -> list[Record]:
        """Append several records in one transaction: all of them, or (on error) none."""
        if not items:
            return []
        with self._write(f"append {len(items)} records") as conn:
            return self._append_in(conn, items)

    def append_and_clear_draft(
        self,
        type: RecordType,
        body: dict[str, Any],
        *,
        next_draft: Callable[[Record], dict[str, Any]] | None = None,
    ) -> Record:
        """Append a record and replace the draft in the same transaction.

        The draft is deleted, or replaced by `next_draft(record)` (e.g. "a nonconformance is
        owed for this rejected inspection"). A crash can then never leave both a recorded
        inspection and a draft offering to record it again (a duplicate inspection is audit
        damage), nor a rejected inspection whose owed nonconformance was forgotten.
        """
        with self._write(f"append a {type} record and clear the draft") as conn:
            record = self._append_in(conn, [(type, body)])[0]
            if next_draft is None:
                conn.execute("DELETE FROM draft")
            else:
                self._put_draft(conn, draft_text(next_draft(record)), record.ts)
            return record

    def last_seq(self) -> int:
        """The newest seq (0 when nothing was ever appended)."""
        with self._guard("read the last seq") as conn:
            return chain.head(conn)[0]

    # -- delivery bookkeeping ------------------------------------------------------------

    def pending(self, after_seq: int = 0, limit: int = 100) -> list[Record]:
        """Undelivered records with seq > `after_seq`, ascending (published ones included)."""
        with self._guard("read pending records") as conn:
            rows = conn.execute(_UNDELIVERED, (after_seq, limit)).fetchall()
        return [Record.from_text(text, digest) for _, _, text, digest in rows]

    def pending_payloads(self, after_seq: int = 0, limit: int = 100) -> list[PendingPayload]:
        """Like `pending`, for the sync daemon's drain: (seq, type, MQTT payload) per record.

        The payload is byte for byte `Record.payload()`, spliced from the stored text
        (`chain.wire_payload`) instead of parsed into a `Record` and serialized again:
        that round trip was a third of the daemon's CPU time per record.
        """
        with self._guard("read pending records") as conn:
            rows = conn.execute(_UNDELIVERED, (after_seq, limit)).fetchall()
        out: list[PendingPayload] = []
        for seq, rtype, text, digest in rows:
            payload = chain.wire_payload(text, digest)
            if payload is None:
                payload = Record.from_text(text, digest).payload()
            out.append((seq, rtype, payload))
        return out

    def mark_published(self, seqs: Iterable[int]) -> None:
        """Note that these undelivered records were handed to the broker (not yet acked)."""
        now = self._now()
        with self._write("mark records published") as conn:
            conn.executemany(
                "UPDATE undelivered SET state = 'published', published_ts = ? WHERE seq = ?",
                [(now, int(s)) for s in seqs],
            )

    def mark_delivered(self, seqs: Iterable[int]) -> int:
        """Broker ack mode: these seqs were PUBACKed. Returns how many were newly delivered."""
        with self._write("mark records delivered") as conn:
            cur = conn.executemany(
                "DELETE FROM undelivered WHERE seq = ?", [(int(s),) for s in seqs]
            )
            return max(cur.rowcount, 0)

    def mark_delivered_upto(self, seq: int) -> int:
        """Central ack mode: every seq <= `seq` is stored by the QMS. Returns newly delivered."""
        with self._write("mark records delivered") as conn:
            return conn.execute("DELETE FROM undelivered WHERE seq <= ?", (int(seq),)).rowcount

    def delivered_seq(self) -> int:
        """The highest seq such that it and every seq below it are delivered."""
        with self._snapshot("read the delivery state") as conn:
            first = conn.execute("SELECT MIN(seq) FROM undelivered").fetchone()[0]
            return chain.head(conn)[0] if first is None else int(first) - 1

    def delivery_state(self, seq: int) -> DeliveryState | None:
        """pending / published / delivered for `seq`; None when no such record exists."""
        with self._snapshot("read a delivery state") as conn:
            row = conn.execute("SELECT state FROM undelivered WHERE seq = ?", (seq,)).fetchone()
            if row is not None:
                return cast(DeliveryState, row[0])
            # Pruned records (<= the checkpoint) are below the head too: never the newest.
            return "delivered" if 1 <= seq <= chain.head(conn)[0] else None

    def delivery_info(self, seq: int) -> tuple[DeliveryState, str] | None:
        """(delivery state, own hash) of record `seq`, for checking a QMS ack against it;
        None when no such record is held (never written, or pruned)."""
        with self._snapshot("read a delivery state") as conn:
            row = conn.execute(
                "SELECT r.hash, u.state FROM records r LEFT JOIN undelivered u ON u.seq = r.seq "
                "WHERE r.seq = ?",
                (int(seq),),
            ).fetchone()
        if row is None:
            return None
        return cast(DeliveryState, row[1] or "delivered"), str(row[0])

    def status(self) -> StoreStatus:
        """The delivery state for `station status` and the bench's status line."""
        with self._snapshot("read the store status") as conn:
            last = chain.head(conn)[0]
            count, first = conn.execute("SELECT COUNT(*), MIN(seq) FROM undelivered").fetchone()
            oldest = None
            if first is not None:
                oldest = conn.execute("SELECT ts FROM records WHERE seq = ?", (first,)).fetchone()
            conflict = conflict_in(conn)  # what the QMS refused to ack (sync daemon)
        return StoreStatus(
            conflict=conflict,
            last_seq=last,
            pending=int(count),
            delivered_seq=last if first is None else int(first) - 1,
            oldest_pending_ts=None if oldest is None else str(oldest[0]),
            db_bytes=sum(
                p.stat().st_size
                for p in (self.path, self.path.with_name(self.path.name + "-wal"))
                if p.exists()
            ),
        )

    def check_can_start_inspection(self) -> None:
        """Refuse a new inspection when undelivered records fill the storage budget.

        Raises:
            StorageBudgetExceeded: saying why and what to do.
        """
        if self.budget_mb is None:
            return
        with self._snapshot("check the storage budget") as conn:
            used, count, first = conn.execute(
                "SELECT COALESCE(SUM(bytes), 0), COUNT(*), MIN(seq) FROM undelivered"
            ).fetchone()
            if used < self.budget_mb * MIB:
                return
            oldest = conn.execute("SELECT ts FROM records WHERE seq = ?", (first,)).fetchone()
        raise StorageBudgetExceeded(
            f"storage budget reached: {_fmt_mb(used / MIB)} MB of records not yet delivered "
            f"to the QMS (budget {_fmt_mb(self.budget_mb)} MB; {count} records, oldest from "
            f"{oldest[0] if oldest else '?'}); new inspections are refused until the sync "
            "daemon delivers them — check the network/broker (station status)"
        )

    def prune(self, now: datetime) -> int:
        """Delete delivered records past retention; return how many.

        What may go is `retention`'s rule: a delivered prefix of the chain, never the
        newest record, older than `retention_days` both by `now` and by the newest record's
        `ts`, and older than anything a suspect list or the calibration interlock can still
        need. A wrong clock therefore prunes nothing recent. The chain stays verifiable from
        the checkpoint (seq and hash of the last pruned record); a trigger refuses to delete
        an undelivered record in any case. SPC values in `ix_value` are kept.
        """
        if self.retention_days is None:
            return 0
        keep = timedelta(days=self.retention_days)
        total = 0
        warned = False
        while True:
            with self._write("prune delivered records") as conn:
                newest = conn.execute(
                    "SELECT seq, ts FROM records ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                if newest is None:
                    break
                last, newest_ts = int(newest[0]), str(newest[1])
                problem = clock_problem(now, newest_ts)
                if problem is not None and not warned:
                    log.warning(
                        "%s: retention judged by the records, not the clock: %s", self.path, problem
                    )
                    warned = True
                wall, by_store = cutoff_ts(now, newest_ts, keep)
                first_undelivered = conn.execute("SELECT MIN(seq) FROM undelivered").fetchone()[0]
                upto = (last if first_undelivered is None else first_undelivered) - 1
                pinned = first_pinned_seq(conn)
                if pinned is not None:
                    upto = min(upto, pinned - 1)
                rows = conn.execute(
                    "SELECT seq, hash, ts FROM records WHERE seq <= ? ORDER BY seq LIMIT ?",
                    (upto, _PRUNE_CHUNK),
                ).fetchall()
                prefix = []
                for row in rows:
                    if not (row[2] < wall and row[2] <= by_store):
                        break
                    prefix.append(row)
                if not prefix:
                    break
                end_seq, end_hash = int(prefix[-1][0]), str(prefix[-1][1])
                conn.execute("INSERT INTO prune_gate (open) VALUES (1)")
                removed = conn.execute("DELETE FROM records WHERE seq <= ?", (end_seq,)).rowcount
                conn.execute("DELETE FROM prune_gate")
                conn.execute("DELETE FROM ix_inspection WHERE seq <= ?", (end_seq,))
                conn.execute("DELETE FROM ix_check WHERE seq <= ?", (end_seq,))
                conn.execute("DELETE FROM ix_study WHERE seq <= ?", (end_seq,))
                conn.execute("DELETE FROM ix_pin WHERE seq <= ?", (end_seq,))
                conn.execute(
                    "INSERT INTO checkpoint (id, seq, hash, ts) VALUES (1, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
                    "ts = excluded.ts",
                    (end_seq, end_hash, format_ts(now)),
                )
                total += removed
                if len(prefix) < len(rows) or len(rows) < _PRUNE_CHUNK:
                    break
        if total:
            # Keyed by instrument, so one scan at the end rather than one per chunk.
            with self._write("prune the traceability index") as conn:
                for table in ("ix_instrument_use", "ix_measurement"):
                    conn.execute(
                        f"DELETE FROM {table} WHERE seq <= "
                        "(SELECT seq FROM checkpoint WHERE id = 1)"
                    )
        return total


def _why(exc: BaseException) -> str:
    """The reason in `exc`, with its errno name for an OSError (EACCES, EROFS, ENOSPC…)."""
    if isinstance(exc, UnicodeDecodeError):
        # SQLite's "malformed database schema (...)" message quotes the damaged schema text,
        # and Python fails to decode it: the message itself is lost, the cause is not.
        return "the database schema is damaged (malformed, not UTF-8): a damaged schema page"
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{exc.strerror or exc} ({errno.errorcode.get(exc.errno, exc.errno)})"
    return str(exc) or type(exc).__name__


__all__ = [
    "MIB",
    "RECORD_TYPES",
    "SCHEMA_ID",
    "DeliveryState",
    "PendingPayload",
    "Record",
    "RecordInvalid",
    "RecordType",
    "StorageBudgetExceeded",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreMissing",
    "StoreStatus",
    "VerifyResult",
]
