"""Master data downlink: valid messages applied, every kind of bad message rejected with an
event and nothing changed, empty retained payloads deleting.

First the checks themselves (`MasterInbox` on a real store, no broker: fast, one case each),
then the wire: `station sync` against mosquitto, fed by `python -m sim.publish_master` and by
raw retained publishes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.net import wait_until
from station.store import Store
from station.sync.master_inbox import MasterInbox

TOPIC = "qms/v1/plant-a/master/instrument/CAL-1"


def instrument(item_id: str = "CAL-1", **extra: Any) -> dict[str, Any]:
    return {
        "schema": "qms.master/instrument@1",
        "id": item_id,
        "type": "caliper",
        "status": "active",
        "cal_due": "2027-06-30",
        "unit": "mm",
        "resolution": 0.01,
        **extra,
    }


def dumps(doc: Any) -> bytes:
    return json.dumps(doc).encode()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "station.db", site="plant-a", station="bench-01") as s:
        yield s


@pytest.fixture
def inbox(store: Store) -> MasterInbox:
    return MasterInbox(store, site="plant-a", max_bytes=4096)


def events(store: Store, kind: str) -> list[dict[str, Any]]:
    return [
        r.body for r in store.records(0, 10_000) if r.type == "event" and r.body["kind"] == kind
    ]


def test_a_valid_message_is_applied_once(inbox: MasterInbox, store: Store) -> None:
    out = inbox.handle(TOPIC.encode(), dumps(instrument()))
    assert out.action == "applied"
    assert store.master_doc("instrument", "CAL-1") == instrument()
    again = inbox.handle(TOPIC.encode(), dumps(instrument()))  # retained, on reconnect
    assert again.action == "unchanged"
    applied = events(store, "master-applied")
    assert len(applied) == 1
    assert applied[0]["detail"]["topic"] == TOPIC


BAD: list[tuple[str, str, bytes, str]] = [
    ("bad-json", TOPIC, b'{"schema": "qms.master/instrument@1", ', "payload is not valid JSON"),
    ("not-utf8", TOPIC, b'{"id": "\xff\xfe"}', "payload is not UTF-8 (bad byte at 8)"),
    ("schema", TOPIC, dumps(instrument(status="broken")), "$.status: must be one of"),
    ("missing-key", TOPIC, dumps({**instrument(), "unit": None}), "$.unit: must be a string"),
    ("id-mismatch", TOPIC, dumps(instrument("CAL-2")), "must equal the id in the topic"),
    ("oversize", TOPIC, dumps(instrument(description="x" * 5000)), "more than mqtt.max_master"),
    (
        "unknown-kind",
        "qms/v1/plant-a/master/gizmo/CAL-1",
        dumps(instrument()),
        "unknown master-data kind 'gizmo'",
    ),
    ("wrong-kind", TOPIC, dumps({"schema": "qms.master/operator@1", "id": "CAL-1"}), "$.schema"),
    ("not-object", TOPIC, b"[1, 2]", "$: must be a JSON object"),
    ("duplicate-key", TOPIC, b'{"id": "CAL-1", "id": "CAL-1"}', 'duplicate key "id"'),
    ("nan", TOPIC, b'{"id": "CAL-1", "resolution": NaN}', "NaN is not JSON"),
    ("bad-topic-id", "qms/v1/plant-a/master/instrument/CAL 1", dumps(instrument()), "1-64"),
]


@pytest.mark.parametrize(("case", "topic", "payload", "reason"), BAD, ids=[b[0] for b in BAD])
def test_an_invalid_message_changes_nothing_and_is_logged(
    inbox: MasterInbox, store: Store, case: str, topic: str, payload: bytes, reason: str
) -> None:
    inbox.handle(TOPIC.encode(), dumps(instrument()))
    before = store.last_seq()
    out = inbox.handle(topic.encode(), payload)
    assert out.action == "rejected", out
    assert reason in out.detail
    assert store.master_doc("instrument", "CAL-1") == instrument()  # the previous one rules
    rejected = events(store, "master-rejected")
    assert [e["detail"]["topic"] for e in rejected] == [topic]
    assert reason in rejected[0]["detail"]["reason"]
    assert store.last_seq() == before + 1  # that event, nothing else


def test_the_same_invalid_retained_message_is_logged_once_per_run(
    inbox: MasterInbox, store: Store
) -> None:
    bad = dumps(instrument(status="broken"))
    assert inbox.handle(TOPIC.encode(), bad).action == "rejected"
    assert inbox.handle(TOPIC.encode(), bad).action == "repeated"
    assert len(events(store, "master-rejected")) == 1


def test_an_empty_payload_deletes(inbox: MasterInbox, store: Store) -> None:
    inbox.handle(TOPIC.encode(), dumps(instrument()))
    assert inbox.handle(TOPIC.encode(), b"").action == "deleted"
    assert store.master_doc("instrument", "CAL-1") is None
    assert inbox.handle(TOPIC.encode(), b"").action == "unchanged"
    details = [e["detail"]["action"] for e in events(store, "master-applied")]
    assert details == ["applied", "deleted"]


# -- on the wire ---------------------------------------------------------------------------------


def publish_master(port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.publish_master",
            "--port",
            str(port),
            "--site",
            "plant-a",
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def wait_events(st: Any, kind: str, n: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def enough() -> bool:
        nonlocal found
        found = st.events(kind)
        return len(found) >= n

    wait_until(f"{n} {kind} events in the store", enough, 15.0)
    return found


@pytest.mark.mosquitto
def test_daemon_applies_rejects_and_deletes_master_data_over_mqtt(
    mosquitto: Any, station_env: Callable[..., Any], probe_factory: Any, tmp_path: Path
) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / "cal-1.json").write_text(json.dumps(instrument()))
    st = station_env(mosquitto.port, ack="broker", max_master_bytes=4096)
    st.master_dir = boot
    daemon = st.start()
    daemon.wait_log("connected to", 15.0)
    with st.store() as s:  # bootstrapped from the folder before any MQTT
        assert s.master_doc("instrument", "CAL-1") == instrument()

    folder = tmp_path / "qms"
    folder.mkdir()
    newer = instrument(cal_due="2028-01-31")
    (folder / "cal-1.json").write_text(json.dumps(newer))
    (folder / "cal-2.json").write_text(json.dumps(instrument("CAL-2")))
    out = publish_master(mosquitto.port, str(folder))
    assert out.returncode == 0, out.stderr
    assert f"published {TOPIC}" in out.stdout

    probe = probe_factory(mosquitto.port)
    wait_events(st, "master-applied", 3)  # the file, then CAL-1 and CAL-2 over MQTT
    with st.store() as s:
        assert s.master_doc("instrument", "CAL-1") == newer

    for _case, topic, payload, _reason in BAD:
        if "CAL 1" in topic:
            continue  # a topic with a space cannot be published through mosquitto's checks
        assert not probe.publish(topic, payload, retain=True).is_failure
    rejected = wait_events(st, "master-rejected", len(BAD) - 1)
    reasons = "\n".join(e["detail"]["reason"] for e in rejected)
    for case, topic, _payload, reason in BAD:
        if "CAL 1" not in topic:
            assert reason in reasons, case
    assert daemon.alive()
    with st.store() as s:
        assert s.master_doc("instrument", "CAL-1") == newer  # still what was valid last

    out = publish_master(mosquitto.port, "--delete", "instrument", "CAL-2")
    assert out.returncode == 0, out.stderr
    wait_events(st, "master-applied", 4)
    with st.store() as s:
        assert s.master_doc("instrument", "CAL-2") is None
    assert "master data rejected, nothing changed" in daemon.log
    assert daemon.terminate() == 0


def test_publish_master_refuses_an_invalid_file_unless_told(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps(instrument(status="broken")))
    out = publish_master(1, str(tmp_path))
    assert out.returncode == 2
    assert "bad.json: $.status" in out.stderr
    # The station's own strict parsing too: a duplicate key would be rejected on arrival.
    (tmp_path / "bad.json").write_text(
        '{"schema": "qms.master/instrument@1", "id": "CAL-1", "id": "CAL-1"}'
    )
    out = publish_master(1, str(tmp_path))
    assert out.returncode == 2
    assert 'bad.json: not UTF-8 JSON: duplicate key "id"' in out.stderr
    # --no-validate goes on to the broker (none listens on port 1).
    out = publish_master(1, "--no-validate", str(tmp_path))
    assert out.returncode == 1
    assert "cannot connect to 127.0.0.1:1" in out.stderr
