"""Record identity for the store: UUIDv7 ids and canonical JSON (timestamps are written by
`station.core.timefmt.format_ts`, the one definition of the contract's `ts` form).

Private to `station.store`. These decide what a record's bytes are, and so its hash; they
live together so that the one definition of "canonical" is easy to audit against the
contract (`docs/contract/mqtt.md`, "Canonical JSON").
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from station.core.timefmt import require_aware

ZERO_HASH = "0" * 64

# RFC 9562 §5.7 field widths.
_COUNTER_BITS = 12  # rand_a, used as the §6.2 "Method 1" fixed-length dedicated counter
_COUNTER_MAX = (1 << _COUNTER_BITS) - 1
_RAND_B_BITS = 62
# A clock step back larger than this restarts the generator on the new time instead of
# pinning ids to the old (possibly wrong, e.g. pre-NTP) time for that long.
_MAX_ROLLBACK_MS = 10_000


class UUIDv7Generator:
    """UUID version 7 (RFC 9562 §5.7) with a 12-bit counter in `rand_a` (§6.2, Method 1).

    Within one millisecond (and across small clock steps back, §6.2 "clock rollback") the
    counter increments, so ids from one generator sort in creation order. The counter starts
    at a random value with its leftmost bit zero, which leaves at least 2048 increments
    before rollover; on rollover the timestamp is advanced by one millisecond (§6.2,
    "Counter Rollover Handling"). `rand_b` is 62 fresh random bits per id (§6.9: a CSPRNG),
    so ids from different processes in the same millisecond still do not collide.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._counter = 0

    def new(self, unix_ms: int) -> str:
        """Return the next id, in canonical 8-4-4-4-12 lowercase form, for time `unix_ms`."""
        if not 0 <= unix_ms < (1 << 48):
            raise ValueError(f"UUIDv7 timestamp out of range: {unix_ms} ms since the epoch")
        with self._lock:
            if unix_ms > self._last_ms or self._last_ms - unix_ms > _MAX_ROLLBACK_MS:
                self._last_ms = unix_ms
                self._counter = secrets.randbits(_COUNTER_BITS - 1)
            elif self._counter < _COUNTER_MAX:
                self._counter += 1
            else:
                self._last_ms += 1
                self._counter = secrets.randbits(_COUNTER_BITS - 1)
            ms, counter = self._last_ms, self._counter
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76  # version (§4.2)
        value |= counter << 64
        value |= 0b10 << 62  # variant (§4.1)
        value |= secrets.randbits(_RAND_B_BITS)
        return str(uuid.UUID(int=value))


_GENERATOR = UUIDv7Generator()


def new_uuid7(unix_ms: int) -> str:
    """A new UUIDv7 from the process-wide generator (monotonic across all stores in it)."""
    return _GENERATOR.new(unix_ms)


def utc_now() -> datetime:
    """The default clock: aware UTC now."""
    return datetime.now(UTC)


def unix_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch, truncated like `core.timefmt.format_ts` (so a
    record's id and its `ts` name the same millisecond).

    Raises:
        ValueError: `moment` is naive.
    """
    utc = require_aware(moment, "the store's clock reading")
    return int(utc.replace(microsecond=0).timestamp()) * 1000 + utc.microsecond // 1000


def canonical(obj: Any) -> str:
    """The contract's canonical JSON: sorted keys, `,`/`:` separators, non-ASCII kept.

    `allow_nan=False` changes no valid output; it refuses NaN/Infinity, which are not JSON
    and which a consumer could not re-hash.

    Raises:
        ValueError / TypeError: from `json.dumps` when `obj` is not plain JSON data.
    """
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_hex(text: str) -> str:
    """Lowercase hex SHA-256 of `text` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


__all__ = [
    "ZERO_HASH",
    "UUIDv7Generator",
    "canonical",
    "new_uuid7",
    "sha256_hex",
    "unix_ms",
    "utc_now",
]
