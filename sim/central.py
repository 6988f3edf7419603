"""A reference central QMS: the consumer side of the MQTT contract, for tests, the demo and
integrators (what a plant's QMS adapter would start from).

    python -m sim.central --host 127.0.0.1 --port 1883 --site plant-a --db central.db
    python -m sim.central --summary --db central.db

It subscribes to `qms/v1/{site}/+/record/#` (QoS 1) and stores one record per `id` in its own
SQLite file (`sim._central_db`), validating each against the contract's schema and hash. Then,
and only after the commit, it acknowledges to each station with `{"seq": N}` on
`qms/v1/{site}/{station}/ack` (QoS 1), N being the highest contiguous seq it holds. It
re-acknowledges on duplicates too, since an ack sent while a station was offline is lost
(stations connect with a clean session).

The broker's PUBACK, by contrast, is sent by paho on receipt (no `manual_ack`): the station's
record stays pending until the station ack above, so a record the central received but did
not commit before a crash is simply published again by the station after `resend_after_s`.
Acking the broker only after the commit would hold the central to mosquitto's 20 in-flight
messages per round trip (`max_inflight_messages`), a fifth of the throughput measured here.

Its MQTT v5 session is persistent (Clean Start 0 on every connect, Session Expiry Interval set),
so the broker queues records while the central is down. Mosquitto caps that queue per client
(`max_queued_messages`, default 1000, excess silently dropped, tech.md §2/§3); the stations
re-publish whatever stays unacknowledged, so a dropped message costs time, never a record.

The process is single-threaded: `client.loop()` runs in the main loop, callbacks only append
to a list, the loop commits a batch and then acknowledges it. SIGTERM/SIGINT stop it cleanly
and print the summary as one JSON line on stdout.
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
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from sim._central_db import CentralDB, read_summary

log = logging.getLogger("sim.central")

NEVER_EXPIRES = 0xFFFFFFFF  # MQTT v5 §3.1.2.11.2: the session does not expire
BATCH_MAX = 2000  # messages per transaction at most
BATCH_WINDOW_S = 0.05  # how long a batch gathers before its commit and acks


@dataclass(frozen=True)
class _Received:
    topic: str
    payload: bytes


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
    ) -> None:
        self.db = db
        self.host, self.port, self.site = host, port, site
        self.session_expiry = session_expiry
        self._inbox: list[_Received] = []
        self._connected = False
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
            self._connected = True
            log.info("connected (session present: %s)", flags.session_present)
            client.subscribe(f"qms/v1/{self.site}/+/record/#", qos=1)
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
            self._connected = False
            log.warning("disconnected: %s", reason_code)
        except Exception:
            log.exception("on_disconnect failed")

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self._inbox.append(_Received(msg._topic.decode("utf-8", "replace"), bytes(msg.payload)))
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
        touched: dict[tuple[str, str], bool] = defaultdict(bool)
        for item in batch:
            result = self.db.ingest(item.topic, item.payload)
            if result.outcome == "stored":
                self.stored += 1
            elif result.outcome in ("invalid", "conflict"):
                log.warning("%s %s: %s", result.outcome, item.topic, result.reason)
            if result.site != "?":
                touched[(result.site, result.station)] = True
        acks = {key: self.db.advance(*key) for key in touched}
        self.db.commit()
        for (site, station), seq in acks.items():
            self.client.publish(
                f"qms/v1/{site}/{station}/ack", json.dumps({"seq": seq}).encode(), qos=1
            )

    def stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        self._stop = True

    def run(self) -> None:
        delay = 0.2
        next_try = 0.0
        while not self._stop:
            if self.client.socket() is None:
                self._connected = False
                now = time.monotonic()
                if now >= next_try:
                    delay = 0.2 if self._connect() else min(delay * 2, 10.0)
                    next_try = now + random.uniform(delay / 2, delay)
                else:
                    time.sleep(min(0.05, next_try - now))
                continue
            rc = self.client.loop(timeout=0.1)
            # Gather a burst for up to BATCH_WINDOW_S: one commit and one ack per station
            # cover it, instead of one fsync and one ack message per record.
            deadline = time.monotonic() + BATCH_WINDOW_S
            while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and 0 < len(self._inbox) < BATCH_MAX:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                rc = self.client.loop(timeout=left)
            self.process_inbox()
            if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN):
                next_try = time.monotonic() + random.uniform(delay / 2, delay)
        if self.client.socket() is not None:
            self.client.disconnect()
            deadline = time.monotonic() + 2.0
            while self.client.socket() is not None and time.monotonic() < deadline:
                self.client.loop(timeout=0.05)


def _password(path: Path | None) -> str | None:
    if path is None:
        return None
    return path.read_text("utf-8").rstrip("\r\n")


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
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)

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
