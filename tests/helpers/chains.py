"""Hand-built record chains for the tests that play a station on the wire: envelopes sealed
with the contract's canonical JSON and SHA-256 (mqtt.md), written out here independently of
the store's own code, so a test that uses them checks the store, not itself."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from tests.helpers.records import numbered_event

ZERO = "0" * 64


def canonical(obj: Any) -> bytes:
    """The contract's canonical JSON: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal(env: dict[str, Any]) -> dict[str, Any]:
    """The envelope with its `hash`: SHA-256 of the canonical JSON of the rest."""
    env = {k: v for k, v in env.items() if k != "hash"}
    return {**env, "hash": hashlib.sha256(canonical(env)).hexdigest()}


def make_chain(
    n: int,
    *,
    site: str = "plant-a",
    station: str = "bench-01",
    start: int = 1,
    prev: str = ZERO,
    ids: Callable[[str, int], str] = lambda station, seq: f"{station}-{seq:08d}",
) -> list[dict[str, Any]]:
    """`n` valid `event` records seq start..start+n-1, hash-chained from `prev`."""
    out = []
    for seq in range(start, start + n):
        env = seal(
            {
                "schema": "station.record/1",
                "type": "event",
                "id": ids(station, seq),
                "seq": seq,
                "site": site,
                "station": station,
                "ts": "2026-11-21T22:04:09.520Z",
                "prev": prev,
                "body": numbered_event(seq),
            }
        )
        prev = env["hash"]
        out.append(env)
    return out


__all__ = ["ZERO", "canonical", "make_chain", "seal"]
