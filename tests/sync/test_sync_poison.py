"""Poison messages: whatever arrives on the ack or master topics, retained (so delivered again
at every start), the daemon stays up, keeps delivering, and logs what was wrong with it.

Real mosquitto, `station sync` as a process, the reference central acking, and the bounded
parser (`station.sync.payload`) checked directly for each hostile shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from station.sync.payload import MAX_DEPTH, PayloadRejected, parse_payload

ACK = "qms/v1/plant-a/bench-01/ack"
MASTER = "qms/v1/plant-a/master/instrument/"

DEEP = b'{"seq":' * 100_000 + b"1" + b"}" * 100_000
POISON: list[tuple[str, bytes, str]] = [
    ("deep", DEEP, "nested 100000 levels deep"),
    ("deep-array", b"[" * 100_000 + b"]" * 100_000, "nested 100000 levels deep"),
    ("huge", b'{"seq": 1, "hash": "' + b"a" * (10 * 1024 * 1024) + b'"}', "bytes, more than"),
    ("digits", b'{"seq": ' + b"9" * 400 + b', "hash": "' + b"0" * 64 + b'"}', "400 digits"),
    ("nan", b'{"seq": NaN, "hash": "' + b"0" * 64 + b'"}', "NaN is not JSON"),
    ("inf", b'{"seq": 1e400, "hash": "' + b"0" * 64 + b'"}', "1e400"),
    ("utf8", b'{"seq": 1, "hash": "\xff\xfe"}', "not UTF-8"),
    ("types", b'{"seq": "1", "hash": 7}', "is not of type"),
    ("array", b"[1, 2, 3]", "is not of type"),
]


@pytest.mark.parametrize(("case", "payload", "reason"), POISON, ids=[p[0] for p in POISON])
def test_the_bounded_parser_refuses_each_shape_with_its_reason(
    case: str, payload: bytes, reason: str
) -> None:
    if reason == "is not of type":  # valid JSON: the schema check refuses it, not the parser
        assert parse_payload(payload, max_bytes=4096) is not None
        return
    with pytest.raises(PayloadRejected, match=reason):
        parse_payload(payload, max_bytes=4096 if case == "huge" else 1 << 20)


def test_the_parser_keeps_brackets_inside_strings_and_a_sane_depth() -> None:
    assert parse_payload(b'{"a": "[[[[{{{{\\"]]"}', max_bytes=100) == {"a": '[[[[{{{{"]]'}
    ok = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert parse_payload(ok, max_bytes=1000) is not None
    with pytest.raises(PayloadRejected, match="nested 65 levels"):
        parse_payload(b"[" + ok + b"]", max_bytes=1000)
    with pytest.raises(PayloadRejected, match="duplicate key"):
        parse_payload(b'{"seq": 1, "seq": 2}', max_bytes=100)
    assert parse_payload(b'{"n": 999999999999999999}', max_bytes=100) == {"n": 10**18 - 1}


@pytest.mark.mosquitto
def test_retained_poison_never_stops_the_daemon(
    mosquitto: Any,
    station_env: Callable[..., Any],
    start_central: Callable[..., Any],
    probe_factory: Any,
) -> None:
    poisoner = probe_factory(mosquitto.port, "poisoner")
    # On the ack topic, retained (the worst: it comes back at every connect). One retained
    # message per topic, so each shape goes to its own master topic, and the ack topic gets
    # the deepest one.
    assert not poisoner.publish(ACK, DEEP, retain=True).is_failure
    for case, payload, _ in POISON:
        assert not poisoner.publish(MASTER + f"POISON-{case}", payload, retain=True).is_failure
    poisoner.publish(MASTER + "POISON-plan400", b'{"limit": ' + b"4" * 400 + b"}", retain=True)

    start_central(mosquitto.port)
    st = station_env(mosquitto.port)
    st.fill(200)
    for start in range(2):  # the second start gets every retained message again
        daemon = st.start()
        st.wait_pending(lambda n: n == 0, 30.0, f"start {start}: all records delivered")
        daemon.wait_log("ignoring a malformed ack", 10.0)
        if start == 0:  # every shape on the ack topic too, while it runs
            for case, payload, reason in POISON:
                mark = len(daemon.log)
                assert not poisoner.publish(ACK, payload).is_failure
                daemon.wait_log("ack on", 10.0, since=mark)
                shown = "bytes, more than the 4096 allowed" if len(payload) > 4096 else reason
                assert shown in daemon.log[mark:], (case, daemon.log[mark:])
        assert daemon.alive()
        st.fill(50)  # and it keeps delivering what the bench records meanwhile
        st.wait_pending(lambda n: n == 0, 30.0, f"start {start}: new records delivered")
        assert daemon.terminate() == 0, daemon.log
    log = daemon.log
    assert "nested 100000 levels deep" in log
    assert "Traceback" not in log and "RecursionError" not in log
    rejected = {e["detail"]["topic"]: e["detail"]["reason"] for e in st.events("master-rejected")}
    for case, _, reason in POISON:
        topic = MASTER + f"POISON-{case}"
        assert topic in rejected, (case, sorted(rejected))
        big = case in ("huge", "deep")  # over mqtt.max_master_bytes: refused before parsing
        want = "more than mqtt.max_master_bytes" if big else reason
        if reason == "is not of type":  # valid JSON, not an instrument: the schema says why
            want = "$"
        assert want in rejected[topic], (case, rejected[topic])
    assert "400 digits" in rejected[MASTER + "POISON-plan400"]
    # Each logged once per run (MasterInbox), however often the broker delivers it.
    assert len(st.events("master-rejected")) == 2 * (len(POISON) + 1)
    assert st.cli_status()["pending"] == 0
