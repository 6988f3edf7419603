"""The central database's schema, as numbered migrations applied once each, in order.

`schema_migrations` records which versions a database holds; `store.CentralStore` applies the
missing ones at start inside one transaction holding an advisory lock, so several replicas
starting together never apply one twice (PostgreSQL docs, "Advisory Locks",
`pg_advisory_xact_lock`). A migration is never edited once released: a change is a new one.

Tables (docs/central.md, "Integration"):

- `records`: every record once. `id` is the contract's idempotency key (primary key), and
  `(site, station, seq)` is unique, so a second record can never take a seq another holds;
  `body` is the body as jsonb for queries, `payload` the exact text received, so the chain
  (`prev`, `hash`: SHA-256 of the canonical JSON) can be recomputed byte for byte later.
- `conflicts`: a record that collides with a stored one (same seq or id, other hash) or does
  not link to its predecessor, kept aside for a person, never stored over the held one.
- `rejects`: messages refused before storing (not JSON, schema, hash, topic), with the reason.
- `station_status`: per station, the delivered (acknowledgeable) seq and its hash, computed
  in the database (`store.ADVANCE_SQL`), and the last status message (birth/will).
- Views flatten the bodies for a BI tool or the plant's QMS: `inspections`, `measurements`,
  `instrument_checks`, `calibrations`, `studies`, `nonconformances`, `suspects`, `events`,
  `signatures` (one row per signature manifestation of any record).
"""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "records, conflicts, rejects, station_status",
        """
CREATE TABLE records (
    id text PRIMARY KEY,
    site text NOT NULL,
    station text NOT NULL,
    seq bigint NOT NULL CHECK (seq >= 1),
    type text NOT NULL,
    ts timestamptz NOT NULL,
    prev text NOT NULL CHECK (length(prev) = 64),
    hash text NOT NULL CHECK (length(hash) = 64),
    body jsonb NOT NULL,
    payload text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    replica text NOT NULL,
    UNIQUE (site, station, seq)
);
CREATE INDEX records_type_ts ON records (type, ts);
CREATE TABLE conflicts (
    n bigserial PRIMARY KEY,
    site text NOT NULL,
    station text NOT NULL,
    seq bigint NOT NULL,
    kind text NOT NULL CHECK (kind IN ('seq-reused', 'id-reused', 'broken-link')),
    held_id text,
    held_hash text,
    got_id text NOT NULL,
    got_hash text NOT NULL,
    detail text NOT NULL,
    payload text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    replica text NOT NULL,
    UNIQUE (site, station, seq, got_hash)
);
CREATE TABLE rejects (
    n bigserial PRIMARY KEY,
    topic text NOT NULL,
    reason text NOT NULL,
    payload_head text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    replica text NOT NULL
);
CREATE TABLE station_status (
    site text NOT NULL,
    station text NOT NULL,
    delivered_seq bigint NOT NULL DEFAULT 0,
    delivered_hash text NOT NULL DEFAULT repeat('0', 64),
    state text,
    status jsonb,
    status_at timestamptz,
    PRIMARY KEY (site, station)
);
""",
    ),
    (
        2,
        "flattened views",
        """
CREATE VIEW inspections AS
SELECT r.id, r.site, r.station, r.seq, r.ts,
       r.body->'plan'->>'id' AS plan_id, r.body->'plan'->>'rev' AS plan_rev,
       r.body->'part'->>'number' AS part_number, r.body->'part'->>'serial' AS serial,
       r.body->'part'->>'lot' AS lot, r.body->>'operator' AS operator,
       r.body->>'reason' AS reason, r.body->>'result' AS result,
       (r.body->>'started')::timestamptz AS started,
       (r.body->>'completed')::timestamptz AS completed
FROM records r WHERE r.type = 'inspection';

CREATE VIEW measurements AS
SELECT r.id AS inspection, r.site, r.station, r.seq, m.n AS position,
       m.v->>'characteristic' AS characteristic, (m.v->>'sample')::int AS sample,
       m.v->>'kind' AS kind, (m.v->>'value')::float8 AS value, m.v->>'unit' AS unit,
       m.v->>'raw' AS raw, (m.v->>'nominal')::float8 AS nominal,
       (m.v->>'lsl')::float8 AS lsl, (m.v->>'usl')::float8 AS usl, m.v->>'rule' AS rule,
       (m.v->>'u')::float8 AS u, m.v->>'verdict' AS verdict, m.v->>'instrument' AS instrument,
       m.v->>'cal_due' AS cal_due, (m.v->>'ts')::timestamptz AS ts,
       r.body->'plan'->>'id' AS plan_id, r.body->'plan'->>'rev' AS plan_rev,
       r.body->'part'->>'number' AS part_number, r.body->'part'->>'serial' AS serial
FROM records r CROSS JOIN LATERAL jsonb_array_elements(r.body->'measurements')
     WITH ORDINALITY AS m(v, n)
WHERE r.type = 'inspection';

CREATE VIEW instrument_checks AS
SELECT r.id, r.site, r.station, r.seq, r.ts, r.body->>'instrument' AS instrument,
       r.body->>'standard' AS standard, (r.body->>'reference')::float8 AS reference,
       (r.body->>'bias')::float8 AS bias, (r.body->>'mpe')::float8 AS mpe,
       r.body->>'verdict' AS verdict, r.body->>'operator' AS operator
FROM records r WHERE r.type = 'instrument-check';

CREATE VIEW calibrations AS
SELECT r.id, r.site, r.station, r.seq, r.ts, r.body->>'instrument' AS instrument,
       r.body->'procedure'->>'id' AS procedure_id, r.body->'procedure'->>'rev' AS procedure_rev,
       r.body->>'operator' AS operator, (r.body->>'started')::timestamptz AS started,
       (r.body->>'completed')::timestamptz AS completed, r.body->>'rule' AS rule,
       r.body->'as_found'->>'verdict' AS as_found_verdict,
       r.body->'as_left'->>'verdict' AS as_left_verdict,
       r.body->>'result' AS result, r.body->>'next_due' AS next_due
FROM records r WHERE r.type = 'calibration';

CREATE VIEW studies AS
SELECT r.id, r.site, r.station, r.seq, r.ts, r.body->>'kind' AS kind,
       r.body->'procedure'->>'id' AS procedure_id, r.body->'procedure'->>'rev' AS procedure_rev,
       r.body->>'instrument' AS instrument, r.body->>'operator' AS operator,
       (r.body->>'started')::timestamptz AS started,
       (r.body->>'completed')::timestamptz AS completed,
       r.body->'results' AS results, r.body->>'verdict' AS verdict
FROM records r WHERE r.type = 'study';

CREATE VIEW nonconformances AS
SELECT r.id, r.site, r.station, r.seq, r.ts, r.body->>'inspection' AS inspection,
       r.body->'part'->>'number' AS part_number, r.body->'part'->>'serial' AS serial,
       r.body->'characteristics' AS characteristics, r.body->>'description' AS description,
       r.body->>'disposition' AS disposition, r.body->>'operator' AS operator
FROM records r WHERE r.type = 'nonconformance';

CREATE VIEW suspects AS
SELECT r.id, r.site, r.station, r.seq, r.ts, r.body->>'instrument' AS instrument,
       r.body->>'cause' AS cause, r.body->>'since' AS since, r.body->>'check' AS "check",
       r.body->'inspections' AS inspections, r.body->'parts' AS parts
FROM records r WHERE r.type = 'suspect';

CREATE VIEW events AS
SELECT r.id, r.site, r.station, r.seq, r.ts, r.body->>'kind' AS kind,
       r.body->>'operator' AS operator, r.body->'detail' AS detail
FROM records r WHERE r.type = 'event';
""",
    ),
    (
        3,
        "lz4 compression for the stored payloads",
        # A record's row (the payload text and its jsonb body, ~3.5 KB for an inspection of 4
        # measurements) is over the TOAST threshold of ~2 KB, so PostgreSQL compresses both
        # values on insert (docs §73.2, "TOAST"), with pglz by default. lz4 (ALTER TABLE ...
        # SET COMPRESSION, PostgreSQL 14+) took ~25 µs less server CPU per record in
        # benchmarks/central_bench.py's workload. It applies to rows stored from now on; a
        # server built without lz4 keeps pglz (the statement's error is caught).
        """
DO $$
BEGIN
    EXECUTE 'ALTER TABLE records ALTER COLUMN payload SET COMPRESSION lz4,'
            ' ALTER COLUMN body SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE conflicts ALTER COLUMN payload SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'lz4 compression not available here: records stay compressed with pglz';
END
$$;
""",
    ),
    (
        4,
        "signatures view",
        # 21 CFR 11.50: each electronic signature's manifestation (printed name, date and
        # time, meaning), one row per signature of any record (nonconformance, calibration,
        # study, event: a signed redo, override or SPC cause), for the QMS's review and its
        # reports; the record itself keeps it inside the hashed body (11.70).
        """
CREATE VIEW signatures AS
SELECT r.id AS record_id, r.site, r.station, r.seq, r.type, r.body->>'kind' AS kind,
       s.ordinality AS position, s.sig->>'operator' AS operator, s.sig->>'name' AS name,
       s.sig->>'meaning' AS meaning, (s.sig->>'ts')::timestamptz AS ts,
       s.sig->>'method' AS method
FROM records r
CROSS JOIN LATERAL jsonb_array_elements(r.body->'signatures') WITH ORDINALITY AS s(sig, ordinality)
WHERE jsonb_typeof(r.body->'signatures') = 'array';
""",
    ),
)

LATEST = MIGRATIONS[-1][0]

__all__ = ["LATEST", "MIGRATIONS"]
