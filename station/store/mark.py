"""The store's high-water mark: a small file beside the database that outlives a lost `-wal`.

Private to `station.store`. Every committed record lives in the `-wal` file until SQLite
checkpoints it into the main file. If an SD card or a filesystem repair after a power cut
truncates or drops the `-wal`, SQLite opens the older state without complaint: every record
since the last checkpoint, and the delivery marks of the ones the QMS acked, are gone, and
the chain still verifies. Nothing inside the database can reveal that, because it lost the
same frames. So after each write transaction the store notes, in `station.db-mark`, the
highest seq it committed (with that record's hash) and the delivered watermark; `verify` and
`status` compare the store against it ("records-lost").

The file only ever moves forward (both processes write it; a `flock` and a max-merge keep a
slower writer from moving it back), and it is written after COMMIT, so it never claims a
record that was not committed: a crash between the two leaves it behind, which is safe.
A mark that cannot be written never fails the write itself (the record is committed); it is
logged once.

The mark is written after every commit but `fdatasync`ed at most once per `SYNC_INTERVAL_S`
(and at close): a sync per commit made a durable append a third slower (0.6 -> 0.8 ms in
benchmarks/store_bench.py). A process crash keeps the page cache, so the unsynced mark is still
there; after a power cut it may lag the `-wal` by up to that interval, which can only hide a
loss of the last second's records, never report a loss that did not happen.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("station.store")

MARK_SUFFIX = "-mark"
SYNC_INTERVAL_S = 1.0
_SIZE = 160  # fixed size, written at offset 0 in one pwrite: well under a disk sector
_FORMAT = "station-mark/1 last_seq={last} hash={hash} delivered_seq={delivered}"
_RE = re.compile(
    r"station-mark/1 last_seq=(?P<last>\d+) hash=(?P<hash>[0-9a-f]{64}) "
    r"delivered_seq=(?P<delivered>\d+) *\n"
)


@dataclass(frozen=True)
class Mark:
    """What the store once held: its newest seq and that record's hash, and the highest seq
    such that it and every seq below it were delivered."""

    last_seq: int
    hash: str
    delivered_seq: int


def mark_path(db_path: Path) -> Path:
    """The mark file of the store at `db_path`."""
    return db_path.with_name(db_path.name + MARK_SUFFIX)


def _parse(data: bytes) -> Mark | None:
    m = _RE.fullmatch(data.decode("ascii", "replace").rstrip("\0"))
    if m is None:
        return None
    return Mark(int(m["last"]), m["hash"], int(m["delivered"]))


def read_mark(db_path: Path) -> Mark | None:
    """The mark of the store at `db_path`; None when there is none (a store from before the
    mark existed, or a copy of the database alone).

    Raises:
        ValueError: the file exists but is not a mark (named in the message).
        OSError: it cannot be read.
    """
    path = mark_path(db_path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    mark = _parse(data)
    if mark is None:
        raise ValueError(f"{path}: not a station store mark file ({len(data)} bytes)")
    return mark


def merged(old: Mark | None, new: Mark) -> Mark:
    """The mark that moves neither value back (another process may have written a newer one)."""
    if old is None:
        return new
    head = new if new.last_seq > old.last_seq else old
    return Mark(head.last_seq, head.hash, max(old.delivered_seq, new.delivered_seq))


class MarkWriter:
    """Keeps the mark file of one store up to date (one per open read-write Store)."""

    def __init__(self, db_path: Path) -> None:
        self.path = mark_path(db_path)
        self._fd: int | None = None
        self._noted: Mark | None = None
        self._failed = False
        self._synced_at = -SYNC_INTERVAL_S  # monotonic time of the last fdatasync
        self._dirty = False

    def note(self, mark: Mark) -> None:
        """Move the mark forward to `mark` (a no-op when it is not ahead of the last note)."""
        seen = self._noted
        if seen is not None and merged(seen, mark) == seen:
            return
        try:
            self._noted = self._write(mark)
        except OSError as exc:
            if not self._failed:
                log.warning("%s: cannot update the store's mark file: %s", self.path, exc)
                self._failed = True

    def _write(self, mark: Mark) -> Mark:
        if self._fd is None:
            created = not self.path.exists()
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if created:
                # The new directory entry must survive a power cut too (fsync(2): syncing a
                # file does not sync the entry naming it).
                dfd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
        fd = self._fd
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            held = _parse(os.pread(fd, _SIZE, 0))
            want = merged(held, mark)
            if want != held:
                text = _FORMAT.format(
                    last=want.last_seq, hash=want.hash, delivered=want.delivered_seq
                )
                os.pwrite(fd, text.ljust(_SIZE - 1).encode("ascii") + b"\n", 0)
                self._dirty = True
            now = time.monotonic()
            if self._dirty and now - self._synced_at >= SYNC_INTERVAL_S:
                os.fdatasync(fd)
                self._synced_at, self._dirty = now, False
            return want
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Sync and close the file (idempotent)."""
        if self._fd is not None:
            try:
                if self._dirty:
                    os.fdatasync(self._fd)
                    self._dirty = False
            except OSError as exc:
                log.warning("%s: cannot sync the store's mark file: %s", self.path, exc)
            finally:
                os.close(self._fd)
                self._fd = None


__all__ = ["MARK_SUFFIX", "Mark", "MarkWriter", "mark_path", "merged", "read_mark"]
