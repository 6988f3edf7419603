"""`station sync`: the headless MQTT daemon, records up and master data down (contract mqtt.md).

The only module of `station` that imports paho: it adapts paho 2.2 to the `Link` that the
daemon's logic (`station.sync.daemon`, paho-free) drives. One thread does everything: it pumps
the network itself, publishes, and reconciles what paho's callbacks reported. That is a
deliberate choice against `loop_start()` (paho-mqtt 2.x `Client.loop_misc` / `loop_read`):

- paho's callbacks only post small events on a `queue.SimpleQueue`; every decision (delivery,
  master data, reconnects) is taken after the pump returns, on the same thread that is also
  the only caller of `publish()`. There is no shared lock to deadlock on (pitfall 4), no
  `on_publish` racing `publish()`'s return (paho #482), and no network thread that can die
  silently while `is_connected()` still says True: if this loop stalls, everything stalls,
  and the systemd watchdog (pinged only at the end of a completed iteration, after a store
  write) sees it. That is also why there is no "paho thread alive" check: there is no thread.
- The network is driven through paho's external-loop API (`loop_read`/`loop_write`/
  `loop_misc` around our own `select`), not `loop()`: `loop()` creates a wake-up socket pair
  and every `publish()` then writes a byte into it, one syscall per record for nothing when
  the publisher is the loop itself (measured: half the send() calls of a drain).
- Reconnects are the daemon's: capped exponential backoff with jitter, each attempt preceded
  by `drop_out_messages()` so that paho never re-sends its own in-memory backlog; the delivery
  window re-publishes from SQLite instead (pitfall 5, option b). `reconnect_on_failure` is off.
- Delivery is decided only from PUBACK reason codes and QMS acks (`window`), never from
  `publish()`'s return value (pitfall 2).

MQTT v5 throughout, so that a broker's refusal (e.g. an ACL, reason 0x87) is visible rather
than a silent loss (MQTT 5.0 §3.4.2.1 PUBACK reason codes). Clean start and session expiry 0:
the station keeps no broker session; the store is its session.
"""

from __future__ import annotations

import logging
import queue
import signal
import ssl
import sys
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from station.schemas.fast import use_compiled
from station.settings import Config
from station.store import Store, StoreError
from station.sync.daemon import SyncDaemon
from station.sync.link import (
    Connected,
    Disconnected,
    Event,
    Published,
    Reason,
    Received,
    Subscribed,
    Topics,
)
from station.sync.notify import Notifier
from station.sync.pump import pump
from station.sync.security import SecurityConfigError, read_password, tls_context

log = logging.getLogger("station.sync")


_REASONS: dict[tuple[int, int], Reason] = {}


def _reason(rc: ReasonCode) -> Reason:
    """Our `Reason` for a paho reason code, built once per (packet type, value): naming a
    `ReasonCode` scans paho's whole table, and every PUBACK of a drain carries one."""
    key = (int(rc.packetType), int(rc.value))
    reason = _REASONS.get(key)
    if reason is None:
        reason = _REASONS[key] = Reason(str(rc), int(rc.value), bool(rc.is_failure))
    return reason


class PahoLink:
    """paho 2.2 as a `Link`: MQTT v5, QoS 1, callbacks that only post events."""

    def __init__(
        self,
        cfg: Config,
        events: queue.SimpleQueue[Event],
        *,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.mqtt = cfg.mqtt
        self.topics = Topics(cfg.station.site, cfg.station.id)
        self.events = events
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.mqtt.client_id or cfg.station.id,
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        # Belt and braces: every callback below catches its own exceptions; paho's switch
        # keeps a bug in one from killing the network processing (paho-mqtt 2.x
        # `Client.suppress_exceptions`).
        client.suppress_exceptions = True
        paho_log = logging.getLogger("station.sync.paho")
        paho_log.setLevel(logging.WARNING)
        client.enable_logger(paho_log)
        client.max_inflight_messages_set(self.mqtt.inflight_window + 4)  # + status messages
        client.max_queued_messages_set(0)  # bounded by the delivery window, not by paho
        client.connect_timeout = 5.0
        if self.mqtt.username is not None:
            client.username_pw_set(self.mqtt.username, password)
        if tls is not None:
            client.tls_set_context(tls)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self.client = client

    # Callbacks: run inside pump() on the daemon's thread; they only post events.
    def _on_connect(
        self, c: mqtt.Client, u: Any, flags: mqtt.ConnectFlags, rc: ReasonCode, p: Any
    ) -> None:
        try:
            self.events.put(Connected(_reason(rc)))
        except Exception:
            log.exception("on_connect callback failed")

    def _on_disconnect(
        self, c: mqtt.Client, u: Any, flags: mqtt.DisconnectFlags, rc: ReasonCode, p: Any
    ) -> None:
        try:
            self.events.put(Disconnected(_reason(rc)))
        except Exception:
            log.exception("on_disconnect callback failed")

    def _on_publish(self, c: mqtt.Client, u: Any, mid: int, rc: ReasonCode, p: Any) -> None:
        try:
            self.events.put(Published(mid, _reason(rc)))
        except Exception:
            log.exception("on_publish callback failed")

    def _on_message(self, c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            # The raw topic bytes: `msg.topic` raises on a non-UTF-8 topic.
            self.events.put(Received(bytes(msg._topic), bytes(msg.payload)))
        except Exception:
            log.exception("on_message callback failed")

    def _on_subscribe(
        self, c: mqtt.Client, u: Any, mid: int, rcs: list[ReasonCode], p: Any
    ) -> None:
        try:
            self.events.put(Subscribed([_reason(rc) for rc in rcs]))
        except Exception:
            log.exception("on_subscribe callback failed")

    # The Link protocol.
    def connect(self, will: bytes) -> None:
        # The store, not paho, re-sends: paho's own queue would send them twice.
        self.client.drop_out_messages()
        self.client.will_set(self.topics.status, will, qos=1, retain=True)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 0
        self.client.connect(
            self.mqtt.host,
            self.mqtt.port,
            keepalive=self.mqtt.keepalive_s,
            clean_start=True,
            properties=props,
        )

    def disconnect(self) -> None:
        self.client.disconnect()

    def is_open(self) -> bool:
        return self.client.socket() is not None

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> int:
        # The return code is deliberately ignored: delivery is decided by PUBACKs only.
        return self.client.publish(topic, payload, qos=1, retain=retain).mid

    def subscribe(self, topics: list[str]) -> None:
        self.client.subscribe([(t, 1) for t in topics])

    def pump(self, timeout: float) -> None:
        """Wait up to `timeout` for the broker, then let paho read, write and keep alive."""
        pump(self.client, timeout)


def setup_logging() -> None:
    """Log lines for journald (stderr), unless the caller configured logging already."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )


def run_sync(cfg: Config) -> int:
    """Run the daemon until SIGTERM/SIGINT. Exit 0 then; 2 for unusable credentials/TLS
    files; 1 when the store cannot be opened."""
    setup_logging()
    # The daemon appends only events (master-applied/-rejected); the compiled validator's
    # ~7 MB would take it past its 40 MB memory goal for no throughput gain.
    use_compiled(False)
    try:
        password = None
        if cfg.mqtt.password_file is not None:
            if cfg.mqtt.username is None:
                raise SecurityConfigError("mqtt.password_file needs mqtt.username")
            password = read_password(cfg.mqtt.password_file)
        tls = tls_context(cfg.mqtt)
    except SecurityConfigError as exc:
        log.error("refusing to start: %s", exc)
        return 2
    try:
        store = Store.for_config(cfg)
    except StoreError as exc:
        log.error("cannot open the record store: %s", exc)
        return 1
    with store:
        try:
            store.bootstrap_master_dir(cfg.master.dir)  # offline start, where the QMS sent none
        except StoreError as exc:
            log.error("master-data folder not applied: %s", exc)
        events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        link = PahoLink(cfg, events, password=password, tls=tls)
        daemon = SyncDaemon(cfg, store, Notifier.from_env(), link, events)
        signal.signal(signal.SIGTERM, daemon.stop)
        signal.signal(signal.SIGINT, daemon.stop)
        return daemon.run()


__all__ = ["PahoLink", "SyncDaemon", "Topics", "run_sync"]
