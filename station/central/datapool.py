"""The optional Q-DAS data-pool output of the central bridge (`[qdas] dir`, issue 19): after a
commit, the inspections that commit stored are written as DFQ files into a folder that
qs-STAT's data-pool import (or any AQDEF reader) watches.

- The encoder is the station's own (`station.export.dfq.write_dfq`, issue 18), unchanged:
  one file is one plan revision of one station, so a committed batch gives one file per
  (station, plan revision) it touched. Per batch, not per record: the import reads each file
  as one transfer (qs-STAT's data-pool import polls the folder and imports file by file), and
  a batch (at most `batch_max` records) keeps the folder at a few files a second under load
  instead of one per inspection, while every file stays small and quick to import.
- Atomic: `write_dfq` writes `NAME.dfq.values.tmp` and `NAME.dfq.tmp` in the same folder,
  fsyncs and renames to `NAME.dfq` (rename(2) within one file system is atomic: the import
  sees no file or the whole file), then fsyncs the folder. Only `*.tmp` is ever partial.
- Unique names without coordination: `{site}+{station}+{first}-{last}.dfq`, the first and last
  seq of the file. Each record is stored once, by one replica (the unique `(site, station,
  seq)`), and only the replica that stored it writes it, so no two files share a first seq.
  `+` is not a name character (`station.schemas.names`), so site and station cannot run into
  each other, and it is a legal file name character on Windows and Samba shares.
- Only what the commit stored (`Ingested.stored_ids`): never a duplicate (written by whoever
  stored it first), a rejected message or a conflict. Inspections only: the data pool holds
  measurement data; studies and other records are not written.
- Never in the way of a record: files are written on a thread of their own, after the commit
  and after the acks were computed; a failure (folder gone, disk full, share unmounted) is
  logged with its reason and the file's name, and the records stay in PostgreSQL. Failed
  files are held in memory (up to `HELD_MAX` records) and retried with backoff while the
  bridge runs; what is still unwritten at stop is logged by name. Not retried after a
  restart: knowing what was written would need a durable mark in the database (a schema
  migration), and the folder cannot tell, because the import removes what it read.
- Plans: the revision's document from the `[master]` folder when it holds it (K1001 part
  number, K1002 title, K2002 names, the plan's characteristic order), re-read when a file
  there changes; else what the measurements carry, as `station export` does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from station.central.check import Valid
from station.core.timefmt import format_ts
from station.export.dfq import DEFAULT_ENCODING, write_dfq
from station.export.errors import ExportError
from station.export.source import PlanLookup
from station.master import folder_state, load_master_dir
from station.store import Record

log = logging.getLogger("station.central")

HELD_MAX = 100_000  # inspections held for a retry; beyond that only the log names them
RETRY_MIN_S, RETRY_MAX_S = 1.0, 60.0


@dataclass(frozen=True)
class PoolFile:
    """One DFQ file to write: one station's inspections of one plan revision, in seq order."""

    name: str
    records: tuple[Record, ...]


def file_name(site: str, station: str, first: int, last: int) -> str:
    return f"{site}+{station}+{first}-{last}.dfq"


def pool_files(valid: Iterable[Valid], stored_ids: set[str]) -> list[PoolFile]:
    """The files for the inspections of `valid` that the commit stored (`stored_ids`)."""
    groups: dict[tuple[str, str, str, str], list[Record]] = {}
    for v in valid:
        if v.type != "inspection" or v.id not in stored_ids:
            continue
        body: dict[str, Any] = json.loads(v.body)
        key = (v.site, v.station, str(body["plan"]["id"]), str(body["plan"]["rev"]))
        ts = format_ts(v.ts)  # the contract form, as the record carried it
        record = Record(v.seq, v.id, "inspection", ts, v.prev, v.hash, v.site, v.station, body)
        groups.setdefault(key, []).append(record)
    out = []
    for (site, station, _, _), records in sorted(groups.items()):
        records.sort(key=lambda r: r.seq)
        name = file_name(site, station, records[0].seq, records[-1].seq)
        out.append(PoolFile(name, tuple(records)))
    return out


class MasterPlans:
    """`PlanLookup` over the `[master]` folder's plan documents, re-read when a file changes
    (size or mtime); no folder: every lookup is None."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._seen: dict[str, tuple[int, int]] | None = None
        self._plans: dict[tuple[str, str], dict[str, Any]] = {}

    def refresh(self) -> None:
        if self.folder is None:
            return
        seen = folder_state(self.folder)
        if seen == self._seen:
            return
        self._seen = seen
        docs, _ = load_master_dir(self.folder)  # the bridge logs its problems when publishing
        self._plans = {(d.id, str(d.doc.get("rev"))): d.doc for d in docs if d.kind == "plan"}

    def __call__(self, plan_id: str, rev: str) -> dict[str, Any] | None:
        return self._plans.get((plan_id, rev))


class DataPool:
    """Writes `PoolFile`s into `folder` on a thread of its own; `submit` never blocks."""

    def __init__(
        self,
        folder: Path,
        zone: tzinfo,
        *,
        plans: PlanLookup | None = None,
        master_dir: Path | None = None,
        encoding: str = DEFAULT_ENCODING,
    ) -> None:
        self.folder, self.zone, self.encoding = folder, zone, encoding
        self._master = MasterPlans(master_dir)
        self._plans: PlanLookup = plans or self._master
        self._cond = threading.Condition()
        self._queue: list[PoolFile] = []
        self._held: list[PoolFile] = []  # failed, to retry
        self._retry_at = 0.0
        self._delay = RETRY_MIN_S
        self._closing = False
        self.written = 0  # files written (for the stop line and the tests)
        self._thread = threading.Thread(target=self._loop, name="central-qdas", daemon=True)
        self._thread.start()

    def submit(self, valid: Iterable[Valid], stored_ids: set[str]) -> None:
        """Queue the files of one committed batch (called after the commit)."""
        files = pool_files(valid, stored_ids)
        if not files:
            return
        with self._cond:
            self._queue.extend(files)
            self._cond.notify()

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued (one attempt each, held files once more), then stop; log by
        name what is still unwritten."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)
        with self._cond:
            left = [*self._held, *self._queue]
        if left:
            names = ", ".join(f.name for f in left[:20]) + (" ..." if len(left) > 20 else "")
            log.error("%d DFQ files not written to %s at stop (the records are in PostgreSQL):"
                      " %s", len(left), self.folder, names)  # fmt: skip

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue) or self._closing or self._due(), 1.0)
                closing = self._closing
                new, self._queue = self._queue, []
                retry = self._held if (closing or self._due()) else []
                if retry:
                    self._held = []
            if new or retry:
                self._master.refresh()
            failed = [f for f in (*retry, *new) if not self._write(f)]
            with self._cond:
                self._hold(failed)
                if closing:
                    return

    def _due(self) -> bool:
        return bool(self._held) and time.monotonic() >= self._retry_at

    def _hold(self, failed: list[PoolFile]) -> None:
        """Keep failed files for a retry with backoff (under the lock)."""
        if not failed:
            if not self._held:
                self._delay = RETRY_MIN_S
            return
        room = HELD_MAX - sum(len(f.records) for f in self._held)
        for f in failed:
            if len(f.records) <= room:
                self._held.append(f)
                room -= len(f.records)
            else:
                log.error("DFQ file %s given up (more than %d inspections held); its records"
                          " are in PostgreSQL", f.name, HELD_MAX)  # fmt: skip
        self._retry_at = time.monotonic() + self._delay
        self._delay = min(self._delay * 2, RETRY_MAX_S)

    def _write(self, f: PoolFile) -> bool:
        """True when the file is in the folder (written now, or found there: a retry after a
        failure past the rename, at the folder's fsync)."""
        target = self.folder / f.name
        try:
            if target.exists():
                log.warning("DFQ file %s exists already: not written again", target)
                return True
            write_dfq(f.records, self._plans, target, zone=self.zone, encoding=self.encoding)
        except (OSError, ExportError) as exc:
            if target.exists():
                return True
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            log.warning("DFQ file %s not written (kept for a retry; the records are in"
                        " PostgreSQL): %s", target, reason)  # fmt: skip
            return False
        except Exception:  # a bug must not kill the thread: the records are stored anyway
            log.exception("DFQ file %s not written", target)
            return True
        self.written += 1
        log.info("DFQ file %s written (%d inspections)", target, len(f.records))
        return True


__all__ = ["HELD_MAX", "DataPool", "MasterPlans", "PoolFile", "file_name", "pool_files"]
