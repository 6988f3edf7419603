"""SQLite connection set-up and schema migrations for the record store (private).

Every connection gets the same pragmas, because `synchronous` is per connection and not
persisted (SQLite docs: WAL mode, PRAGMA synchronous): WAL, `synchronous=FULL` (the WAL is fsynced
at every commit,
so a record the operator saw "saved" survives power loss), a busy timeout, and
`BEGIN IMMEDIATE` for writes (a deferred BEGIN that reads then writes fails at once with
SQLITE_BUSY_SNAPSHOT whatever the timeout).

The schema is created and upgraded by `sqlite_utils.Migrations`, applied under
`BEGIN IMMEDIATE` so that two processes opening a fresh file at once cannot both run them.
A migration is never edited once shipped; a change is a new migration appended below.
"""

from __future__ import annotations

import random
import sqlite3
import time
import urllib.parse
from pathlib import Path

from sqlite_utils import Database, Migrations

from station.store.indexes import backfill_measurements, backfill_pins, backfill_studies

BUSY_TIMEOUT_S = 15.0
# Keep the WAL file from staying large on the SD card after a burst (it is truncated to this
# size at each checkpoint; https://www.sqlite.org/pragma.html#pragma_journal_size_limit).
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
SYNCHRONOUS_FULL = 2

APPEND_ONLY_UPDATE = "records are append-only: UPDATE refused"
APPEND_ONLY_DELETE = (
    "records are append-only: DELETE refused (only Store.prune removes delivered records)"
)
SEQ_NOT_NEXT = "records: seq must be the last seq + 1 (no gaps, no reuse)"
HISTORY_APPEND_ONLY = "master_history is append-only"

MIGRATIONS = Migrations("station.store")


@MIGRATIONS(name="0001_records")
def _m0001_records(db: Database) -> None:
    """The chain, its delivery state, pruning checkpoint and the append-only triggers."""
    for sql in (
        # `envelope` is the canonical JSON of the envelope without `hash`: exactly the bytes
        # that were hashed, so verify re-hashes them as they are.
        """CREATE TABLE records (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            ts TEXT NOT NULL,
            hash TEXT NOT NULL,
            envelope TEXT NOT NULL)""",
        # One row per record not yet delivered; delivered = row gone.
        """CREATE TABLE undelivered (
            seq INTEGER PRIMARY KEY,
            state TEXT NOT NULL CHECK (state IN ('pending', 'published')),
            bytes INTEGER NOT NULL,
            published_ts TEXT)""",
        # The last pruned record: the chain restarts from here.
        """CREATE TABLE checkpoint (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq INTEGER NOT NULL,
            hash TEXT NOT NULL,
            ts TEXT NOT NULL)""",
        # A row exists only inside Store.prune's own transaction, never in a committed state.
        "CREATE TABLE prune_gate (open INTEGER NOT NULL)",
        f"""CREATE TRIGGER records_no_update BEFORE UPDATE ON records
            BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_UPDATE}'); END""",
        f"""CREATE TRIGGER records_no_delete BEFORE DELETE ON records
            WHEN NOT (EXISTS (SELECT 1 FROM prune_gate)
                      AND NOT EXISTS (SELECT 1 FROM undelivered WHERE seq = OLD.seq))
            BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_DELETE}'); END""",
        f"""CREATE TRIGGER records_seq_next BEFORE INSERT ON records
            WHEN NEW.seq IS NOT COALESCE((SELECT MAX(seq) FROM records),
                                         (SELECT seq FROM checkpoint WHERE id = 1), 0) + 1
            BEGIN SELECT RAISE(ABORT, '{SEQ_NOT_NEXT}'); END""",
    ):
        db.execute(sql)


@MIGRATIONS(name="0002_indexes")
def _m0002_indexes(db: Database) -> None:
    """Query indexes filled at append time from each record's body."""
    for sql in (
        """CREATE TABLE ix_inspection (
            seq INTEGER PRIMARY KEY,
            serial TEXT,
            part_number TEXT)""",
        "CREATE INDEX ix_inspection_serial ON ix_inspection (serial, seq)",
        # Reverse traceability: which inspection used which instrument, and when last.
        """CREATE TABLE ix_instrument_use (
            instrument TEXT NOT NULL,
            seq INTEGER NOT NULL,
            ts TEXT NOT NULL,
            PRIMARY KEY (instrument, seq)) WITHOUT ROWID""",
        "CREATE INDEX ix_instrument_use_ts ON ix_instrument_use (instrument, ts)",
        """CREATE TABLE ix_check (
            seq INTEGER PRIMARY KEY,
            instrument TEXT NOT NULL,
            verdict TEXT NOT NULL)""",
        "CREATE INDEX ix_check_instrument ON ix_check (instrument, verdict, seq)",
        # SPC: every variable value, by plan and characteristic; `pos` is the measurement's
        # index in the record, so a re-measured sample cannot collide.
        """CREATE TABLE ix_value (
            plan_id TEXT NOT NULL,
            characteristic TEXT NOT NULL,
            seq INTEGER NOT NULL,
            pos INTEGER NOT NULL,
            plan_rev TEXT NOT NULL,
            value REAL NOT NULL,
            PRIMARY KEY (plan_id, characteristic, seq, pos)) WITHOUT ROWID""",
        "CREATE INDEX ix_value_rev ON ix_value (plan_id, plan_rev, characteristic, seq)",
    ):
        db.execute(sql)


@MIGRATIONS(name="0003_master_and_local_state")
def _m0003_master(db: Database) -> None:
    """Master data with its history, and the station's own state."""
    for sql in (
        """CREATE TABLE master_history (
            vid INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            item_id TEXT NOT NULL,
            rev TEXT NOT NULL,
            doc TEXT,
            source TEXT NOT NULL,
            topic TEXT,
            ts TEXT NOT NULL,
            record_seq INTEGER)""",
        "CREATE INDEX master_history_item ON master_history (kind, item_id, vid)",
        f"""CREATE TRIGGER master_history_no_update BEFORE UPDATE ON master_history
            BEGIN SELECT RAISE(ABORT, '{HISTORY_APPEND_ONLY}'); END""",
        f"""CREATE TRIGGER master_history_no_delete BEFORE DELETE ON master_history
            BEGIN SELECT RAISE(ABORT, '{HISTORY_APPEND_ONLY}'); END""",
        # Current doc per (kind, id, rev); rev is '' for kinds without revisions.
        """CREATE TABLE master_current (
            kind TEXT NOT NULL,
            item_id TEXT NOT NULL,
            rev TEXT NOT NULL,
            doc TEXT NOT NULL,
            vid INTEGER NOT NULL,
            PRIMARY KEY (kind, item_id, rev))""",
        """CREATE TABLE quarantine (
            instrument TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            operator TEXT,
            ts TEXT NOT NULL,
            record_seq INTEGER NOT NULL)""",
        """CREATE TABLE bindings (
            input TEXT PRIMARY KEY,
            instrument TEXT NOT NULL,
            ts TEXT NOT NULL)""",
        """CREATE TABLE draft (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            doc TEXT NOT NULL,
            ts TEXT NOT NULL)""",
        """CREATE TABLE sync_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            online INTEGER NOT NULL,
            detail TEXT NOT NULL,
            ts TEXT NOT NULL)""",
    ):
        db.execute(sql)


@MIGRATIONS(name="0004_spc_limits")
def _m0004_spc_limits(db: Database) -> None:
    """Control limits frozen from a baseline, per plan revision and characteristic."""
    db.execute(
        """CREATE TABLE spc_limits (
            plan_id TEXT NOT NULL,
            plan_rev TEXT NOT NULL,
            characteristic TEXT NOT NULL,
            doc TEXT NOT NULL,
            record_seq INTEGER NOT NULL,
            PRIMARY KEY (plan_id, plan_rev, characteristic))"""
    )


@MIGRATIONS(name="0005_sync_conflict")
def _m0005_sync_conflict(db: Database) -> None:
    """What the QMS refused to ack (contract mqtt.md, "Delivery"): kept for a person."""
    db.execute(
        """CREATE TABLE sync_conflict (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq INTEGER NOT NULL,
            detail TEXT NOT NULL,
            ts TEXT NOT NULL)"""
    )


@MIGRATIONS(name="0006_measurement_index")
def _m0006_measurement_index(db: Database) -> None:
    """Each variable measurement by instrument, and each inspection's part, for the
    re-judgement after an as-found calibration (`station.store.indexes`); filled
    from the stored inspections once (about 2 minutes per million records here)."""
    db.execute(
        """CREATE TABLE ix_measurement (
            instrument TEXT NOT NULL,
            seq INTEGER NOT NULL,
            pos INTEGER NOT NULL,
            characteristic TEXT NOT NULL,
            sample INTEGER NOT NULL,
            value REAL NOT NULL,
            unit TEXT NOT NULL,
            lsl REAL,
            usl REAL,
            rule TEXT NOT NULL,
            u REAL,
            verdict TEXT NOT NULL,
            PRIMARY KEY (instrument, seq, pos)) WITHOUT ROWID"""
    )
    db.execute("ALTER TABLE ix_inspection ADD COLUMN part TEXT")
    backfill_measurements(db.conn)


@MIGRATIONS(name="0007_study_index")
def _m0007_study_index(db: Database) -> None:
    """Each gauge study by instrument and kind, for the study gate and retention (issue 17);
    filled from the stored study records once (a full scan of `records`, one time)."""
    db.execute(
        """CREATE TABLE ix_study (
            instrument TEXT NOT NULL,
            kind TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (instrument, kind, seq)) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX ix_study_seq ON ix_study (seq)")
    backfill_studies(db.conn)


@MIGRATIONS(name="0008_pin_index")
def _m0008_pin_index(db: Database) -> None:
    """The events of PIN lockouts by operator, so retention keeps an open run of wrong PINs
    (issue 16); filled from the stored events once."""
    db.execute(
        """CREATE TABLE ix_pin (
            operator TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            PRIMARY KEY (operator, seq)) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX ix_pin_seq ON ix_pin (seq)")
    backfill_pins(db.conn)


def connect(path: Path) -> Database:
    """Open `path` with the store's pragmas and bring its schema up to date.

    Raises:
        sqlite3.Error: the caller turns it into a StoreError naming the file.
    """
    # isolation_level=None: the driver opens no implicit transactions; the store issues
    # BEGIN IMMEDIATE / COMMIT itself (Python 3.11 has no `autocommit=` attribute).
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        db = Database(conn, execute_plugins=False)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        _enable_wal(conn)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
        got = conn.execute("PRAGMA synchronous").fetchone()[0]
        if got != SYNCHRONOUS_FULL:
            raise sqlite3.OperationalError(f"PRAGMA synchronous is {got}, expected 2 (FULL)")
        migrate(db)
    except BaseException:
        conn.close()
        raise
    return db


# The tables `verify` and `status` read; a file without them is not a station store.
STORE_TABLES = frozenset({"records", "undelivered", "checkpoint"})


def connect_readonly(path: Path) -> Database:
    """Open an existing store read-only, writing nothing: no migration, no `-wal`/`-shm`.

    `station verify` and `station status` use this, so they work on a read-only copy (a 0444
    file in a 0555 folder, a read-only mount) and never change the evidence they check.
    With no `-wal` beside the file, every committed record is in the main file and it is
    opened `immutable=1`: SQLite then creates no `-shm`/`-wal` and takes no locks
    (https://www.sqlite.org/uri.html#uriimmutable). With a `-wal` (the bench or the daemon
    is running, or a crash left one) it is opened `mode=ro`, which reads the `-wal` too;
    ignoring it would silently skip every record since the last checkpoint.

    Raises:
        FileNotFoundError: there is no file at `path`.
        sqlite3.Error: SQLite cannot open or read it (the caller names the file).
    """
    if not path.is_file():
        raise FileNotFoundError(path)
    wal = path.with_name(path.name + "-wal")
    query = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?{query}"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        names = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master")}
        missing = STORE_TABLES - names
        if missing:
            raise sqlite3.DatabaseError(
                f"not a station record store (no table {', '.join(sorted(missing))})"
            )
    except BaseException:
        conn.close()
        raise
    return Database(conn, execute_plugins=False)


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL (persistent in the file); retry while another opener holds a lock.

    Changing the journal mode needs an exclusive lock and does not wait on the busy
    handler in every SQLite version, hence the bounded retry loop.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise sqlite3.OperationalError(f"cannot switch to WAL (journal_mode is {mode})")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def begin_immediate(conn: sqlite3.Connection) -> None:
    """Take the write lock (BEGIN IMMEDIATE), waiting up to BUSY_TIMEOUT_S for it.

    SQLite's own busy handler backs off to 50-100 ms sleeps, so a waiter almost never sees
    the short gap between two transactions of a process that writes in a loop: the bench UI
    could starve behind the sync daemon until "database is locked". Polling every ~1 ms
    (jittered, so two waiters do not move in step) gives each waiter its turn in
    milliseconds. The connection's busy timeout is set back afterwards for the rare waits
    of other statements (WAL recovery after a crash).
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(random.uniform(0.0002, 0.002))
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")


def migrate(db: Database) -> None:
    """Apply pending migrations, holding the write lock so only one process runs them."""
    if not MIGRATIONS.pending(db):
        return
    begin_immediate(db.conn)
    try:
        # apply() re-reads what is applied now that we hold the lock; its per-migration
        # atomic() blocks become savepoints inside this transaction.
        MIGRATIONS.apply(db)
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise


__all__ = [
    "APPEND_ONLY_DELETE",
    "APPEND_ONLY_UPDATE",
    "BUSY_TIMEOUT_S",
    "MIGRATIONS",
    "SEQ_NOT_NEXT",
    "STORE_TABLES",
    "begin_immediate",
    "connect",
    "connect_readonly",
    "migrate",
]
