"""What the bridge checks in one received record message before it may be stored (contract
mqtt.md, "The record stream"): the topic, bounded UTF-8 JSON, `record.schema.json`, the
topic against the envelope, and the `hash` recomputed over the canonical JSON. No I/O.

The chain (`prev` against the record before) and the per-id/per-seq uniqueness are judged
by the database (`store`), where every replica's records meet.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from station.schemas.fast import record_problems
from station.sync.payload import PayloadRejected, parse_payload

MAX_RECORD_BYTES = 16 * 1024 * 1024  # far above any record; refuses a flood before parsing
# `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` as the contract
# spells it; one encoder reused instead of one built per call.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


@dataclass(frozen=True)
class Valid:
    """A record fit to store."""

    id: str
    site: str
    station: str
    seq: int
    type: str
    ts: datetime
    prev: str
    hash: str
    body: str  # the body as JSON text, for the jsonb column
    payload: str  # the message exactly as received


@dataclass(frozen=True)
class Rejected:
    """A message refused, and why (for the log and the `rejects` table)."""

    topic: str
    reason: str
    payload_head: str


def topic_parts(topic: str) -> tuple[str, str, str] | None:
    """(site, station, type) of `qms/v1/{site}/{station}/record/{type}`, else None."""
    parts = topic.split("/")
    if len(parts) != 6 or parts[0:2] != ["qms", "v1"] or parts[4] != "record":
        return None
    return parts[2], parts[3], parts[5]


def record_hash(envelope: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of the envelope without its `hash` field."""
    rest = {k: v for k, v in envelope.items() if k != "hash"}
    return hashlib.sha256(_CANONICAL.encode(rest).encode("utf-8")).hexdigest()


def body_and_hash(envelope: dict[str, Any]) -> tuple[str, str]:
    """The canonical JSON of the body and `record_hash(envelope)`, encoding the body once.

    With sorted keys, `"body"` comes first of the envelope's keys (record.schema.json allows
    no others before it: "body" < "hash" < "id" < ...), so the canonical envelope is
    `{"body":` + the canonical body + `,` + the canonical rest without its `{`: one encode of
    the (large) body serves both the hash and the jsonb column. Any other key order (not a
    valid record) takes the plain path.
    """
    body = _CANONICAL.encode(envelope["body"])
    rest = {k: v for k, v in envelope.items() if k not in ("hash", "body")}
    if not rest or min(rest) <= "body":
        return body, record_hash(envelope)
    text = '{"body":' + body + "," + _CANONICAL.encode(rest)[1:]
    return body, hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_record(topic: str, payload: bytes) -> Valid | Rejected:
    """Judge one message on a record topic."""

    def reject(reason: str) -> Rejected:
        return Rejected(topic, reason, payload[:200].decode("utf-8", "replace"))

    where = topic_parts(topic)
    if where is None:
        return reject("not a record topic")
    try:
        # The station's bounded parser: deep nesting or huge integers are refused before
        # `json` could raise RecursionError or spend seconds on them.
        doc = parse_payload(payload, max_bytes=MAX_RECORD_BYTES)
    except PayloadRejected as exc:
        return reject(f"payload is not acceptable JSON: {exc}")
    if not isinstance(doc, dict):
        return reject("payload is not a JSON object")
    problems = record_problems(doc)
    if problems:
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        return reject("record schema: " + "; ".join(problems[:5]) + more)
    got = (doc["site"], doc["station"], doc["type"])
    if got != where:
        return reject(f"topic says {where}, record says {got}")
    body, digest = body_and_hash(doc)
    if digest != doc["hash"]:
        return reject(f"seq {doc['seq']}: hash does not match the content")
    if "\\u0000" in body:
        # PostgreSQL's jsonb cannot hold U+0000 in a string (docs §8.14, "JSON Types").
        return reject(f"seq {doc['seq']}: the body holds U+0000, which jsonb cannot store")
    return Valid(
        id=doc["id"],
        site=where[0],
        station=where[1],
        seq=int(doc["seq"]),
        type=where[2],
        ts=datetime.fromisoformat(doc["ts"]),
        prev=doc["prev"],
        hash=doc["hash"],
        body=body,
        payload=payload.decode("utf-8"),
    )


__all__ = [
    "MAX_RECORD_BYTES",
    "Rejected",
    "Valid",
    "body_and_hash",
    "check_record",
    "record_hash",
    "topic_parts",
]
