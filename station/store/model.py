"""The store's public value types and errors (re-exported by `station.store`).

Kept apart from the SQLite code so that the sync daemon and the UI can see what a record
is without reading how it is stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from station.store.ids import canonical

RecordType = Literal[
    "inspection", "instrument-check", "nonconformance", "suspect", "event", "calibration", "study"
]
RECORD_TYPES: tuple[RecordType, ...] = get_args(RecordType)  # contract 1.1 adds the last two
DeliveryState = Literal["pending", "published", "delivered"]
SCHEMA_ID = "station.record/1"


class StoreError(Exception):
    """Anything the store refuses or cannot do; the message names the file and the cause."""


class StoreMissing(StoreError):
    """`status`/`verify` found no store at the configured path (only the bench and the sync
    daemon create one: a typo in `data_dir` must not look like a healthy, empty store)."""


class StoreCorrupt(StoreError):
    """A stored record cannot be read or does not match its hash.

    `seq` is the first record that is unreadable or damaged (None when SQLite cannot say
    which, e.g. a damaged schema page); `reason` says what is wrong with it.
    """

    def __init__(self, path: str, seq: int | None, reason: str) -> None:
        where = f"seq {seq}" if seq is not None else "the store"
        super().__init__(f"{path}: {where} is damaged: {reason}")
        self.seq = seq
        self.reason = reason


class StorageBudgetExceeded(StoreError):
    """Undelivered records fill the storage budget: new inspections are refused."""


class RecordInvalid(StoreError):
    """A record failed the contract's schema; nothing was written.

    `problems` holds one `$.path: message` line per schema error.
    """

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class Record:
    """One stored record: the contract envelope (`station.record/1`), split into fields."""

    seq: int
    id: str
    type: RecordType
    ts: str
    prev: str
    hash: str
    site: str
    station: str
    body: dict[str, Any]

    def envelope(self) -> dict[str, Any]:
        """The full contract envelope, `hash` included."""
        return {
            "schema": SCHEMA_ID,
            "type": self.type,
            "id": self.id,
            "seq": self.seq,
            "site": self.site,
            "station": self.station,
            "ts": self.ts,
            "prev": self.prev,
            "hash": self.hash,
            "body": self.body,
        }

    def payload(self) -> bytes:
        """What MQTT carries: the envelope as canonical UTF-8 JSON."""
        return canonical(self.envelope()).encode("utf-8")

    @classmethod
    def from_text(cls, text: str, hash_: str) -> Record:
        """Build from the stored canonical text of the envelope without `hash`."""
        env = json.loads(text)
        return cls.from_envelope(env, hash_)

    @classmethod
    def from_envelope(cls, env: dict[str, Any], hash_: str) -> Record:
        """Build from a parsed envelope (its own `hash` key, if any, is ignored)."""
        return cls(
            seq=int(env["seq"]),
            id=str(env["id"]),
            type=cast(RecordType, env["type"]),
            ts=str(env["ts"]),
            prev=str(env["prev"]),
            hash=hash_,
            site=str(env["site"]),
            station=str(env["station"]),
            body=env["body"],
        )


Health = Literal["ok", "records-lost", "corrupt"]


@dataclass(frozen=True)
class StoreStatus:
    """The delivery state, as `station status` prints it, and the store's health.

    `health` is "ok", "records-lost" (the store ends below what it once held: a lost or
    truncated `-wal`, or a replaced file) or "corrupt" (SQLite or the chain found damage);
    `problems` says what, one line each. `clock` is "ok" or why the wall clock looks wrong
    against the newest record (see `Store.clock_problem`).
    """

    last_seq: int
    pending: int
    delivered_seq: int
    oldest_pending_ts: str | None
    db_bytes: int
    health: Health = "ok"
    problems: tuple[str, ...] = ()
    clock: str = "ok"
    # A seq the QMS refused to ack (`{"seq", "detail", "ts"}`, set by the sync daemon); only
    # in `as_dict` when there is one.
    conflict: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The keys of `station status`: the contract's five first (station.md), then the
        extensions `health`, `problems`, `clock` (and `conflict` when there is one)."""
        out: dict[str, Any] = {
            "last_seq": self.last_seq,
            "pending": self.pending,
            "delivered_seq": self.delivered_seq,
            "oldest_pending_ts": self.oldest_pending_ts,
            "db_bytes": self.db_bytes,
            "health": self.health,
            "problems": list(self.problems),
            "clock": self.clock,
        }
        if self.conflict is not None:
            out["conflict"] = self.conflict
        return out


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a full chain check. `first_bad_seq`/`reason` are set when `ok` is False."""

    ok: bool
    checked: int
    last_seq: int
    first_bad_seq: int | None
    reason: str | None
    # SQLite-level damage (`PRAGMA integrity_check`) and lost records, one line each; any
    # makes `ok` False even when every readable record chains.
    problems: tuple[str, ...] = ()


__all__ = [
    "RECORD_TYPES",
    "SCHEMA_ID",
    "DeliveryState",
    "Health",
    "Record",
    "RecordInvalid",
    "RecordType",
    "StorageBudgetExceeded",
    "StoreCorrupt",
    "StoreError",
    "StoreMissing",
    "StoreStatus",
    "VerifyResult",
]
