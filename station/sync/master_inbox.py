"""Master data arriving over MQTT: checked, then applied to the store or rejected.

Contract (mqtt.md, "Master data"): a message on `qms/v1/{site}/master/{kind}/{id}` is
validated against its kind's schema and its topic (`id` must equal the topic's id). A valid
one is stored (the store logs `master-applied` in the same transaction, and logs nothing when
it is identical to what it holds: retained messages come again on every reconnect). An
invalid one changes nothing and is logged as a `master-rejected` event with the topic and
the reason. An empty payload deletes the item (MQTT's way of clearing a retained message).

No paho here: the daemon hands over the raw topic bytes and payload. Every check that can
fail on hostile input (size, topic, UTF-8, JSON nesting and number range through the one
bounded parser `station.sync.payload`, schema) runs before anything is written.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Literal

from station.master import MASTER_KINDS, REVISED_KINDS, validate_master
from station.schemas.names import NAME_RE, NAME_RULE
from station.store import Store
from station.sync.payload import PayloadRejected, parse_payload

log = logging.getLogger("station.sync")

MAX_REASON_CHARS = 2000  # a reason lands in a record; a hostile payload must not bloat it

Action = Literal["applied", "unchanged", "deleted", "rejected", "repeated"]


@dataclass(frozen=True)
class MasterOutcome:
    action: Action
    topic: str
    detail: str = ""


def _topic_problem(site: str, topic: str) -> tuple[str, str] | str:
    """(kind, id) of a master topic, or the reason it is not one."""
    parts = topic.split("/")
    if len(parts) != 6 or parts[:4] != ["qms", "v1", site, "master"]:
        return f"not a master-data topic of site {site!r} (expected qms/v1/{site}/master/KIND/ID)"
    kind, item_id = parts[4], parts[5]
    if kind not in MASTER_KINDS:
        return f"unknown master-data kind {kind!r} in the topic; expected " + ", ".join(
            MASTER_KINDS
        )
    if not NAME_RE.match(item_id):
        return f"id {item_id!r} in the topic {NAME_RULE}"
    return kind, item_id


class MasterInbox:
    """Applies master messages to the store; remembers what it rejected in this run so that
    the same invalid retained message, delivered again on every reconnect, is logged once."""

    def __init__(self, store: Store, *, site: str, max_bytes: int) -> None:
        self.store = store
        self.site = site
        self.max_bytes = max_bytes
        self._rejected: set[tuple[str, str]] = set()

    def reject(self, topic: str, payload: bytes, reason: str) -> MasterOutcome:
        """Log `master-rejected` for this message (once per run for the same payload)."""
        if len(reason) > MAX_REASON_CHARS:
            reason = reason[: MAX_REASON_CHARS - 3] + "..."
        key = (topic, hashlib.sha256(payload).hexdigest())
        if key in self._rejected:
            return MasterOutcome("repeated", topic, reason)
        self.store.reject_master(topic, reason)
        self._rejected.add(key)
        return MasterOutcome("rejected", topic, reason)

    def handle(self, raw_topic: bytes, payload: bytes) -> MasterOutcome:
        """Check and apply one message. Raises StoreError only when the store fails."""
        topic = raw_topic.decode("utf-8", "backslashreplace")
        if len(payload) > self.max_bytes:
            return self.reject(
                topic,
                payload,
                f"payload is {len(payload)} bytes, more than mqtt.max_master_bytes"
                f" ({self.max_bytes})",
            )
        where = _topic_problem(self.site, topic)
        if isinstance(where, str):
            return self.reject(topic, payload, where)
        kind, item_id = where
        if not payload:
            event = self.store.apply_master(kind, item_id, None, topic=topic)
            return MasterOutcome("deleted" if event else "unchanged", topic)
        try:
            doc = parse_payload(payload, max_bytes=self.max_bytes)
        except PayloadRejected as exc:
            return self.reject(topic, payload, str(exc))
        problems = validate_master(kind, doc, expected_id=item_id)
        if problems:
            return self.reject(topic, payload, "; ".join(problems))
        event = self.store.apply_master(kind, item_id, doc, topic=topic)
        rev = f" rev {doc.get('rev')}" if kind in REVISED_KINDS else ""
        return MasterOutcome("applied" if event else "unchanged", topic, f"{kind} {item_id}{rev}")


__all__ = ["MasterInbox", "MasterOutcome"]
