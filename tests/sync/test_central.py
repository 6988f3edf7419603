"""The reference central QMS (sim/central.py) against a real mosquitto, fed hand-built records.

The records here are computed from the contract (mqtt.md) by the test itself, not by the
station's store, so the central is checked against the contract and not against our own code.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.mosquitto

ACK = "qms/v1/plant-a/bench-01/ack"


def acks(probe: Any) -> list[int]:
    return [json.loads(p)["seq"] for p in probe.payloads(ACK)]


def test_stores_one_record_per_id_and_acks_the_contiguous_seq(
    mosquitto: Any, start_central: Callable[..., Any], probe_factory: Any, kit: Any, tmp_path: Path
) -> None:
    start_central(mosquitto.port)
    probe = probe_factory(mosquitto.port)
    probe.subscribe(ACK)
    chain = kit.make_chain(300)
    # Out of order, with a third of them twice: what a station's re-publishing produces.
    items = chain + random.Random(7).sample(chain, 100)
    random.Random(8).shuffle(items)
    probe.publish_many([(kit.record_topic(r), kit.canonical(r)) for r in items])

    summary = kit.wait_summary(
        tmp_path / "central.db", lambda s: s["received"] == 400, 20.0, "400 received"
    )
    assert summary["unique"] == 300
    assert summary["duplicates"] == 100
    assert summary["gaps"] == 0
    assert summary["invalid"] == 0
    assert summary["chain_valid"] is True
    assert summary["stations"]["plant-a/bench-01"]["contiguous_seq"] == 300
    probe.pump_until(lambda: 300 in acks(probe), 10.0, "ack 300")
    seen = acks(probe)
    assert seen == sorted(seen), "acks never go backwards"


def test_a_gap_holds_the_ack_back_until_it_is_filled(
    mosquitto: Any, start_central: Callable[..., Any], probe_factory: Any, kit: Any, tmp_path: Path
) -> None:
    start_central(mosquitto.port)
    probe = probe_factory(mosquitto.port)
    probe.subscribe(ACK)
    chain = kit.make_chain(20)
    missing = chain.pop(10)  # seq 11
    probe.publish_many([(kit.record_topic(r), kit.canonical(r)) for r in chain])
    probe.pump_until(lambda: 10 in acks(probe), 10.0, "ack 10")
    probe.pump(0.3)
    assert max(acks(probe)) == 10
    summary = kit.wait_summary(tmp_path / "central.db", lambda s: s["unique"] == 19, 10.0, "19")
    assert summary["gaps"] == 1
    assert summary["stations"]["plant-a/bench-01"]["gaps"] == [[11, 11]]

    probe.publish(kit.record_topic(missing), kit.canonical(missing))
    probe.pump_until(lambda: 20 in acks(probe), 10.0, "ack 20 once seq 11 arrived")
    summary = kit.wait_summary(tmp_path / "central.db", lambda s: s["unique"] == 20, 10.0, "20")
    assert summary["gaps"] == 0 and summary["chain_valid"] is True


def test_invalid_messages_are_counted_not_stored_and_the_central_keeps_running(
    mosquitto: Any, start_central: Callable[..., Any], probe_factory: Any, kit: Any, tmp_path: Path
) -> None:
    central = start_central(mosquitto.port)
    probe = probe_factory(mosquitto.port)
    good = kit.make_chain(2)
    tampered = dict(good[1], body={"kind": "test", "operator": None, "detail": {"n": 999}})
    no_schema = kit.seal({k: v for k, v in good[0].items() if k != "schema"})
    topic = kit.record_topic(good[0])
    probe.publish_many(
        [
            (topic, b"\xff\xfe not utf-8"),
            (topic, b"{not json"),
            (topic, kit.canonical(no_schema)),
            (topic, kit.canonical(tampered)),
            ("qms/v1/plant-a/bench-02/record/event", kit.canonical(good[0])),  # topic mismatch
            (topic, kit.canonical(good[0])),
        ]
    )
    summary = kit.wait_summary(
        tmp_path / "central.db", lambda s: s["received"] == 6, 10.0, "6 received"
    )
    assert summary["invalid"] == 5
    assert summary["unique"] == 1
    reasons = "\n".join(summary["rejected"])
    assert "not UTF-8 JSON" in reasons
    assert "record schema: $: 'schema' is a required property" in reasons
    assert "seq 2: hash does not match the content" in reasons
    assert "topic says ('plant-a', 'bench-02', 'event')" in reasons
    assert central.alive()


def test_a_broken_link_shows_as_chain_invalid(
    mosquitto: Any, start_central: Callable[..., Any], probe_factory: Any, kit: Any, tmp_path: Path
) -> None:
    start_central(mosquitto.port)
    probe = probe_factory(mosquitto.port)
    chain = kit.make_chain(3)
    # Seq 3 is self-consistent (its own hash is right) but does not link to seq 2.
    forged = kit.seal(dict(chain[2], prev="a" * 64))
    for r in (chain[0], chain[1], forged):
        probe.publish(kit.record_topic(r), kit.canonical(r))
    summary = kit.wait_summary(tmp_path / "central.db", lambda s: s["unique"] == 3, 10.0, "3")
    assert summary["chain_valid"] is False
    assert summary["stations"]["plant-a/bench-01"]["broken_links"] == [3]


def test_persistent_session_receives_what_was_published_while_the_central_was_down(
    mosquitto: Any, start_central: Callable[..., Any], probe_factory: Any, kit: Any, tmp_path: Path
) -> None:
    central = start_central(mosquitto.port)
    assert central.terminate() == 0
    probe = probe_factory(mosquitto.port)
    chain = kit.make_chain(50)
    probe.publish_many([(kit.record_topic(r), kit.canonical(r)) for r in chain])

    start_central(mosquitto.port)
    summary = kit.wait_summary(tmp_path / "central.db", lambda s: s["unique"] == 50, 15.0, "50")
    assert summary["gaps"] == 0 and summary["chain_valid"] is True


def test_summary_cli_prints_json_and_exits(
    mosquitto: Any, start_central: Callable[..., Any], probe_factory: Any, kit: Any, tmp_path: Path
) -> None:
    central = start_central(mosquitto.port)
    probe = probe_factory(mosquitto.port)
    for r in kit.make_chain(5):
        probe.publish(kit.record_topic(r), kit.canonical(r))
    kit.wait_summary(tmp_path / "central.db", lambda s: s["unique"] == 5, 10.0, "5")
    assert central.terminate() == 0
    on_exit = json.loads(central.stdout())
    assert on_exit["unique"] == 5

    out = subprocess.run(
        [sys.executable, "-m", "sim.central", "--summary", "--db", str(tmp_path / "central.db")],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(out.stdout)
    assert summary["unique"] == 5
    assert summary["stations"]["plant-a/bench-01"]["last_seq"] == 5

    missing = subprocess.run(
        [sys.executable, "-m", "sim.central", "--summary", "--db", str(tmp_path / "none.db")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "no central database at" in missing.stderr
