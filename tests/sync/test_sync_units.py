"""The daemon's pure parts on a real store, no broker: the delivery window's decisions,
backoff and rate pacing, the password-file rule, and the central's record validation."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from station.schemas.fast import record_problems
from station.settings import MqttSettings
from station.store import Store
from station.sync.pacing import Backoff, TokenBucket
from station.sync.security import SecurityConfigError, read_password, tls_context
from station.sync.window import DeliveryWindow


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "station.db", site="plant-a", station="bench-01") as s:
        s.append_many([("event", {"kind": "t", "operator": None, "detail": {}})] * 50)
        yield s


def window(store: Store, mode: Any, **kw: Any) -> DeliveryWindow:
    args: dict[str, Any] = {
        "mode": mode,
        "inflight_max": 5,
        "central_max": 10,
        "resend_after_s": 2.0,
        "max_rate": 1000.0,
        "now": 0.0,
        "flush_every_s": 0.0,
    }
    return DeliveryWindow(store, **(args | kw))


def publish(w: DeliveryWindow, now: float, first_mid: int) -> list[tuple[int, int]]:
    """Take what the window allows and 'publish' it; return (seq, mid) pairs."""
    sent = []
    for i, r in enumerate(w.take(now)):
        w.sent(r.seq, first_mid + i, now)
        sent.append((r.seq, first_mid + i))
    return sent


def test_broker_mode_delivers_on_success_pubacks_only(store: Store) -> None:
    w = window(store, "broker")
    sent = publish(w, 0.0, 1)
    assert [s for s, _ in sent] == [1, 2, 3, 4, 5]  # the in-flight window, in seq order
    assert publish(w, 0.0, 100) == []  # full until PUBACKs come
    for _seq, mid in sent[:4]:
        assert w.puback(mid, None, 0.1) is None
    refusal = w.puback(sent[4][1], "Not authorized", 0.1)
    assert refusal is not None and refusal.seq == 5 and refusal.first_of_pause
    w.flush(0.2, force=True)
    assert store.status().pending == 46
    assert store.delivery_state(5) == "pending"  # refused is NOT delivered
    assert w.take(0.2) == []  # paused
    later = w.paused_until + 0.01
    assert [s for s, _ in publish(w, later, 200)] == [5, 6, 7, 8, 9]  # restarts at the refused


def test_central_mode_waits_for_the_qms_and_goes_back_when_silent(store: Store) -> None:
    w = window(store, "central")
    for step in range(2):
        for _seq, mid in publish(w, 0.01 * step, 10 * step):
            w.puback(mid, None, 0.01 * step)
    assert len(w.awaiting) == 10 and w.take(0.1) == []  # central_max reached
    assert w.central_ack(4, 0.5)
    w.flush(0.5, force=True)
    assert store.status().delivered_seq == 4
    assert w.check_resend(2.4) is None  # the ack at 0.5 was progress: the QMS is alive
    resend = w.check_resend(2.6)
    assert resend is not None and resend.from_seq == 5
    assert resend.next_interval_s == 4.0  # doubles while the QMS stays silent
    assert [s for s, _ in publish(w, 2.6, 100)] == [5, 6, 7, 8, 9]
    assert not w.central_ack(3, 3.0)  # old news


def test_reset_after_reconnect_republishes_everything_unacked(store: Store) -> None:
    w = window(store, "central")
    publish(w, 0.0, 1)
    w.reset()
    assert w.inflight == {} and [s for s, _ in publish(w, 0.1, 50)] == [1, 2, 3, 4, 5]


def test_rate_limit_spreads_a_backlog(store: Store) -> None:
    store.append_many([("event", {"kind": "t", "operator": None, "detail": {}})] * 50)
    w = window(store, "broker", inflight_max=50, max_rate=10.0)
    first = publish(w, 0.0, 1)
    assert len(first) == 50  # one burst of the window's size
    for _, mid in first:
        w.puback(mid, None, 0.0)
    assert publish(w, 0.05, 100) == []
    assert len(publish(w, 0.55, 200)) == 5  # 10/s


def test_backoff_is_capped_exponential_with_jitter() -> None:
    rng = random.Random(1)
    b = Backoff(0.5, 30.0, rand=rng.uniform)
    delays = [b.next_delay() for _ in range(10)]
    nominal = [min(30.0, 0.5 * 2**i) for i in range(10)]
    assert all(n / 2 <= d <= n for d, n in zip(delays, nominal, strict=True))
    assert len({round(d, 6) for d in delays}) == 10  # not lockstep
    b.reset()
    assert b.next_delay() <= 0.5


def test_token_bucket() -> None:
    t = TokenBucket(100.0, 10, now=0.0)
    assert t.available(0.0) == 10
    t.take(10, 0.0)
    assert t.available(0.0) == 0 and t.wait_s(0.0) == pytest.approx(0.01)
    assert t.available(0.05) == 5


def test_password_file_rules(tmp_path: Path) -> None:
    path = tmp_path / "pass"
    path.write_text("hunter2\n")
    path.chmod(0o600)
    assert read_password(path) == "hunter2"
    path.chmod(0o604)
    with pytest.raises(SecurityConfigError, match=r"readable by group or others \(mode 0604\)"):
        read_password(path)
    path.chmod(0o600)
    path.write_text("\n")
    with pytest.raises(SecurityConfigError, match="is empty"):
        read_password(path)
    with pytest.raises(SecurityConfigError, match="does not exist"):
        read_password(tmp_path / "missing")


def test_tls_context_refuses_a_missing_ca(tmp_path: Path) -> None:
    assert tls_context(MqttSettings()) is None
    with pytest.raises(SecurityConfigError, match=r"mqtt.tls_ca .*ca.pem does not exist"):
        tls_context(MqttSettings(tls_ca=tmp_path / "ca.pem"))


@pytest.mark.parametrize("use_rust", [True, False])
def test_central_validation_agrees_with_the_normative_schema(use_rust: bool) -> None:
    good = {
        "schema": "station.record/1",
        "type": "event",
        "id": "x-1",
        "seq": 1,
        "site": "plant-a",
        "station": "bench-01",
        "ts": "2026-11-21T22:04:09.520Z",
        "prev": "0" * 64,
        "hash": "a" * 64,
        "body": {"kind": "test", "operator": None, "detail": {}},
    }
    assert record_problems(good, use_rust=use_rust) == []
    bad_body = json.loads(json.dumps(good))
    del bad_body["body"]["detail"]
    assert record_problems(bad_body, use_rust=use_rust) == [
        "$.body: 'detail' is a required property"
    ]
    inspection = dict(good, type="inspection")  # an event body is not an inspection body
    assert record_problems(inspection, use_rust=use_rust)
