"""Publish master data the way the central QMS does: one retained QoS 1 message per item.

    python -m sim.publish_master --site plant-a config/master            # every *.json in a folder
    python -m sim.publish_master --site plant-a plan-P-1001.json         # or single files
    python -m sim.publish_master --site plant-a --delete plan P-1001     # empty retained payload

Each file holds one master-data object; its `schema` field names the kind (contract mqtt.md,
"Master data") and its `id` the topic's last level: `qms/v1/{site}/master/{kind}/{id}`.
Files are validated first, with the station's own checks (`station.master`), and nothing is
published when one is invalid (`--no-validate` sends them anyway: that is how the station's
rejection is tested).
An empty retained payload clears the retained message and tells the stations to delete the item.

Exit status: 0 when the broker acknowledged every message with a success code, 1 when it
refused one or did not answer in time, 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from station.master import MASTER_KINDS, parse_json, validate_master
from station.schemas import MASTER_SCHEMA_IDS


class InputError(Exception):
    """A master-data file cannot be published; the message names the file and the problem."""


def master_topic(site: str, kind: str, item_id: str) -> str:
    return f"qms/v1/{site}/master/{kind}/{item_id}"


def load_item(path: Path, *, validate: bool) -> tuple[str, str, bytes]:
    """(kind, id, payload) of one master-data file.

    With `validate`, the file passes the same checks the station applies on arrival
    (`station.master`: strict JSON, schema, semantics), so what is published is accepted.
    """
    raw = path.read_bytes()
    try:
        doc = (parse_json if validate else json.loads)(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise InputError(f"{path}: not UTF-8 JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a JSON object, got {type(doc).__name__}")
    kind = MASTER_SCHEMA_IDS.get(str(doc.get("schema")))
    if kind is None:
        known = ", ".join(sorted(MASTER_SCHEMA_IDS))
        raise InputError(f"{path}: schema: expected one of {known} (got {doc.get('schema')!r})")
    item_id = doc.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise InputError(f"{path}: id: expected a non-empty string (got {item_id!r})")
    if validate:
        problems = validate_master(kind, doc)
        if problems:
            raise InputError(f"{path}: " + "; ".join(problems))
    return kind, item_id, raw


def collect(paths: list[Path], *, validate: bool) -> list[tuple[str, str, bytes]]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(p.glob("*.json"))
        elif p.exists():
            files.append(p)
        else:
            raise InputError(f"{p}: no such file or folder")
    if not files:
        raise InputError("no master-data files (*.json) found in " + ", ".join(map(str, paths)))
    return [load_item(f, validate=validate) for f in files]


def publish_retained(
    messages: list[tuple[str, bytes]],
    *,
    host: str,
    port: int,
    username: str | None = None,
    password: str | None = None,
    cafile: Path | None = None,
    timeout_s: float = 10.0,
) -> list[str]:
    """Publish `(topic, payload)` retained at QoS 1; return one problem per unconfirmed message."""
    results: dict[int, ReasonCode] = {}

    def on_publish(
        client: mqtt.Client, userdata: Any, mid: int, rc: ReasonCode, props: Properties
    ) -> None:
        results[mid] = rc

    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.suppress_exceptions = True
    client.on_publish = on_publish
    if username is not None:
        client.username_pw_set(username, password)
    if cafile is not None:
        ctx = ssl.create_default_context(cafile=str(cafile))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        client.tls_set_context(ctx)
    try:
        client.connect(host, port, keepalive=30)
    except (OSError, ssl.SSLError) as exc:
        return [f"cannot connect to {host}:{port}: {exc}"]
    # Single-threaded: publish() and loop() on this thread, delivery decided by on_publish.
    mids = {client.publish(t, p, qos=1, retain=True).mid: t for t, p in messages}
    deadline = time.monotonic() + timeout_s
    while len(results) < len(mids) and time.monotonic() < deadline:
        if client.loop(timeout=0.1) != mqtt.MQTT_ERR_SUCCESS:
            break
    client.disconnect()
    client.loop(timeout=0.1)
    problems = []
    for mid, topic in mids.items():
        rc = results.get(mid)
        if rc is None:
            problems.append(f"{topic}: no acknowledgement from the broker within {timeout_s}s")
        elif rc.is_failure:
            problems.append(f"{topic}: refused by the broker: {rc}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.publish_master",
        description="Publish master-data JSON files as retained MQTT messages.",
    )
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders of *.json")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--site", default="plant-a")
    parser.add_argument("--delete", nargs=2, metavar=("KIND", "ID"), default=None)
    parser.add_argument("--no-validate", action="store_true", help="publish invalid files too")
    parser.add_argument("--username", default=None)
    parser.add_argument("--password-file", type=Path, default=None)
    parser.add_argument("--cafile", type=Path, default=None, help="CA for TLS (turns TLS on)")
    args = parser.parse_args(argv)

    try:
        if args.delete:
            kind, item_id = args.delete
            if kind not in MASTER_KINDS:
                known = ", ".join(MASTER_KINDS)
                raise InputError(f"--delete: kind must be one of {known} (got {kind!r})")
            messages = [(master_topic(args.site, kind, item_id), b"")]
        elif args.paths:
            items = collect(args.paths, validate=not args.no_validate)
            messages = [(master_topic(args.site, k, i), p) for k, i, p in items]
        else:
            raise InputError("give master-data files or folders, or --delete KIND ID")
    except InputError as exc:
        print(exc, file=sys.stderr)
        return 2
    password = None
    if args.password_file is not None:
        password = args.password_file.read_text("utf-8").rstrip("\r\n")
    problems = publish_retained(
        messages,
        host=args.host,
        port=args.port,
        username=args.username,
        password=password,
        cafile=args.cafile,
    )
    for line in problems:
        print(line, file=sys.stderr)
    for topic, payload in messages:
        if not any(line.startswith((f"{topic}: ", "cannot connect")) for line in problems):
            print(f"{'deleted' if not payload else 'published'} {topic}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
