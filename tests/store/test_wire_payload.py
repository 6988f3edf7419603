"""The sync daemon's read path: `Store.pending_payloads` hands out each undelivered record's
MQTT payload spliced from the stored text, without a parse and re-serialization. It must be
exactly what `Record.payload()` builds (the contract's canonical envelope), for every shape of
record: nested objects with their own `id` key, non-ASCII text, text that looks like JSON."""

from __future__ import annotations

import json
from typing import Any

from station.store import Store
from station.store.chain import wire_payload


def tricky_records(store: Store, mk: Any) -> None:
    store.append("inspection", mk.inspection(mk.measurement(value=1e-05), mk.measurement()))
    store.append("instrument-check", mk.instrument_check())
    store.append(
        "event",
        {
            "kind": "override",
            "operator": "Zoë Ångström",
            # Nested `,"id":"` members (what the splice looks for), and text that looks like it.
            "detail": {"a": 1, "id": "x", "note": ',"id":"fake"}', "z": {"hash": "h", "id": "y"}},
        },
    )
    store.append("event", {"kind": "login", "operator": None, "detail": {"😀": '\u2028\n\t"'}})


def test_fast_payloads_are_byte_for_byte_the_canonical_envelope(store: Store, mk: Any) -> None:
    tricky_records(store, mk)
    assert b',"id":"x"' in store.pending(0, 100)[2].payload()  # the case is really there
    fast = store.pending_payloads(0, 100)
    slow = store.pending(0, 100)
    assert [(seq, rtype) for seq, rtype, _ in fast] == [(r.seq, r.type) for r in slow]
    for (_, _, payload), record in zip(fast, slow, strict=True):
        assert payload == record.payload()
        assert json.loads(payload) == record.envelope()


def test_fast_payloads_follow_the_outbox(store: Store, mk: Any) -> None:
    for n in range(6):
        store.append("event", mk.event(kind=f"k{n}"))
    store.mark_delivered([2, 3])
    assert [seq for seq, _, _ in store.pending_payloads(0, 10)] == [1, 4, 5, 6]
    assert [seq for seq, _, _ in store.pending_payloads(1, 2)] == [4, 5]
    store.mark_delivered_upto(6)
    assert store.pending_payloads(0, 10) == []


def test_a_text_of_another_shape_is_left_to_the_parser() -> None:
    digest = "ab" * 32
    assert wire_payload('{"seq":1}', digest) is None  # no top-level "id"
    assert wire_payload('["body",{"id":"x"}]', digest) is None  # not an envelope object
    spliced = wire_payload('{"body":{},"id":"u","type":"event"}', digest)
    assert spliced == ('{"body":{},"hash":"' + digest + '","id":"u","type":"event"}').encode()


def test_the_python_fallback_validator_judges_records_like_the_compiled_one() -> None:
    from station.schemas import fast

    good = {
        "schema": "station.record/1", "type": "event", "id": "x", "seq": 1, "site": "s",
        "station": "b", "ts": "2026-11-21T10:00:00.000Z", "prev": "0" * 64, "hash": "a" * 64,
        "body": {"kind": "login", "operator": None, "detail": {}},
    }  # fmt: skip
    bad = {**good, "body": {"kind": "", "operator": None, "detail": {}}}
    try:
        fast.use_compiled(False)
        assert fast.record_problems(good) == []
        assert fast.record_problems(bad) != []
    finally:
        fast.use_compiled(True)
    assert fast.record_problems(good) == [] and fast.record_problems(bad) != []
