"""The bridge's MQTT side: paho 2.x, MQTT v5, one thread (the station's `paho_link` pattern).

- Records arrive on the shared subscription `$share/{group}/qms/v1/{site}/+/record/#`
  (MQTT 5.0 §4.8.2, "Shared Subscriptions": each message goes to one subscriber of the
  group), so replicas with one group split the stream; status (birth/will) arrives on
  `qms/v1/{site}/+/status`, not shared, so every replica keeps the table current.
- paho's callbacks only append to a list; the loop pumps the socket itself (`select`, then
  `loop_read`/`loop_write`/`loop_misc`) and checks each record as it arrives (`check`). The
  database works on its own thread (`worker`): while it commits one batch, this loop receives
  and checks the next, which it hands over as soon as the worker is free (at most
  `batch_max` records; `batch_window_s` is how long a batch gathers when the database is
  idle). Only after a commit does the loop publish the acks it computed: `{"seq": N, "hash":
  H}` per station touched (mqtt.md, "Delivery").
- Backpressure: while more than `READ_PAUSE_BATCHES` batches wait for the database, the loop
  stops reading the socket (writes and keepalive go on), so TCP pushes back on the broker and
  the bridge's memory stays bounded however fast the fleet publishes (a fleet of 50 stations
  held 405 MB before). Not while PostgreSQL is down: then the session must stay alive, and
  at most `HELD_MAX` records are held.
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
- `answer_calibrations`: after the commit that stored a passing calibration, the instrument
  is published again, retained, with `cal_due` = `next_due` and `calibrated` = its date
  (`station.master.calibration_answer`, as the reference central does). The documents come from the
  retained master topics (and the folder); the confirmations are read back from the
  database at start, so publishing the folder again keeps a confirmation newer than the file.
"""

from __future__ import annotations

import json
import logging
import random
import ssl
import time
from types import FrameType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from station.central.check import Rejected, Valid, check_record
from station.central.config import CentralConfig
from station.central.datapool import DataPool
from station.central.store import CentralStore, Ingested, StoreUnavailable
from station.central.worker import DbWorker, Done, Job, Status
from station.master import folder_state, load_master_dir
from station.master.calibration_answer import CalibrationAnswerer, confirm, passing
from station.schemas import schema_errors
from station.schemas.names import NAME_RE
from station.sync.notify import Notifier
from station.sync.payload import PayloadRejected, parse_payload
from station.sync.pump import pump

log = logging.getLogger("station.central")

SESSION_TAKEN_OVER = 0x8E  # MQTT v5 §3.14.2.1: another connection used the same client id
MASTER_POLL_S = 2.0
HELD_MAX = 50_000  # records held while PostgreSQL is down; beyond that the stations re-send
READ_PAUSE_BATCHES = 4  # batches waiting for the database beyond which the socket is not read


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
        self._pending = Job()  # checked, not yet handed to the database
        self._pending_since = 0.0
        self.db = DbWorker(store)
        self.datapool = None  # `[qdas] dir`: the committed inspections as DFQ files
        if cfg.qdas is not None:
            q = cfg.qdas
            self.datapool = DataPool(
                q.dir, cfg.central.timezone, master_dir=cfg.master_dir, encoding=q.encoding
            )
        self._stop = False
        self._subscribed = False
        self._paused = False  # not reading: the database is behind (backpressure)
        self.stored = 0
        self._db_retry_at = 0.0
        self._db_delay = 0.2
        self._master_seen: dict[str, tuple[int, int]] = {}
        self._master_sent: dict[str, bytes] = {}
        self._master_next = 0.0
        self._answerers: dict[str, CalibrationAnswerer] = {}  # by site
        self._confirmed: dict[tuple[str, str], dict[str, Any]] = {}  # (site, instrument) -> body
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
                if self.cfg.central.answer_calibrations:  # the instrument documents it confirms
                    topics.append((f"qms/v1/{site}/master/instrument/+", 1))
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
        self._subscribed = False  # until this connection's SUBACK: read whatever waits
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
        """Wait up to `timeout` for the broker or the database thread's wake-up, read what
        is there (up to `max_messages` messages), write, keep alive (`station.sync.pump`)."""
        return pump(
            self.client,
            timeout,
            max_reads=max_messages,
            received=lambda: len(self._inbox),
            wake=(self.db.wake_fd,),
            read=self._reading(),
        )

    def _reading(self) -> bool:
        """Read the socket now, unless the database is behind (see "Backpressure" above)."""
        if not self._subscribed or self._db_retry_at > time.monotonic():
            return True  # the CONNACK and SUBACK must be read; a database outage: HELD_MAX
        behind = len(self._pending) + len(self._inbox)
        reading = behind < READ_PAUSE_BATCHES * self.cfg.central.batch_max
        if reading == self._paused:  # a change: said once, not per turn
            self._paused = not reading
            if self._paused:
                log.info("database behind: %d records wait; the broker holds the rest", behind)
            else:
                log.info("database caught up: reading again")
        return reading

    def stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        self._stop = True

    def run(self) -> None:
        """Until `stop()`: connect, receive, check, hand batches to the database thread, ack
        what it committed; then store what is left and leave."""
        delay, next_try = 0.2, 0.0
        batch_max = self.cfg.central.batch_max
        if self.cfg.central.answer_calibrations:
            self._load_confirmed()
        try:
            while not self._stop:
                if self.client.socket() is None:
                    now = time.monotonic()
                    if now >= next_try:
                        delay = 0.2 if self._connect() else min(delay * 2, 10.0)
                        next_try = now + random.uniform(delay / 2, delay)  # jitter: no lockstep
                    else:
                        time.sleep(min(0.05, next_try - now))
                    self._service_db()
                    self._heartbeat()
                    continue
                rc = self.pump(self._wait_s(), batch_max)
                self._take_inbox()
                self._service_db()
                self._poll_master()
                self._heartbeat()
                if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN):
                    next_try = time.monotonic() + random.uniform(delay / 2, delay)
            self._take_inbox()
            self._drain()
            if self.client.socket() is not None:
                self.client.disconnect()
                end = time.monotonic() + 2.0
                while self.client.socket() is not None and time.monotonic() < end:
                    self.pump(0.05, 100)
        finally:
            self.db.close()
            if self.datapool is not None:
                self.datapool.close()

    def _wait_s(self) -> float:
        """How long the next `select` may wait: until the gathering window of the pending
        batch ends when the database is idle, else until a message or the worker's result."""
        if self._pending and not self.db.busy and self._db_retry_at <= time.monotonic():
            left = self._pending_since + self.cfg.central.batch_window_s - time.monotonic()
            return max(0.0, left)
        return 0.1

    def _heartbeat(self) -> None:
        """systemd's watchdog, pinged from this one loop after a completed turn (sd_notify(3)):
        a loop stuck in a call stops the pings, and systemd restarts the unit."""
        interval = self.notifier.watchdog_interval_s
        now = time.monotonic()
        if interval is not None and now - self._pinged >= interval:
            self._pinged = now
            self.notifier.watchdog()

    # -- checking, storing and acking ----------------------------------------------------------

    def _take_inbox(self) -> None:
        """Check what arrived (in this thread, while the database commits the batch before)."""
        if not self._inbox:
            return
        batch, self._inbox = self._inbox, []
        if not self._pending:
            self._pending_since = time.monotonic()
        job = self._pending
        for topic, payload in batch:
            if "/master/instrument/" in topic:
                self._answerer(topic.split("/")[2]).remember(topic, payload)
                continue
            if topic.endswith("/status"):
                status = self._status(topic, payload)
                if status is not None:
                    job.statuses.append(status)
                continue
            checked = check_record(topic, payload)
            if isinstance(checked, Valid):
                job.valid.append(checked)
            else:
                job.rejected.append(checked)
        if len(job) > HELD_MAX:
            log.warning("%d records beyond the %d held are let go: the stations re-send them",
                        len(job) - HELD_MAX, HELD_MAX)  # fmt: skip
            job.valid = job.valid[:HELD_MAX]
            job.rejected = job.rejected[: max(0, HELD_MAX - len(job.valid))]

    def _service_db(self, *, final: bool = False) -> None:
        """Take the worker's result (acks), then hand it the next batch when it is free."""
        done = self.db.result()
        if done is not None:
            self._finished(done)
        if self.db.busy or not (self._pending or self._pending.statuses):
            return
        now = time.monotonic()
        if not final:
            if now < self._db_retry_at:
                return
            gathering = now < self._pending_since + self.cfg.central.batch_window_s
            if gathering and len(self._pending) < self.cfg.central.batch_max:
                return
        pending, cut = self._pending, self.cfg.central.batch_max
        job = Job(pending.statuses, pending.valid[:cut], pending.rejected)
        self._pending = Job(valid=pending.valid[cut:])
        self._pending_since = now
        self.db.submit(job)

    def _finished(self, done: Done) -> None:
        if done.ingested is None:
            job, rest = done.job, self._pending
            self._pending = Job(
                job.statuses + rest.statuses, job.valid + rest.valid, job.rejected + rest.rejected
            )
            self._db_delay = min(self._db_delay * 2, 10.0)
            self._db_retry_at = time.monotonic() + random.uniform(
                self._db_delay / 2, self._db_delay
            )
            log.warning("PostgreSQL unavailable, %d records held, none acked: %s",
                        len(self._pending), done.error)  # fmt: skip
            return
        if done.reconnected:
            log.info("connected to PostgreSQL again")
        self._db_delay, self._db_retry_at = 0.2, 0.0
        for (site, station), ack in done.status_acks.items():
            self._ack(site, station, *ack)
        self._after_commit(done.ingested, done.job.rejected)
        if self.datapool is not None:  # after the acks: a file never holds a record back
            self.datapool.submit(done.job.valid, done.ingested.stored_ids)
        if self.cfg.central.answer_calibrations:
            self._answer(done.job.valid, done.ingested.stored_ids)

    def _drain(self) -> None:
        """At stop: store what is pending (one attempt each while PostgreSQL answers)."""
        while True:
            self._service_db(final=True)
            if not self.db.busy:
                return
            done = self.db.result(timeout=60.0)
            if done is None:
                log.warning("PostgreSQL did not answer within 60 s at stop: pending not stored")
                return
            self._finished(done)
            if done.ingested is None:
                return  # down at stop: the stations re-send what was not acked

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

    # -- answering calibrations (answer_calibrations) -------------------------------------------

    def _answerer(self, site: str) -> CalibrationAnswerer:
        if site not in self._answerers:
            self._answerers[site] = CalibrationAnswerer(site, self.cfg.central.timezone, logger=log)
        return self._answerers[site]

    def _load_confirmed(self) -> None:
        """The confirmations given before this start, from the database (see `_poll_master`)."""
        try:
            rows = self.store.confirmed_calibrations()
        except StoreUnavailable as exc:
            log.warning("confirmed calibrations not read (the master folder is published as"
                        " it is): %s", exc)  # fmt: skip
            return
        for site, body_json in rows:
            body = json.loads(body_json)
            self._confirmed[(site, str(body["instrument"]))] = body

    def _answer(self, valid: list[Valid], stored: set[str]) -> None:
        """Confirm each passing calibration this commit stored (first arrival only, as
        `sim.central`): the instrument again, retained, with its new cal_due and calibrated."""
        for v in valid:
            if v.type != "calibration" or v.id not in stored:
                continue
            record = json.loads(v.payload)
            body = record["body"]
            if passing(body):
                self._confirmed[(v.site, str(body["instrument"]))] = body
            answer = self._answerer(v.site).answer(record)
            if answer is not None:
                self.client.publish(answer[0], answer[1], qos=1, retain=True)

    def _ack(self, site: str, station: str, seq: int, digest: str) -> None:
        payload = json.dumps({"seq": seq, "hash": digest}, separators=(",", ":")).encode()
        self.client.publish(f"qms/v1/{site}/{station}/ack", payload, qos=1)

    def _status(self, topic: str, payload: bytes) -> Status | None:
        parts = topic.split("/")
        if len(parts) != 5 or not NAME_RE.match(parts[3]) or not payload:
            return None  # an empty retained payload clears a status: nothing to keep
        try:
            doc = parse_payload(payload, max_bytes=65536)
        except PayloadRejected as exc:
            log.warning("status on %s ignored: %s", topic, exc)
            return None
        problems = schema_errors("status", doc)
        if problems:
            log.warning("status on %s ignored: %s", topic, "; ".join(problems[:3]))
            return None
        assert isinstance(doc, dict)
        return Status(parts[2], parts[3], str(doc["state"]), json.dumps(doc))

    # -- master data -------------------------------------------------------------------------

    def _poll_master(self) -> None:
        folder = self.cfg.master_dir
        now = time.monotonic()
        if folder is None or now < self._master_next or self.client.socket() is None:
            return
        self._master_next = now + MASTER_POLL_S
        seen = folder_state(folder)
        if seen == self._master_seen:
            return
        self._master_seen = seen
        docs, problems = load_master_dir(folder)
        for p in problems:
            log.warning("master data not published: %s", p)
        current: dict[str, bytes] = {}
        for d in docs:
            for site in self.cfg.central.sites:
                doc = d.doc
                body = self._confirmed.get((site, d.id)) if d.kind == "instrument" else None
                if body is not None and str(body["next_due"]) > str(doc.get("cal_due") or ""):
                    # A confirmation newer than the file: keep it (a file with a later cal_due,
                    # a person's update, wins).
                    doc = confirm(dict(doc), body, self.cfg.central.timezone)
                payload = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                topic = f"qms/v1/{site}/master/{d.kind}/{d.id}"
                current[topic] = payload.encode()
                if d.kind == "instrument" and self.cfg.central.answer_calibrations:
                    self._answerer(site).remember(topic, current[topic])  # before its echo
        changed = [t for t, p in current.items() if self._master_sent.get(t) != p]
        gone = [t for t in self._master_sent if t not in current]
        for t in changed:
            self.client.publish(t, current[t], qos=1, retain=True)
        for t in gone:
            self.client.publish(t, b"", qos=1, retain=True)
        self._master_sent = current
        if changed or gone:
            log.info("master data: %d published, %d deleted", len(changed), len(gone))


__all__ = ["Bridge"]
