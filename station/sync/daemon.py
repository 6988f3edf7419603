"""The sync daemon's logic, without paho: connection states, delivery, acks, master data,
health. `station.sync` gives it an MQTT link (`PahoLink`) and runs it.

Everything here happens on the daemon's one thread (see `station.sync` for why there is only
one): the link's callbacks only post `Event`s on a queue, and `SyncDaemon.iteration()` then
pumps the network, reconciles the events, publishes what the delivery window allows, runs
the timers (reconnect with jittered backoff, CONNACK and PUBACK deadlines, QMS resends),
commits delivery marks and proves the loop healthy (a store write, then systemd's WATCHDOG=1).
A failing store raises out of an iteration: the event that needed it is kept and handled
again, and no watchdog ping is sent until the store answers.
"""

from __future__ import annotations

import json
import logging
import queue
import ssl
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import Any, Literal

from station import __version__
from station.core.timefmt import format_ts
from station.settings import Config
from station.store import Store, StoreError
from station.sync.acks import AckWindow, Conflict, Ignore, judge_ack
from station.sync.link import (
    Connected,
    Disconnected,
    Event,
    Link,
    Published,
    Received,
    Topics,
)
from station.sync.master_inbox import MasterInbox
from station.sync.notify import Notifier
from station.sync.pacing import Backoff
from station.sync.security import describe_tls_error
from station.sync.window import DeliveryWindow

log = logging.getLogger("station.sync")

CENTRAL_WINDOW = 1000  # records published but not yet acked by the QMS, at most
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 30.0
CONNACK_TIMEOUT_S = 10.0
HEARTBEAT_S = 30.0  # sync-state heartbeat when systemd's watchdog is off
IDLE_POLL_S = 0.1  # how often an idle daemon looks for new records
PRUNE_EVERY_S = 3600.0  # retention (`[station] retention_days`) is applied at start, then hourly
OFFLINE_PUBACK_TIMEOUT_S = 5.0
_AUTH_REASONS = ("Bad user name or password", "Not authorized")
SESSION_TAKEN_OVER = 0x8E  # MQTT v5 §3.14.2.1: another connection used the same client id
TAKEOVER_WINDOW_S = 10.0  # a connection dropped this soon after CONNACK counts as short
TAKEOVER_SUSPECT = 3  # short connections in a row that look like a client-id takeover

ConnState = Literal["down", "connecting", "up"]


def _now_ts() -> str:
    return format_ts(datetime.now(UTC))


class SyncDaemon:
    """One MQTT connection, one store, one loop (see the module docstring)."""

    def __init__(
        self,
        cfg: Config,
        store: Store,
        notifier: Notifier,
        link: Link,
        events: queue.SimpleQueue[Event],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.mqtt = cfg.mqtt
        self.store = store
        self.notifier = notifier
        self.clock = clock
        self.topics = Topics(cfg.station.site, cfg.station.id)
        now = clock()
        self.window = DeliveryWindow(
            store,
            mode=self.mqtt.ack,
            inflight_max=self.mqtt.inflight_window,
            central_max=CENTRAL_WINDOW,
            resend_after_s=self.mqtt.resend_after_s,
            max_rate=self.mqtt.max_rate,
            now=now,
        )
        self.inbox = MasterInbox(store, site=cfg.station.site, max_bytes=self.mqtt.max_master_bytes)
        self.backoff = Backoff(RECONNECT_MIN_S, RECONNECT_MAX_S)
        self.state: ConnState = "down"
        self.detail = "starting"
        self.next_attempt = now
        self.connect_started = 0.0
        self.last_beat = float("-inf")
        self.last_prune = float("-inf")
        self.stopping = False
        self.link = link
        self._events = events
        self._retry: deque[Event] = deque()
        self._status_mids: dict[int, str] = {}
        self._store_failing = False
        self._taken_over = False  # the last connection was taken over: keep backing off
        self._short_lives = 0  # connections in a row dropped soon after CONNACK
        self.connected_at = 0.0
        held = store.sync_conflict()  # what the QMS refused to ack (kept across restarts)
        self._conflict_seq: int | None = None if held is None else int(held["seq"])

    # -- status messages and state ------------------------------------------------------------

    def _status_payload(self, state: str) -> bytes:
        doc: dict[str, Any] = {
            "schema": "station.status/1",
            "site": self.topics.site,
            "station": self.topics.station,
            "state": state,
            "ts": _now_ts(),
            "version": __version__,
        }
        try:
            st = self.store.status()
            doc["last_seq"], doc["pending"] = st.last_seq, st.pending
        except StoreError as exc:
            log.warning("status message without counts: %s", exc)
        return json.dumps(doc, separators=(",", ":")).encode()

    def _set_state(self, detail: str) -> None:
        """Tell the bench (through the store) whether the daemon is online, and why not."""
        self.detail = detail
        self.notifier.status(detail)  # shown by `systemctl status station-sync`
        try:
            self.store.set_sync_state(self.state == "up", detail)
        except StoreError as exc:
            log.error("cannot save the sync state: %s", exc)

    # -- connection ---------------------------------------------------------------------------

    def _where(self) -> str:
        return f"{self.mqtt.host}:{self.mqtt.port}"

    def _connect(self, now: float) -> None:
        """One connection attempt, from a clean slate (clean start, empty paho queue)."""
        self._status_mids.clear()
        self.window.reset()
        try:
            self.link.connect(self._status_payload("offline"))
        except ssl.SSLError as exc:
            self._lost(now, describe_tls_error(exc, self.mqtt), level=logging.ERROR)
        except OSError as exc:
            self._lost(now, f"cannot connect to {self._where()}: {exc.strerror or exc}")
        else:
            self.state = "connecting"
            self.connect_started = now

    def _lost(self, now: float, why: str, *, level: int = logging.WARNING) -> None:
        """The connection is gone (or never came): schedule the next attempt with jitter."""
        self.state = "down"
        delay = self.backoff.next_delay()
        self.next_attempt = now + delay
        log.log(level, "%s; retrying in %.1fs", why, delay)
        self._set_state(why)

    def _connected(self, ev: Connected, now: float) -> None:
        if ev.reason.failure:
            hint = ""
            if ev.reason.name in _AUTH_REASONS:
                hint = " (check mqtt.username and mqtt.password_file)"
            self._lost(
                now,
                f"broker {self._where()} refused the connection: {ev.reason}{hint}",
                level=logging.ERROR,
            )
            return
        self.state = "up"
        self.connected_at = now
        if not self._taken_over:
            # Two daemons sharing a client id take the session from each other at every
            # connect; a reset here would make them flap at the minimum delay forever.
            self.backoff.reset()
        subs = [self.topics.master_filter]
        if self.mqtt.ack == "central":
            subs.append(self.topics.ack)
        self.link.subscribe(subs)
        mid = self.link.publish(self.topics.status, self._status_payload("online"), retain=True)
        self._status_mids[mid] = "online"
        log.info(
            "connected to %s as %s (ack=%s, tls=%s)",
            self._where(),
            self.mqtt.client_id,
            self.mqtt.ack,
            "on" if self.mqtt.tls else "off",
        )
        self._set_state(f"connected to {self._where()}")

    def _disconnected(self, ev: Disconnected, now: float) -> None:
        """The broker closed the connection: say why at the level it deserves."""
        short = self.state == "up" and now - self.connected_at < TAKEOVER_WINDOW_S
        self._short_lives = self._short_lives + 1 if short and ev.reason.failure else 0
        who = f"another client with client_id {self.mqtt.client_id!r} took over the session"
        self._taken_over = ev.reason.value == SESSION_TAKEN_OVER
        if self._taken_over:
            self._lost(
                now,
                f"{who} on {self._where()} (MQTT v5 reason 0x8E Session taken over): two"
                " daemons or stations share mqtt.client_id; give each its own",
                level=logging.ERROR,
            )
        elif self.stopping or not ev.reason.failure:
            # Ours (a clean stop) or a normal disconnection (reason 0x00): nothing is wrong.
            self._lost(now, f"disconnected from {self._where()}: {ev.reason}", level=logging.INFO)
        elif self._short_lives >= TAKEOVER_SUSPECT:
            # mosquitto 2.0 closes the old connection without the 0x8E DISCONNECT, so a
            # takeover looks like a lost connection; the sign is the broker accepting every
            # reconnect and dropping it again within seconds.
            self._taken_over = True
            self._lost(
                now,
                f"{who} on {self._where()}, most likely: the broker dropped the connection"
                f" {self._short_lives} times in a row within {TAKEOVER_WINDOW_S:.0f}s of"
                f" accepting it ({ev.reason}; a broker that does not send MQTT v5 reason 0x8E"
                " Session taken over). Two daemons or stations share mqtt.client_id: give each"
                " its own (else see the broker's log for why it closes the connection)",
                level=logging.ERROR,
            )
        else:
            self._lost(now, f"connection to {self._where()} lost: {ev.reason}")

    # -- events -------------------------------------------------------------------------------

    def _next_event(self) -> Event | None:
        if self._retry:
            return self._retry.popleft()
        try:
            return self._events.get_nowait()
        except queue.Empty:
            return None

    def _reconcile(self, now: float) -> None:
        while (ev := self._next_event()) is not None:
            try:
                self._handle(ev, now)
            except StoreError:
                self._retry.appendleft(ev)  # handled again once the store answers
                raise

    def _handle(self, ev: Event, now: float) -> None:
        if isinstance(ev, Published):
            self._published(ev, now)
        elif isinstance(ev, Received):
            self._received(ev)
        elif isinstance(ev, Connected):
            if self.state == "connecting":
                self._connected(ev, now)
        elif isinstance(ev, Disconnected):
            if self.state != "down":
                self._disconnected(ev, now)
        else:
            for rc in ev.reasons:
                if rc.failure:
                    log.error(
                        "broker refused a subscription (%s): master data or acks will not"
                        " arrive; check the broker's ACL",
                        rc,
                    )

    def _published(self, ev: Published, now: float) -> None:
        what = self._status_mids.pop(ev.mid, None)
        if what is not None:
            if ev.reason.failure:
                log.error("broker refused the %s status message: %s", what, ev.reason)
            return
        failure = ev.reason.name if ev.reason.failure else None
        refusal = self.window.puback(ev.mid, failure, now)
        if refusal is not None and refusal.first_of_pause:
            seq = refusal.seq
            who = (
                f"user {self.mqtt.username!r}"
                if self.mqtt.username
                else f"client {self.mqtt.client_id!r}"
            )
            msg = (
                f"broker refused record seq {seq}: {refusal.reason} (reason code"
                f" 0x{ev.reason.value:02x}); NOT delivered, it stays pending; publishing pauses"
                f" {refusal.pause_s:.1f}s. Check the broker's ACL for {who}"
                f" on {self.topics.base}/record/#"
            )
            log.error(msg)
            self._set_state(f"broker refuses records: {refusal.reason}")

    def _received(self, ev: Received) -> None:
        """One inbound message. Whatever is wrong with it ends here, never the loop: a
        retained message that crashed the daemon would crash it again at every start."""
        topic = ev.topic.decode("utf-8", "backslashreplace")
        try:
            self._dispatch(topic, ev)
        except StoreError:
            raise  # the store, not the message: handled again once the store answers
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:500]
            log.error("message on %s not processed, ignored: %s", topic, reason)
            if topic.startswith(self.topics.master_prefix):
                self.inbox.reject(topic, ev.payload, f"could not be processed: {reason}")

    def _dispatch(self, topic: str, ev: Received) -> None:
        if topic == self.topics.ack:
            self._ack(ev.payload)
        elif topic.startswith(self.topics.master_prefix):
            out = self.inbox.handle(ev.topic, ev.payload)
            if out.action == "rejected":
                log.error("master data rejected, nothing changed: %s: %s", out.topic, out.detail)
            elif out.action == "repeated":
                log.info("master data on %s: same invalid message again; ignored", out.topic)
            elif out.action in ("applied", "deleted"):
                log.info("master data %s: %s %s", out.action, out.topic, out.detail)
        else:
            log.warning("ignoring a message on an unexpected topic %r", topic)

    def _ack(self, payload: bytes) -> None:
        """A QMS ack `{"seq": N, "hash": H}`, judged by `acks.judge_ack` (accepted only when N
        is a seq this daemon has published and H is this station's own record N)."""
        if self.mqtt.ack != "central":
            return
        w = self.window
        state = AckWindow(w.acked, w.sent_max, w.resend_streak, bool(w.awaiting))
        verdict = judge_ack(payload, state, self.store.delivery_info, self.store.last_seq)
        if isinstance(verdict, Ignore):
            if verdict.error:
                log.error("%s", verdict.reason)
            elif verdict.detail:
                log.warning("%s on %s: %s", verdict.reason, self.topics.ack, verdict.detail)
        elif isinstance(verdict, Conflict):
            if self._conflict_seq is not None and self._conflict_seq <= verdict.seq:
                return  # already kept, at this seq or before it
            log.error("ignoring an ack: %s (docs/operations.md, seq conflict)", verdict.detail)
            self.store.set_sync_conflict(verdict.seq, verdict.detail)
            self._conflict_seq = verdict.seq
        else:
            w.central_ack(verdict.seq, self.clock())
            if self._conflict_seq is not None and verdict.seq >= self._conflict_seq:
                self.store.clear_sync_conflict(verdict.seq)
                self._conflict_seq = None
                log.info(
                    "the QMS acked seq %d with this station's hash: the conflict is resolved",
                    verdict.seq,
                )

    # -- the loop -----------------------------------------------------------------------------

    def _publish_records(self, now: float) -> None:
        if self.state != "up":
            return
        for item in self.window.take(now):
            mid = self.link.publish(self.topics.record(item.type), item.payload, retain=False)
            self.window.sent(item.seq, mid, now)

    def _timers(self, now: float) -> None:
        if self.state == "down" and now >= self.next_attempt and not self.stopping:
            self._connect(now)
        elif self.state == "connecting" and now - self.connect_started > CONNACK_TIMEOUT_S:
            self._lost(now, f"no CONNACK from {self._where()} within {CONNACK_TIMEOUT_S:.0f}s")
        elif self.state != "down" and not self.link.is_open():
            self._lost(now, f"connection to {self._where()} closed")
        if self.state != "up":
            return
        resend = self.window.check_resend(now)
        if resend is not None:
            log.warning(
                "no ack from the QMS for seq %d after %.0fs: publishing again from there"
                " (next wait %.0fs)",
                resend.from_seq,
                resend.waited_s,
                resend.next_interval_s,
            )
        overdue = self.window.stuck_puback(now)
        if overdue is not None:
            self.link.disconnect()
            self._lost(now, f"no PUBACK from {self._where()} for {overdue:.0f}s: reconnecting")

    def _wait_s(self, now: float) -> float:
        if self.state == "down":
            return max(0.0, min(IDLE_POLL_S, self.next_attempt - now))
        if self.state == "up" and self.window.more and self.window.room(now) > 0:
            return 0.0
        return min(IDLE_POLL_S, self.window.next_due_s(now))

    def _heartbeat(self, now: float) -> None:
        """Prove the loop healthy: a store write answered, then (under systemd) WATCHDOG=1."""
        interval = self.notifier.watchdog_interval_s or HEARTBEAT_S
        if now - self.last_beat < interval:
            return
        self.store.set_sync_state(self.state == "up", self.detail)
        self.last_beat = now
        if self.notifier.watchdog_interval_s is not None:
            self.notifier.watchdog()

    def _prune(self, now: float) -> None:
        """Apply the retention: delivered records older than `retention_days` go (hourly).

        The sync daemon does it because it is the process that learns of deliveries; the
        store never removes an undelivered record and keeps the chain verifiable.
        """
        if self.store.retention_days is None or now - self.last_prune < PRUNE_EVERY_S:
            return
        self.last_prune = now
        removed = self.store.prune(datetime.now(UTC))
        if removed:
            log.info("retention: pruned %d delivered records", removed)

    def iteration(self) -> None:
        """One pass: network, events, publishing, timers, commits, health."""
        now = self.clock()
        wait = self._wait_s(now)
        if self.link.is_open() and self.state != "down":
            self.link.pump(wait)
        elif wait > 0:
            time.sleep(wait)
        now = self.clock()
        self._reconcile(now)
        self._publish_records(now)
        self._timers(now)
        # Batched while draining; at once when the backlog is done (nothing more in flight).
        self.window.flush(now, force=not self.window.inflight and not self.window.more)
        self._heartbeat(now)
        self._prune(now)

    def stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        self.stopping = True

    def run(self) -> int:
        """Loop until `stop()` (SIGTERM); return the exit status (0)."""
        self.notifier.ready(f"sync daemon for {self.topics.base}")
        log.info(
            "sync daemon started: station %s, broker %s, ack=%s",
            self.topics.base,
            self._where(),
            self.mqtt.ack,
        )
        while not self.stopping:
            try:
                self.iteration()
                if self._store_failing:
                    log.info("the store answers again")
                    self._store_failing = False
            except StoreError as exc:
                if not self._store_failing:
                    log.error("store unavailable, retrying: %s", exc)
                    self._store_failing = True
                time.sleep(0.2)
        self.shutdown()
        return 0

    def shutdown(self) -> None:
        """Clean stop: commit marks, publish `offline` (waiting for its PUBACK), disconnect."""
        self.notifier.stopping()
        log.info("stopping")
        if self.state == "up":
            mid = self.link.publish(
                self.topics.status, self._status_payload("offline"), retain=True
            )
            self._status_mids[mid] = "offline"
            deadline = self.clock() + OFFLINE_PUBACK_TIMEOUT_S
            while mid in self._status_mids and self.clock() < deadline:
                if not self.link.is_open():
                    break
                self.link.pump(0.05)
                try:
                    self._reconcile(self.clock())
                except StoreError as exc:
                    log.error("store unavailable while stopping: %s", exc)
                    break
            if mid in self._status_mids:
                log.warning(
                    "the offline status was not acknowledged within %.0fs", OFFLINE_PUBACK_TIMEOUT_S
                )
            self.link.disconnect()
            if self.link.is_open():
                self.link.pump(0.1)  # flush the DISCONNECT packet
        self.state = "down"
        try:
            self.window.flush(self.clock(), force=True)
            self.store.set_sync_state(False, "stopped")
        except StoreError as exc:
            log.error("could not save the final sync state: %s", exc)
        self.notifier.close()


__all__ = ["CENTRAL_WINDOW", "SyncDaemon"]
