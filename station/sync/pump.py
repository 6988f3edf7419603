"""One turn of a paho client's network loop, driven by the caller's own thread.

The station's sync daemon, the central bridge and the reference central each own one paho
client on one thread (paho 2.x's own `loop()` reads a single packet per call and has no way
to wait on another descriptor). A turn: wait for the socket (and any `wake` descriptors) up
to `timeout`, read while reads bring new messages (at most `max_reads`), write what paho
has queued, keep alive. Bytes already decrypted inside an SSL socket do not wake select(),
so a TLS socket with pending bytes is read at once.

`read=False` leaves the socket unread for a turn (writes and keepalive still run): a consumer
whose own queue is full lets TCP push back on the broker instead of holding an unbounded
backlog in memory (mosquitto then keeps the messages, within its `max_inflight_messages` and
`max_queued_messages`, mosquitto.conf(5)).
"""

from __future__ import annotations

import select
import ssl
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode


def pump(
    client: mqtt.Client,
    timeout: float,
    *,
    max_reads: int = 1,
    received: Callable[[], int] = lambda: 0,
    wake: Sequence[Any] = (),  # more descriptors to wake for (sockets or fds)
    read: bool = True,
) -> MQTTErrorCode:
    """One turn of the loop; paho's error code of the last read (SUCCESS while connected).

    `received` counts the messages taken so far: another read follows while a read added
    one, so a burst is drained without a select() per packet, until `max_reads` messages
    came in this turn. The cap counts messages, not calls: paho 2.x's `loop_read` ignores
    its `max_packets` and reads up to as many packets as it has QoS 1 messages in flight
    (`len(_out_messages) + len(_in_messages)`), so a bridge with a thousand acks
    outstanding took ~20,000 records in one turn past its backpressure (issue 19).
    """
    sock = client.socket()
    if sock is None:
        return MQTTErrorCode.MQTT_ERR_NO_CONN
    buffered = sock.pending() if read and isinstance(sock, ssl.SSLSocket) else 0
    wlist = [sock] if client.want_write() else []
    try:
        rlist: list[Any] = [sock, *wake] if read else list(wake)
        readable, _, _ = select.select(rlist, wlist, [], 0.0 if buffered else timeout)
    except (OSError, ValueError):
        readable = [sock] if read else []  # closed under us: loop_read() reports it
    rc = MQTTErrorCode.MQTT_ERR_SUCCESS
    if sock in readable or buffered:
        start = received()
        for _ in range(max(1, max_reads)):
            before = received()
            rc = client.loop_read()
            got = received()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or got == before or got - start >= max_reads:
                break
    if client.socket() is not None and client.want_write():
        client.loop_write()
    if client.socket() is not None:
        client.loop_misc()
    return rc


__all__ = ["pump"]
