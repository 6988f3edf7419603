"""The local record store, the station's only SQLite owner: append-only, hash-chained records,
their delivery state, master data, quarantine, bindings, SPC limits and the draft.

The public face is `Store` and the types it returns; the modules behind it are private to
the package:

- `store`: `Store` itself, opening, the one write path (`append`, `append_many`);
- `base`: the connection and the one transaction idiom every mixin uses;
- `schema`: pragmas and migrations; `chain`: the envelope, canonical JSON and hashes;
- `ids`: seq and UUIDv7 ids; `model`: the record and status types and the error tree;
- `state`, `master_docs`, `queries`: what the bench and the daemon read and write besides
  records; `health`, `mark`, `clock`: `verify`/`status` and what they detect;
  `retention`: what may be pruned, and when.
"""

from station.store.store import (
    MIB,
    RECORD_TYPES,
    SCHEMA_ID,
    DeliveryState,
    PendingPayload,
    Record,
    RecordInvalid,
    RecordType,
    StorageBudgetExceeded,
    Store,
    StoreCorrupt,
    StoreError,
    StoreMissing,
    StoreStatus,
    VerifyResult,
)

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
