"""The reference central's batched ingest (`CentralDB.ingest_many`), on a real SQLite file.

A batch is validated message by message and inserted with one statement; when SQLite refuses
a row (duplicate id, seq taken by another id) the batch falls back to row-by-row storing.
Either way each message gets its own outcome, in order, and only valid records are kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim._central_db import CentralDB


def message(kit: Any, env: dict[str, Any]) -> tuple[str, bytes]:
    return kit.record_topic(env), kit.canonical(env)


def test_a_clean_batch_is_stored_whole(tmp_path: Path, kit: Any) -> None:
    chain = kit.make_chain(50)
    with CentralDB(tmp_path / "central.db") as db:
        results = db.ingest_many([message(kit, r) for r in chain])
        assert [(r.outcome, r.seq) for r in results] == [("stored", s) for s in range(1, 51)]
        assert db.advance("plant-a", "bench-01") == 50
        db.commit()
        summary = db.summary()
    assert (summary["unique"], summary["received"], summary["gaps"]) == (50, 50, 0)
    assert summary["chain_valid"] is True


def test_duplicates_conflicts_and_invalid_messages_in_one_batch(tmp_path: Path, kit: Any) -> None:
    chain = kit.make_chain(5)
    impostor = kit.seal({**chain[2], "id": "someone-else", "body": {**chain[2]["body"]}})
    tampered = {**chain[3], "body": {**chain[3]["body"], "kind": "edited"}}  # hash kept
    with CentralDB(tmp_path / "central.db") as db:
        assert db.ingest_many([message(kit, chain[0])])[0].outcome == "stored"
        batch = [
            message(kit, chain[1]),
            message(kit, chain[0]),  # held since the previous batch
            message(kit, chain[1]),  # twice in this batch
            message(kit, impostor),  # seq 3 under another id, before the real one
            message(kit, tampered),
            ("qms/v1/plant-a/bench-01/record/event", b"{not json"),
            message(kit, chain[2]),
            message(kit, chain[4]),
        ]
        outcomes = [(r.outcome, r.seq) for r in db.ingest_many(batch)]
        assert outcomes == [
            ("stored", 2),
            ("duplicate", 1),
            ("duplicate", 2),
            ("stored", 3),  # first come: the impostor takes seq 3 …
            ("invalid", None),
            ("invalid", None),
            ("conflict", 3),  # … and the real record is refused, never overwriting it
            ("stored", 5),
        ]
        # The real seq 3 conflicts with the impostor held there: no ack reaches seq 3
        # (contract mqtt.md, "Delivery"), nor seq 4, which is missing.
        assert db.advance("plant-a", "bench-01") == 2
        db.commit()
        summary = db.summary()
    station = summary["stations"]["plant-a/bench-01"]
    assert (station["received"], station["unique"], station["duplicates"]) == (9, 4, 2)
    assert (station["conflicts"], station["invalid"], station["gaps"]) == (1, 2, [[4, 4]])
    assert any("hash does not match" in reason for reason in summary["rejected"])
    assert any("not UTF-8 JSON" in reason for reason in summary["rejected"])


def test_the_stored_payload_is_the_message_text(tmp_path: Path, kit: Any) -> None:
    env = kit.make_chain(1)[0]
    topic, payload = message(kit, env)
    with CentralDB(tmp_path / "central.db") as db:
        db.ingest_many([(topic, payload)])
        db.commit()
    with CentralDB(tmp_path / "central.db") as db:
        held = db._db.execute("SELECT payload FROM records").fetchone()[0]
    assert json.loads(held) == env and held.encode() == payload
