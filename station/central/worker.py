"""The bridge's PostgreSQL side on its own thread, so that receiving and checking the next
records overlaps the commit of the batch before (`bridge` stays the only paho user).

Why a thread pays: most of a batch's wall time in `CentralStore.ingest` is spent waiting for
the server (parsing the jsonb, index inserts, the WAL flush of the commit), and psycopg
releases the GIL while it waits on the socket. The MQTT loop meanwhile parses, validates and
hashes the records that keep arriving, and hands them over as the next batch as soon as the
worker is free: group commit, batches grow with the load instead of a fixed gathering window.

One job at a time, in order: every call on the connection happens here, so a status write can
never land inside another batch's transaction. The worker never acks; it returns what the
commit earned and the MQTT loop publishes it (an ack only after a durable commit, mqtt.md
"Delivery"; `synchronous_commit` on is PostgreSQL's default, docs §20.5).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from dataclasses import dataclass, field

from station.central.check import Rejected, Valid
from station.central.store import CentralStore, Ingested, StoreUnavailable

log = logging.getLogger("station.central")


@dataclass(frozen=True)
class Status:
    """A station's birth or will message, checked, to keep in `station_status`."""

    site: str
    station: str
    state: str
    doc_json: str


@dataclass
class Job:
    """One batch for the database: statuses first, then the records in one transaction."""

    statuses: list[Status] = field(default_factory=list)
    valid: list[Valid] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.valid) + len(self.rejected)


@dataclass
class Done:
    """What a job did: the committed batch (None when PostgreSQL failed: nothing committed)."""

    job: Job
    ingested: Ingested | None = None
    error: str | None = None
    reconnected: bool = False
    # (site, station) -> (seq, hash) to ack again: a station back online lost the acks sent
    # while it was away.
    status_acks: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)


class DbWorker:
    """Runs `Job`s on a `CentralStore` in one background thread; `wake_fd` turns readable
    when a result is ready, so the MQTT loop's `select` returns at once."""

    def __init__(self, store: CentralStore) -> None:
        self.store = store
        self._cond = threading.Condition()
        self._job: Job | None = None
        self._done: Done | None = None
        self._closing = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._thread = threading.Thread(target=self._loop, name="central-db", daemon=True)
        self._thread.start()

    @property
    def wake_fd(self) -> socket.socket:
        return self._wake_r

    @property
    def busy(self) -> bool:
        """A job submitted whose result was not taken yet."""
        with self._cond:
            return self._job is not None or self._done is not None

    def submit(self, job: Job) -> None:
        with self._cond:
            assert self._job is None and self._done is None, "one job at a time"
            self._job = job
            self._cond.notify()

    def result(self, timeout: float = 0.0) -> Done | None:
        """The finished job's result (once), waiting up to `timeout` for it."""
        try:  # first: a byte sent after this drain wakes the loop once more, harmlessly
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        with self._cond:
            if self._done is None and self._job is not None and timeout > 0:
                self._cond.wait_for(lambda: self._done is not None, timeout)
            done, self._done = self._done, None
        return done

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(30)
        self._wake_r.close()
        self._wake_w.close()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._job is not None or self._closing)
                if self._job is None:
                    return
                job = self._job
            done = self._run(job)
            with self._cond:
                self._job, self._done = None, done
                self._cond.notify_all()
            with contextlib.suppress(OSError):  # closed only after the join: never here
                self._wake_w.send(b"!")

    def _run(self, job: Job) -> Done:
        done = Done(job)
        try:
            if not self.store.connected:
                self.store.connect()
                done.reconnected = True
            for s in job.statuses:
                self._status(s, done)
            # A status-only job committed too: None would read as "PostgreSQL unavailable".
            done.ingested = self.store.ingest(job.valid, job.rejected) if len(job) else Ingested()
        except StoreUnavailable as exc:
            done.error = str(exc)
            done.ingested = None
        except Exception as exc:  # a bug must not kill the thread and stall every ack
            log.exception("database job failed")
            self.store.close()
            done.error = f"{type(exc).__name__}: {exc}"
            done.ingested = None
        return done

    def _status(self, s: Status, done: Done) -> None:
        self.store.record_status(s.site, s.station, s.state, s.doc_json)
        if s.state == "online":
            ack = self.store.delivered(s.site, s.station)
            if ack is not None:
                done.status_acks[(s.site, s.station)] = ack


__all__ = ["DbWorker", "Done", "Job", "Status"]
