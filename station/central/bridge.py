"""The bridge's MQTT side: paho 2.x, MQTT v5, one thread (the station's `paho_link` pattern).

- Records arrive on the shared subscription `$share/{group}/qms/v1/{site}/+/record/#`
  (MQTT 5.0 §4.8.2, "Shared Subscriptions": each message goes to one subscriber of the
  group), so replicas with one group split the stream; status (birth/will) arrives on
  `qms/v1/{site}/+/status`, not shared, so every replica keeps the table current.
- paho's callbacks only append to a list; the loop pumps the socket itself (`select`, then
  `loop_read`/`loop_write`/`loop_misc`), gathers a batch for `batch_window_s` or `batch_max`
  records, validates it (`check`), commits it (`store`) and only then publishes the acks the
  commit computed: `{"seq": N, "hash": H}` per station touched (mqtt.md, "Delivery").
- The broker's PUBACK is paho's automatic one, on receipt. A record received but not
  committed (this replica killed, PostgreSQL down) is therefore not acked by the QMS, and the
  station publishes it again after `resend_after_s`: the QMS ack, not the PUBACK, is the
  promise. While PostgreSQL is unreachable the batch is held in memory and stored again after
  the reconnect, so a restart of the database costs time, not records.
- Clean Start and Session Expiry 0 by default: a dead replica leaves no session behind that
  the broker would keep feeding its share of the stream to (mosquitto queues QoS 1 messages
  for an offline persistent session, mosquitto.conf(5) `max_queued_messages`).
- Master data from the `[master]` folder is published retained (QoS 1) at start and when a
  file changes (mtime polled): `qms/v1/{site}/master/{kind}/{id}`, an empty retained
  payload for a file removed while running (the MQTT convention for deleting it).
"""

from __future__ import annotations

import json
import logging
import random
import select
import ssl
import time
from pathlib import Path
from types import FrameType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from station.central.check import Rejected, Valid, check_record
from station.central.config import CentralConfig
from station.central.store import CentralStore, Ingested, StoreUnavailable
from station.master import load_master_dir
from station.schemas import schema_errors
from station.schemas.names import NAME_RE
from station.sync.notify import Notifier
from station.sync.payload import PayloadRejected, parse_payload

log = logging.getLogger("station.central")

SESSION_TAKEN_OVER = 0x8E  # MQTT v5 §3.14.2.1: another connection used the same client id
MASTER_POLL_S = 2.0
HELD_MAX = 200_000  # records held while PostgreSQL is down; beyond that the stations re-send


class Bridge:
    """One replica: the MQTT loop around a `CentralStore`."""

    def __init__(
        self,
        cfg: CentralConfig,
        store: CentralStore,
        *,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.cfg, self.store = cfg, store
        self.notifier = notifier or Notifier(None)
        self._pinged = 0.0
        self.mqtt = cfg.mqtt
        self._inbox: list[tuple[str, bytes]] = []
        self._held: list[tuple[str, bytes]] = []  # a batch PostgreSQL did not commit
        self._stop = False
        self._subscribed = False
        self.stored = 0
        self._db_retry_at = 0.0
        self._db_delay = 0.2
        self._master_seen: dict[str, tuple[int, int]] = {}
        self._master_sent: dict[str, bytes] = {}
        self._master_next = 0.0
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.mqtt.client_id,
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        client.suppress_exceptions = True  # and every callback catches its own
        client.max_inflight_messages_set(1000)  # acks and master data out
        if self.mqtt.username is not None:
            client.username_pw_set(self.mqtt.username, password)
        if tls is not None:
            client.tls_set_context(tls)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self.client = client

    # -- paho callbacks: run inside pump(), on this thread; they only note what happened ------

    def _on_connect(self, c: mqtt.Client, u: Any, flags: Any, rc: ReasonCode, p: Any) -> None:
        try:
            if rc.is_failure:
                log.error("broker refused the connection: %s", rc)
                return
            log.info(
                "connected to %s:%s as %s", self.mqtt.host, self.mqtt.port, self.mqtt.client_id
            )
            topics = []
            for site in self.cfg.central.sites:
                topics.append((f"$share/{self.cfg.central.group}/qms/v1/{site}/+/record/#", 1))
                topics.append((f"qms/v1/{site}/+/status", 1))
            c.subscribe(topics)
            # Publish master data again on every connect (a broker without persistence
            # forgets retained messages when it restarts: mosquitto.conf(5) `persistence`).
            self._master_seen.clear()
            self._master_sent = dict.fromkeys(self._master_sent, b"")
            self._master_next = 0.0
        except Exception:
            log.exception("on_connect failed")

    def _on_subscribe(
        self, c: mqtt.Client, u: Any, mid: int, rcs: list[ReasonCode], p: Any
    ) -> None:
        try:
            bad = [str(rc) for rc in rcs if rc.is_failure]
            if bad:
                log.error("broker refused a subscription: %s", ", ".join(bad))
            else:
                self._subscribed = True
                log.info("subscribed (group %s, sites %s)", self.cfg.central.group,
                         ", ".join(self.cfg.central.sites))  # fmt: skip
        except Exception:
            log.exception("on_subscribe failed")

    def _on_disconnect(self, c: mqtt.Client, u: Any, flags: Any, rc: ReasonCode, p: Any) -> None:
        try:
            if rc.value == SESSION_TAKEN_OVER:
                log.error(
                    "another client with client_id %s took over (MQTT v5 reason 0x8E):"
                    " give each replica its own mqtt.client_id",
                    self.mqtt.client_id,
                )
            elif self._stop or not rc.is_failure:
                log.info("disconnected: %s", rc)
            else:
                log.warning("disconnected: %s", rc)
        except Exception:
            log.exception("on_disconnect failed")

    def _on_message(self, c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self._inbox.append((msg._topic.decode("utf-8", "replace"), bytes(msg.payload)))
        except Exception:
            log.exception("on_message failed")

    # -- network -----------------------------------------------------------------------------

    def _connect(self) -> bool:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.cfg.central.session_expiry_s
        try:
            self.client.connect(
                self.mqtt.host, self.mqtt.port, keepalive=self.mqtt.keepalive_s,
                clean_start=self.cfg.central.session_expiry_s == 0, properties=props,
            )  # fmt: skip
        except (OSError, ssl.SSLError) as exc:
            log.warning("cannot connect to %s:%s: %s", self.mqtt.host, self.mqtt.port, exc)
            return False
        return True

    def pump(self, timeout: float, max_messages: int) -> MQTTErrorCode:
        """Wait up to `timeout` for the broker, read what is there (up to `max_messages`
        messages), write, keep alive. paho's `loop()` would read one packet per call."""
        client = self.client
        sock = client.socket()
        if sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        buffered = sock.pending() if isinstance(sock, ssl.SSLSocket) else 0
        wlist = [sock] if client.want_write() else []
        try:
            readable, _, _ = select.select([sock], wlist, [], 0.0 if buffered else timeout)
        except (OSError, ValueError):
            readable = [sock]  # closed under us: loop_read() reports it as a disconnect
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        if readable or buffered:
            for _ in range(max(1, max_messages)):
                before = len(self._inbox)
                rc = client.loop_read()
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or len(self._inbox) == before:
                    break
        if client.socket() is not None and client.want_write():
            client.loop_write()
        if client.socket() is not None:
            client.loop_misc()
        return rc

    def stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        self._stop = True

    def run(self) -> None:
        """Until `stop()`: connect, receive, store, ack; then store what is held and leave."""
        delay, next_try = 0.2, 0.0
        batch_max = self.cfg.central.batch_max
        while not self._stop:
            if self.client.socket() is None:
                now = time.monotonic()
                if now >= next_try:
                    delay = 0.2 if self._connect() else min(delay * 2, 10.0)
                    next_try = now + random.uniform(delay / 2, delay)  # jitter: no lockstep
                else:
                    time.sleep(min(0.05, next_try - now))
                self._heartbeat()
                continue
            rc = self.pump(0.1, batch_max)
            deadline = time.monotonic() + self.cfg.central.batch_window_s
            while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and 0 < len(self._inbox) < batch_max:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                rc = self.pump(left, batch_max - len(self._inbox))
            self.process()
            self._poll_master()
            self._heartbeat()
            if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN):
                next_try = time.monotonic() + random.uniform(delay / 2, delay)
        self.process(final=True)
        if self.client.socket() is not None:
            self.client.disconnect()
            end = time.monotonic() + 2.0
            while self.client.socket() is not None and time.monotonic() < end:
                self.pump(0.05, 100)

    def _heartbeat(self) -> None:
        """systemd's watchdog, pinged from this one loop after a completed turn (sd_notify(3)):
        a loop stuck in a call stops the pings, and systemd restarts the unit."""
        interval = self.notifier.watchdog_interval_s
        now = time.monotonic()
        if interval is not None and now - self._pinged >= interval:
            self._pinged = now
            self.notifier.watchdog()

    # -- storing and acking ------------------------------------------------------------------

    def process(self, *, final: bool = False) -> None:
        """Store the held and the received messages, commit, then ack (see the module)."""
        batch, self._inbox = self._inbox, []
        statuses = [(t, p) for t, p in batch if t.endswith("/status")]
        records = self._held + [(t, p) for t, p in batch if not t.endswith("/status")]
        self._held = []
        for topic, payload in statuses:
            self._status(topic, payload)
        if not records:
            return
        if not self.store.connected and not self._reconnect_db(final):
            self._hold(records)
            return
        valid: list[Valid] = []
        rejected: list[Rejected] = []
        for topic, payload in records:
            checked = check_record(topic, payload)
            (valid if isinstance(checked, Valid) else rejected).append(checked)  # type: ignore[arg-type]
        try:
            result = self.store.ingest(valid, rejected)
        except StoreUnavailable as exc:
            log.warning(
                "PostgreSQL unavailable, %d records held, none acked: %s", len(records), exc
            )
            self._hold(records)
            return
        self._db_delay = 0.2
        self._after_commit(result, rejected)

    def _hold(self, records: list[tuple[str, bytes]]) -> None:
        if len(records) > HELD_MAX:
            log.warning("%d records beyond the %d held are let go: the stations re-send them",
                        len(records) - HELD_MAX, HELD_MAX)  # fmt: skip
        self._held = records[:HELD_MAX]

    def _reconnect_db(self, final: bool) -> bool:
        now = time.monotonic()
        if now < self._db_retry_at and not final:
            return False
        try:
            self.store.connect()
        except StoreUnavailable as exc:
            self._db_delay = min(self._db_delay * 2, 10.0)
            self._db_retry_at = now + random.uniform(self._db_delay / 2, self._db_delay)
            log.warning("cannot connect to PostgreSQL: %s", exc)
            return False
        log.info("connected to PostgreSQL again")
        return True

    def _after_commit(self, result: Ingested, rejected: list[Rejected]) -> None:
        self.stored += result.stored
        for r in rejected:
            log.warning("rejected %s: %s", r.topic, r.reason)
        for c in result.new_conflicts:
            log.error("CONFLICT %s/%s seq %d (%s): %s; kept in table conflicts for a person, no"
                      " ack reaches seq %d until it is resolved", c.site, c.station, c.seq, c.kind,
                      c.detail, c.seq)  # fmt: skip
        for (site, station), (seq, digest) in result.acks.items():
            self._ack(site, station, seq, digest)

    def _ack(self, site: str, station: str, seq: int, digest: str) -> None:
        payload = json.dumps({"seq": seq, "hash": digest}, separators=(",", ":")).encode()
        self.client.publish(f"qms/v1/{site}/{station}/ack", payload, qos=1)

    def _status(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        if len(parts) != 5 or not NAME_RE.match(parts[3]) or not payload:
            return  # an empty retained payload clears a status: nothing to keep
        site, station = parts[2], parts[3]
        try:
            doc = parse_payload(payload, max_bytes=65536)
        except PayloadRejected as exc:
            log.warning("status on %s ignored: %s", topic, exc)
            return
        problems = schema_errors("status", doc)
        if problems:
            log.warning("status on %s ignored: %s", topic, "; ".join(problems[:3]))
            return
        assert isinstance(doc, dict)
        try:
            self.store.record_status(site, station, str(doc["state"]), json.dumps(doc))
            ack = self.store.delivered(site, station) if doc["state"] == "online" else None
        except StoreUnavailable as exc:
            log.warning("status of %s/%s not stored: %s", site, station, exc)
            return
        if ack is not None:  # a station back online lost the acks sent while it was away
            self._ack(site, station, *ack)

    # -- master data -------------------------------------------------------------------------

    def _poll_master(self) -> None:
        folder = self.cfg.master_dir
        now = time.monotonic()
        if folder is None or now < self._master_next or self.client.socket() is None:
            return
        self._master_next = now + MASTER_POLL_S
        seen = _mtimes(folder)
        if seen == self._master_seen:
            return
        self._master_seen = seen
        docs, problems = load_master_dir(folder)
        for p in problems:
            log.warning("master data not published: %s", p)
        current: dict[str, bytes] = {}
        for d in docs:
            payload = json.dumps(d.doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            for site in self.cfg.central.sites:
                current[f"qms/v1/{site}/master/{d.kind}/{d.id}"] = payload.encode()
        changed = [t for t, p in current.items() if self._master_sent.get(t) != p]
        gone = [t for t in self._master_sent if t not in current]
        for t in changed:
            self.client.publish(t, current[t], qos=1, retain=True)
        for t in gone:
            self.client.publish(t, b"", qos=1, retain=True)
        self._master_sent = current
        if changed or gone:
            log.info("master data: %d published, %d deleted", len(changed), len(gone))


def _mtimes(folder: Path) -> dict[str, tuple[int, int]]:
    try:
        return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.json")}
    except OSError:
        return {}


__all__ = ["Bridge"]
