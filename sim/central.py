"""A reference central QMS: the consumer side of the MQTT contract, for tests, the demo and
integrators (what a plant's QMS adapter would start from).

    python -m sim.central --host 127.0.0.1 --port 1883 --site plant-a --db central.db
    python -m sim.central --summary --db central.db
    python -m sim.central --conflicts --db central.db
    python -m sim.central --resolve plant-a/bench-01 --db central.db

It subscribes to `qms/v1/{site}/+/record/#` (QoS 1) and stores one record per `id` in its own
SQLite file (`sim._central_db`), validating each against the contract's schema and hash. Then,
and only after the commit, it acknowledges to each station with `{"seq": N, "hash": H}` on
`qms/v1/{site}/{station}/ack` (QoS 1): N the highest seq up to which it holds every record,
each linked to the one before by `prev`, below any conflict it holds; H the hash of its
record N (contract mqtt.md, "Delivery"). It re-acknowledges on duplicates too, since an ack
sent while a station was offline is lost (stations connect with a clean session).

A conflict (a station re-using a seq with another record, or a broken `prev` link) is logged
once as an ERROR, kept in the database's `conflicts` table, listed by `--summary` and
printed as a table by `--conflicts`; acks to that station stop below it until a person
decides (`--resolve SITE/STATION`: the station's current records win, the ones held here
from the conflict on are moved to `superseded`; docs/operations.md, "Recovering from a seq
conflict").

The broker's PUBACK, by contrast, is sent by paho on receipt (no `manual_ack`): the station's
record stays pending until the station ack above, so a record the central received but did
not commit before a crash is simply published again by the station after `resend_after_s`.
Acking the broker only after the commit would hold the central to mosquitto's 20 in-flight
messages per round trip (`max_inflight_messages`), a fifth of the throughput measured here.

Its MQTT v5 session is persistent (Clean Start 0 on every connect, Session Expiry Interval set),
so the broker queues records while the central is down. Mosquitto caps that queue per client
(`max_queued_messages`, default 1000, excess silently dropped: mosquitto.conf(5)); the stations
re-publish whatever stays unacknowledged, so a dropped message costs time, never a record.

The process is single-threaded: the main loop drives paho's network itself (`select`, then
`loop_read`/`loop_write`/`loop_misc`), callbacks only append to a list, the loop validates and
commits a batch and then acknowledges it. SIGTERM/SIGINT stop it cleanly and print the summary
as one JSON line on stdout.

Per message the cost is paho's MQTT v5 receive path, one JSON parse, one canonical
re-serialization for the hash, a schema check and a share of one `executemany` (figures in
docs/performance.md, "## Sync"). `client.loop()` is not used: it reads one packet per call
(paho sizes a read burst by its own outgoing queue, nearly empty here), so each message cost a
`select()`, and its wake-up socket pair one more write and read per PUBACK.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import signal
import ssl
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from sim._central_db import CentralDB, read_summary
from station.master.calibration_answer import CalibrationAnswerer
from station.sync.pump import pump

log = logging.getLogger("sim.central")

NEVER_EXPIRES = 0xFFFFFFFF  # MQTT v5 §3.1.2.11.2: the session does not expire
SESSION_TAKEN_OVER = 0x8E  # MQTT v5 §3.14.2.1: another connection used the same client id
BATCH_MAX = 250  # messages per transaction at most (see `run`)
BATCH_WINDOW_S = 0.05  # how long a batch gathers before its commit and acks


class Central:
    """The central's MQTT loop around a `CentralDB`."""

    def __init__(
        self,
        db: CentralDB,
        *,
        host: str,
        port: int,
        site: str,
        client_id: str,
        session_expiry: int = NEVER_EXPIRES,
        username: str | None = None,
        password: str | None = None,
        cafile: Path | None = None,
        answerer: CalibrationAnswerer | None = None,
    ) -> None:
        self.db = db
        self.answerer = answerer
        self.host, self.port, self.site = host, port, site
        self.session_expiry = session_expiry
        self.client_id = client_id
        self._inbox: list[tuple[str, bytes]] = []
        self._stop = False
        self.stored = 0
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
        )
        self.client.suppress_exceptions = True
        if username is not None:
            self.client.username_pw_set(username, password)
        if cafile is not None:
            ctx = ssl.create_default_context(cafile=str(cafile))
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            self.client.tls_set_context(ctx)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # Callbacks run inside client.loop() on our own thread; they only record what happened.
    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        try:
            if reason_code.is_failure:
                log.error("broker refused the central's connection: %s", reason_code)
                return
            log.info("connected (session present: %s)", flags.session_present)
            client.subscribe(f"qms/v1/{self.site}/+/record/#", qos=1)
            if self.answerer is not None:
                client.subscribe(self.answerer.subscription, qos=1)
        except Exception:
            log.exception("on_connect failed")

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        try:
            if reason_code.value == SESSION_TAKEN_OVER:
                log.error(
                    "another client with client_id %s took over the session (MQTT v5 reason"
                    " 0x8E Session taken over): give each central its own --client-id",
                    self.client_id,
                )
            elif self._stop or not reason_code.is_failure:
                log.info("disconnected: %s", reason_code)  # ours, or a normal disconnection
            else:
                log.warning("disconnected: %s", reason_code)
        except Exception:
            log.exception("on_disconnect failed")

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg._topic.decode("utf-8", "replace")
            if self.answerer is not None and self.answerer.is_master(topic):
                self.answerer.remember(topic, bytes(msg.payload))
                return
            self._inbox.append((topic, bytes(msg.payload)))
        except Exception:
            log.exception("on_message failed")

    def _connect(self) -> bool:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.session_expiry
        try:
            # Clean Start 0 on every connect, the first included: a central restarted while
            # stations kept publishing finds its queued records waiting in its old session.
            self.client.connect(
                self.host, self.port, keepalive=30, clean_start=False, properties=props
            )
        except (OSError, ssl.SSLError) as exc:
            log.warning("cannot connect to %s:%s: %s", self.host, self.port, exc)
            return False
        return True

    def process_inbox(self) -> None:
        """Store the received batch, commit, then ack each station it touched."""
        batch, self._inbox = self._inbox, []
        if not batch:
            return
        touched: set[tuple[str, str]] = set()
        results = self.db.ingest_many(batch)
        for (topic, _), result in zip(batch, results, strict=True):
            if result.outcome == "stored":
                self.stored += 1
            elif result.outcome == "invalid":
                log.warning("%s %s: %s", result.outcome, topic, result.reason)
            if result.site != "?":
                touched.add((result.site, result.station))
        acks = {key: self.db.ack(*key) for key in sorted(touched)}
        self.db.commit()
        for c in self.db.new_conflicts:
            log.error(
                "CONFLICT %s/%s seq %d: %s; kept for a person (--conflicts), no ack reaches"
                " seq %d until it is resolved (--resolve %s/%s)",
                c.site,
                c.station,
                c.seq,
                c.reason,
                c.seq,
                c.site,
                c.station,
            )
        self.db.new_conflicts.clear()
        for (site, station), ack in acks.items():
            if ack is not None:
                self.client.publish(f"qms/v1/{site}/{station}/ack", json.dumps(ack).encode(), qos=1)
        if self.answerer is not None:  # after the commit: a confirmation of a stored record
            for (topic, payload), result in zip(batch, results, strict=True):
                if result.outcome == "stored" and topic.endswith("/record/calibration"):
                    answer = self.answerer.answer(json.loads(payload))
                    if answer is not None:
                        self.client.publish(answer[0], answer[1], qos=1, retain=True)

    def pump(self, timeout: float, max_messages: int = BATCH_MAX) -> MQTTErrorCode:
        """Wait up to `timeout` for the broker, read the packets there (up to
        `max_messages` records), write, keep alive (`station.sync.pump`).

        Returns paho's error code of the read (MQTT_ERR_SUCCESS while connected).
        """
        return pump(self.client, timeout, max_reads=max_messages, received=lambda: len(self._inbox))

    def stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        self._stop = True

    def run(self) -> None:
        delay = 0.2
        next_try = 0.0
        while not self._stop:
            if self.client.socket() is None:
                now = time.monotonic()
                if now >= next_try:
                    delay = 0.2 if self._connect() else min(delay * 2, 10.0)
                    next_try = now + random.uniform(delay / 2, delay)
                else:
                    time.sleep(min(0.05, next_try - now))
                continue
            rc = self.pump(0.1)
            # Gather a burst for up to BATCH_WINDOW_S: one commit and one ack per station
            # cover it, instead of one fsync and one ack message per record. At most
            # BATCH_MAX, a quarter of the station's ack window (1,000 records): every record
            # of a batch waits for its commit to be acked, and a station whose whole window
            # waits stops publishing; smaller batches keep records queued for the next one
            # (measured: 250 drains faster than 100 or 2,000).
            deadline = time.monotonic() + BATCH_WINDOW_S
            while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and 0 < len(self._inbox) < BATCH_MAX:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                rc = self.pump(left, BATCH_MAX - len(self._inbox))
            self.process_inbox()
            if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN):
                next_try = time.monotonic() + random.uniform(delay / 2, delay)
        if self.client.socket() is not None:
            self.client.disconnect()
            deadline = time.monotonic() + 2.0
            while self.client.socket() is not None and time.monotonic() < deadline:
                self.pump(0.05)


def _password(path: Path | None) -> str | None:
    if path is None:
        return None
    return path.read_text("utf-8").rstrip("\r\n")


def conflict_table(conflicts: list[dict[str, Any]]) -> str:
    """The conflicts as a text table, one line each (for a person at a terminal)."""
    head = ("STATION", "SEQ", "KIND", "HELD", "RECEIVED", "SINCE", "DETAIL")
    rows = [
        (
            f"{c['site']}/{c['station']}",
            str(c["seq"]),
            str(c["kind"]),
            (c["held_hash"] or "?")[:12],
            str(c["got_hash"])[:12],
            str(c["at"]),
            str(c["detail"]),
        )
        for c in conflicts
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]
    lines = [
        "  ".join([*(v.ljust(w) for v, w in zip(r, widths, strict=False)), r[-1]])
        for r in [head, *rows]
    ]
    return "\n".join(lines)


def _offline(path: Path, resolve: str | None) -> int:
    if not path.exists():
        print(f"no central database at {path}", file=sys.stderr)
        return 2
    with CentralDB(path) as db:
        if resolve is None:
            held = db.conflicts()
            print(conflict_table(held) if held else "no conflicts held")
            return 0
        site, _, station = resolve.partition("/")
        if not site or not station:
            print(f"--resolve wants SITE/STATION (got {resolve!r})", file=sys.stderr)
            return 2
        moved = db.resolve(site, station)
        print(
            f"{resolve}: {moved} held records moved to `superseded`; the station's re-sent"
            " records will be stored and acked"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.central",
        description="Reference central QMS: stores station records, acknowledges them.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--site", default="plant-a")
    parser.add_argument("--db", type=Path, required=True, help="the central's SQLite file")
    parser.add_argument("--client-id", default=None, help="default: qms-central-SITE")
    parser.add_argument(
        "--session-expiry",
        type=int,
        default=NEVER_EXPIRES,
        help="MQTT v5 session expiry interval in seconds (default: never)",
    )
    parser.add_argument("--username", default=None)
    parser.add_argument("--password-file", type=Path, default=None)
    parser.add_argument("--cafile", type=Path, default=None, help="CA for TLS (turns TLS on)")
    parser.add_argument(
        "--summary", action="store_true", help="print the JSON summary of --db and exit"
    )
    parser.add_argument(
        "--conflicts", action="store_true", help="print the conflicts held in --db and exit"
    )
    parser.add_argument(
        "--resolve",
        metavar="SITE/STATION",
        default=None,
        help="a person decided: the station's current records win over those held from its"
        " lowest conflict on (moved to `superseded`); then exit",
    )
    parser.add_argument(
        "--answer-calibrations",
        action="store_true",
        help="confirm each passing calibration as a QMS does: publish the instrument again"
        " (retained) with cal_due = next_due and calibrated = its date",
    )
    parser.add_argument(
        "--timezone", default="UTC", help="the site's IANA zone, for the `calibrated` date"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.conflicts or args.resolve:
        return _offline(args.db, args.resolve)

    if args.summary:
        try:
            print(json.dumps(read_summary(args.db), sort_keys=True))
        except FileNotFoundError as exc:
            print(exc, file=sys.stderr)
            return 2
        return 0

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    with CentralDB(args.db) as db:
        central = Central(
            db,
            host=args.host,
            port=args.port,
            site=args.site,
            client_id=args.client_id or f"qms-central-{args.site}",
            session_expiry=args.session_expiry,
            username=args.username,
            password=_password(args.password_file),
            cafile=args.cafile,
            answerer=(
                CalibrationAnswerer(args.site, ZoneInfo(args.timezone), logger=log)
                if args.answer_calibrations
                else None
            ),
        )
        signal.signal(signal.SIGTERM, central.stop)
        signal.signal(signal.SIGINT, central.stop)
        log.info("central for site %s on %s:%s, db %s", args.site, args.host, args.port, args.db)
        central.run()
        log.info("stopped after storing %d new records", central.stored)
        print(json.dumps(db.summary(), sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
