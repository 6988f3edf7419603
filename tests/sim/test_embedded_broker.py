"""The demo's embedded broker speaks enough MQTT v5 and 3.1.1 for the station's contract.

Driven by the real paho client (the same library the sync daemon uses), on loopback.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sim.broker import EmbeddedBroker, topic_matches


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    b = EmbeddedBroker().start()
    yield b
    b.stop()


def make_client(
    broker: EmbeddedBroker,
    client_id: str,
    *,
    v5: bool = True,
    clean: bool = True,
    will: tuple[str, bytes] | None = None,
) -> tuple[mqtt.Client, queue.Queue[mqtt.MQTTMessage]]:
    proto = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
    kwargs: dict[str, object] = {} if v5 else {"clean_session": clean}
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=proto, **kwargs)  # type: ignore[arg-type]
    inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    connected = threading.Event()
    client.on_message = lambda c, u, m: inbox.put(m)
    client.on_connect = lambda c, u, f, rc, p: connected.set()
    if will:
        client.will_set(will[0], will[1], qos=1, retain=True)
    if v5:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 0 if clean else 3600
        client.connect("127.0.0.1", broker.port, clean_start=clean, properties=props)
    else:
        client.connect("127.0.0.1", broker.port)
    client.loop_start()
    assert connected.wait(5), "no CONNACK"
    return client, inbox


def subscribe(client: mqtt.Client, topic: str) -> None:
    done = threading.Event()
    client.on_subscribe = lambda c, u, mid, rcs, p: done.set()
    client.subscribe(topic, qos=1)
    assert done.wait(5), "no SUBACK"


def test_topic_filter_matching_follows_the_spec() -> None:
    assert topic_matches("qms/v1/+/master/#", "qms/v1/plant-a/master/plan/P-1")
    assert topic_matches("a/#", "a")
    assert not topic_matches("a/+", "a/b/c")
    assert not topic_matches("#", "$SYS/broker")


@pytest.mark.parametrize("v5", [True, False])
def test_qos1_publish_reaches_subscriber_and_is_acked(broker: EmbeddedBroker, v5: bool) -> None:
    sub, inbox = make_client(broker, "sub", v5=v5)
    subscribe(sub, "qms/v1/plant-a/+/record/#")
    pub, _ = make_client(broker, "pub", v5=v5)
    acks: queue.Queue[int] = queue.Queue()
    pub.on_publish = lambda c, u, mid, rc, p: acks.put(mid)
    info = pub.publish("qms/v1/plant-a/bench-01/record/event", b'{"seq":1}', qos=1)
    assert acks.get(timeout=5) == info.mid
    msg = inbox.get(timeout=5)
    assert (msg.topic, msg.payload, msg.qos) == (
        "qms/v1/plant-a/bench-01/record/event",
        b'{"seq":1}',
        1,
    )
    for c in (sub, pub):
        c.disconnect()
        c.loop_stop()


def test_retained_delivered_on_subscribe_and_cleared_by_empty_payload(
    broker: EmbeddedBroker,
) -> None:
    pub, _ = make_client(broker, "qms")
    pub.publish("qms/v1/p/master/plan/P-1", b"{}", qos=1, retain=True).wait_for_publish(5)
    pub.publish("qms/v1/p/master/plan/P-2", b"{}", qos=1, retain=True).wait_for_publish(5)
    pub.publish("qms/v1/p/master/plan/P-2", b"", qos=1, retain=True).wait_for_publish(5)
    sub, inbox = make_client(broker, "station")
    subscribe(sub, "qms/v1/p/master/+/+")
    msg = inbox.get(timeout=5)
    assert msg.topic == "qms/v1/p/master/plan/P-1" and msg.retain
    with pytest.raises(queue.Empty):
        inbox.get(timeout=0.3)
    for c in (sub, pub):
        c.disconnect()
        c.loop_stop()


def test_last_will_sent_on_abnormal_disconnect_only(broker: EmbeddedBroker) -> None:
    watcher, inbox = make_client(broker, "watcher")
    subscribe(watcher, "status/#")
    station, _ = make_client(broker, "st", will=("status/st", b"offline"))
    station.disconnect()  # clean: no will
    station.loop_stop()
    with pytest.raises(queue.Empty):
        inbox.get(timeout=0.3)
    crasher, _ = make_client(broker, "st2", will=("status/st2", b"offline"))
    crasher.loop_stop()
    crasher.socket().close()  # type: ignore[union-attr]
    msg = inbox.get(timeout=5)
    assert (msg.topic, msg.payload) == ("status/st2", b"offline")
    watcher.disconnect()
    watcher.loop_stop()


def test_persistent_session_queues_while_offline(broker: EmbeddedBroker) -> None:
    central, _ = make_client(broker, "central", clean=False)
    subscribe(central, "rec/#")
    central.disconnect()
    central.loop_stop()
    pub, _ = make_client(broker, "pub")
    for i in range(50):
        pub.publish(f"rec/{i}", str(i).encode(), qos=1).wait_for_publish(5)
    central2, inbox = make_client(broker, "central", clean=False)
    got = sorted(int(inbox.get(timeout=5).payload) for _ in range(50))
    assert got == list(range(50))
    for c in (central2, pub):
        c.disconnect()
        c.loop_stop()
