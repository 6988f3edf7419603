"""The chaos run's attacks (issue 13): what a hostile or broken party on the plant network sends.

- forged acks: a client that may publish on the station's ack topic claims records are stored
  that the QMS never received (`{"seq": last_seq + k, "hash": <random>}`, `{"seq": N}` without
  a hash). The contract (docs/contract/mqtt.md, ack.schema.json) makes the station accept an
  ack only when `hash` equals its own record's hash; a record marked delivered that the
  central does not hold is "forged" and would never be sent again: a lost record.
- poison: retained, malformed messages on the ack and master topics (nesting 100,000 deep,
  1 MiB of text, a 400-digit seq, non-UTF-8 bytes). Retained, so the daemon gets them again on
  every reconnect; a parser that recurses or converts without bounds would crash it each time.
- a shifted clock for the sync daemon: libfaketime (Debian package `faketime`), LD_PRELOADed,
  moves CLOCK_REALTIME only (FAKETIME_DONT_FAKE_MONOTONIC=1, so paho's and the watchdog's
  timers still run). A Raspberry Pi has no real-time clock; a daemon that trusted a clock
  400 days ahead would prune every delivered record as older than `retention_days`.

Everything here talks to the broker directly (127.0.0.1), never through the station's proxy.
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from station.store import Store

FAKETIME_SHIFT = "+400d"
Message = tuple[str, bytes, bool]  # topic, payload, retain


def ack_topic(site: str, station: str) -> str:
    return f"qms/v1/{site}/{station}/ack"


def forged_acks(site: str, station: str, last_seq: int) -> list[Message]:
    """Acks the QMS never sent: seqs ahead of the store, wrong hashes, no hash at all."""
    topic = ack_topic(site, station)

    def ack(doc: dict[str, Any]) -> Message:
        return topic, json.dumps(doc).encode(), False

    out = [ack({"seq": last_seq + k, "hash": secrets.token_hex(32)}) for k in (1, 50, 10_000)]
    out += [ack({"seq": max(1, last_seq), "hash": secrets.token_hex(32)})]  # a real seq
    out += [ack({"seq": last_seq + 100}), ack({"seq": max(1, last_seq)})]  # no hash
    return out


def poison(site: str, station: str) -> list[Message]:
    """Retained junk on the ack topic and on master topics of every kind."""
    deep = b"[" * 100_000 + b"]" * 100_000
    deep_obj = b'{"seq":' * 50_000 + b"1" + b"}" * 50_000
    huge = json.dumps({"seq": 1, "hash": "a" * (1 << 20)}).encode()
    digits = b'{"seq": ' + b"9" * 400 + b', "hash": "' + b"0" * 64 + b'"}'
    floaty = b'{"seq": 1e400, "hash": "' + b"0" * 64 + b'"}'
    binary = b"\xff\xfe\x00garbage\x80"
    ack = ack_topic(site, station)
    master = f"qms/v1/{site}/master"
    return [
        (ack, deep, True),
        (ack, digits, True),
        (f"{master}/plan/P-DEEP", deep_obj, True),
        (f"{master}/instrument/I-HUGE", huge, True),
        (f"{master}/operator/O-DIGITS", digits, True),
        (f"{master}/standard/S-FLOAT", floaty, True),
        (f"{master}/procedure/X-BIN", binary, True),
        (ack, floaty, False),
        (ack, binary, False),
    ]


def cleared(messages: list[Message]) -> list[Message]:
    """Empty retained payloads that remove what `messages` retained (MQTT 5.0 §3.3.1.3)."""
    return [(topic, b"", True) for topic, _, retain in messages if retain]


def publish(port: int, recipe: str, args: list[Any], *, client_id: str, timeout: float = 20) -> int:
    """Publish the messages `RECIPES[recipe](*args)` builds at QoS 1 from a separate process
    (`_publish_here` there); returns how many the broker acknowledged (0 when it is down: the
    attack is then a no-op, which the report shows). The child builds the messages itself, so
    that megabytes of poison are never allocated in the bench process and do not count as its
    RSS growth (CPython keeps freed arenas)."""
    argv = [sys.executable, __file__, str(port), client_id, str(timeout), recipe, json.dumps(args)]
    out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout + 30)
    try:
        return int(out.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return 0


def _publish_here(port: int, messages: list[Message], client_id: str, timeout: float) -> int:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    acked = 0
    done = threading.Event()

    def on_publish(c: mqtt.Client, u: Any, mid: int, rc: Any, p: Any) -> None:
        nonlocal acked
        acked += 1
        if acked == len(messages):
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_publish = on_publish
    try:
        client.connect("127.0.0.1", port)
    except OSError:
        return 0
    client.loop_start()
    try:
        for topic, payload, retain in messages:
            client.publish(topic, payload, qos=1, retain=retain)
        done.wait(timeout)
        return acked
    finally:
        client.disconnect()
        client.loop_stop()


def forged_delivered(store: Store, central_db: Path, site: str, station: str) -> int:
    """Records the station counts as delivered that the central does not hold (same id, hash).

    The store is read first: anything acked before that read is already durable at the
    central (it acks after its insert), so a delivered record missing there was never acked
    by it. Delivered = every record up to `last_seq` that is not pending.
    """
    last = store.last_seq()
    undelivered: set[int] = set()
    after = 0
    while batch := store.pending(after_seq=after, limit=500):
        undelivered.update(r.seq for r in batch)
        after = batch[-1].seq
    ours: dict[int, tuple[str, str]] = {}
    after = 0
    while (batch := store.records(after_seq=after, limit=500)) and after < last:
        ours.update((r.seq, (r.id, r.hash)) for r in batch if r.seq <= last)
        after = batch[-1].seq
    conn = sqlite3.connect(f"file:{central_db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT seq, id, hash FROM records WHERE site = ? AND station = ? AND seq <= ?",
            (site, station, last),
        ).fetchall()
    finally:
        conn.close()
    theirs = {int(s): (str(i), str(h)) for s, i, h in rows}
    return sum(1 for seq, key in ours.items() if seq not in undelivered and theirs.get(seq) != key)


def missing_from_store(store: Store) -> int:
    """Records with seq <= last_seq no longer in the station's store (pruned). In a chaos run
    every record is minutes old, far inside `retention_days`: any of them gone is a defect."""
    last = store.last_seq()  # first: the bench appends meanwhile, and those are not missing
    present = 0
    after = 0
    while (batch := store.records(after_seq=after, limit=500)) and after < last:
        present += sum(1 for r in batch if r.seq <= last)
        after = batch[-1].seq
    return last - present


def faketime_env(shift: str = FAKETIME_SHIFT) -> dict[str, str] | None:
    """The environment that runs a process with its wall clock moved by `shift`, or None when
    libfaketime is not installed (`apt-get install faketime`; .ci/test installs it)."""
    libs = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))
    if not libs:
        return None
    env = dict(os.environ)
    env.update(
        LD_PRELOAD=libs[0],
        FAKETIME=shift,
        FAKETIME_DONT_FAKE_MONOTONIC="1",
        FAKETIME_NO_CACHE="1",
    )
    return env


def clock_events(store: Store) -> int:
    """`event` records the store wrote about an implausible clock (issue 12.17)."""
    n = 0
    after = 0
    while batch := store.records(after_seq=after, limit=500):
        n += sum(1 for r in batch if r.type == "event" and "clock" in json.dumps(r.body))
        after = batch[-1].seq
    return n


def audit(run: Any, name: str) -> int:
    """`AUDITS[name]` over the station's store (opened read-only) and the central's database,
    computed in a child process: the scans read every record, and CPython and SQLite keep the
    memory they touched, which would show as RSS growth of the bench this run measures."""
    argv = [sys.executable, __file__, "audit", name, str(run.cfg.station.db_path)]
    argv += [str(run.central_db), run.site, run.station]
    out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"audit {name} failed: {out.stderr.strip()[-2000:]}")
    return int(out.stdout.strip().splitlines()[-1])


def _audit_here(name: str, db: Path, central_db: Path, site: str, station: str) -> int:
    with Store.open(db, site=site, station=station, readonly=True) as store:
        if name == "forged":
            return forged_delivered(store, central_db, site, station)
        if name == "missing":
            return missing_from_store(store)
        return clock_events(store)


# -- the episodes (called by benchmarks/chaos.py's fault thread with the run and its episode) --


def forged_ack_episode(run: Any, ep: Any, store: Store) -> None:
    """Forged acks during the run; then: is every record marked delivered held centrally?"""
    sent = publish(
        run.broker.port,
        "forged-acks",
        [run.site, run.station, store.last_seq()],
        client_id="chaos-forger",
    )
    run.stop.wait(run.a.outage)  # the daemon has had time to act on them
    ep.detail["sent"] = sent
    ep.detail["forged"] = audit(run, "forged")
    run.forged = max(run.forged, ep.detail["forged"])


def poison_episode(run: Any, ep: Any, store: Store) -> None:
    """Retained poison on the ack and master topics, read again after a forced reconnect."""
    starts = run.sync.starts
    where = [run.site, run.station]
    sent = publish(run.broker.port, "poison", where, client_id="chaos-poisoner", timeout=60)
    run.stop.wait(run.a.outage)
    run.proxy.drop()  # a reconnect: the daemon subscribes again and gets the retained poison
    run.stop.wait(1.0)
    run.proxy.restore()
    run.stop.wait(run.a.outage)
    alive = run.sync.alive() and run.sync.starts == starts
    ep.detail.update(sent=sent, of=POISON_COUNT, sync_alive=alive)
    publish(run.broker.port, "cleared-poison", where, client_id="chaos-poisoner")


def clock_jump_episode(run: Any, ep: Any, store: Store) -> None:
    """The daemon restarted 400 days ahead (retention runs at start), the bench an hour back."""
    before = audit(run, "missing")
    first_seq = store.last_seq() + 1
    env = faketime_env()
    ep.detail["daemon_shift"] = FAKETIME_SHIFT if env is not None else "none (no libfaketime)"
    run.sync.term()
    run.sync.env = env
    run.clock.offset = -_BENCH_JUMP
    try:
        run.sync.start()
        run.stop.wait(max(run.a.outage, 3.0))  # its start-up retention pass has run by now
    finally:
        run.sync.term()
        run.sync.env = None
        run.clock.offset = _ZERO
        ep.detail["shifted_seqs"] = [first_seq, store.last_seq()]  # their ts is an hour back
        run.sync.start()
    ep.detail["bench_shift_s"] = -_BENCH_JUMP.total_seconds()
    ep.detail["pruned"] = audit(run, "missing") - before
    ep.detail["clock_events"] = audit(run, "clock")
    run.pruned += ep.detail["pruned"]


def bounce_episode(run: Any, ep: Any, store: Store) -> None:
    """Every press sends its frame twice in one write for `outage` seconds."""
    stats = run.op.stats
    presses, fabricated = stats.bounced_presses, stats.fabricated
    run.op.bounce = True
    try:
        run.stop.wait(max(run.a.outage, 3.0))
    finally:
        run.op.bounce = False
    ep.detail["bounced_presses"] = stats.bounced_presses - presses
    ep.detail["fabricated"] = stats.fabricated - fabricated


def attack_summary(run: Any) -> dict[str, Any]:
    """The attack columns: each must be 0 (see the module docstring)."""
    final_forged = audit(run, "forged")
    bounce = [ep.detail for ep in run.episodes if ep.kind == "bounce"]
    jumps = [ep.detail for ep in run.episodes if ep.kind == "clock-jump"]
    return {
        "forged": max(run.forged, final_forged),
        "forged_acks_sent": sum(
            int(ep.detail.get("sent", 0)) for ep in run.episodes if ep.kind == "forged-ack"
        ),
        "poison_sent": sum(
            int(ep.detail.get("sent", 0)) for ep in run.episodes if ep.kind == "poison"
        ),
        "sync_crashes": run.sync_crashes,
        "pruned": max(run.pruned, audit(run, "missing")),
        "daemon_clock_shift": sorted({str(d.get("daemon_shift")) for d in jumps}),
        "clock_events": audit(run, "clock"),
        "bounced_presses": run.op.stats.bounced_presses,
        "bounces_seen": run.op.stats.bounces_seen,
        "fabricated": run.op.stats.fabricated,
        "bounce_episodes": len(bounce),
    }


_ZERO = timedelta(0)
_BENCH_JUMP = timedelta(hours=1)
ATTACKS = {
    "forged-ack": forged_ack_episode,
    "poison": poison_episode,
    "clock-jump": clock_jump_episode,
    "bounce": bounce_episode,
}


def cleared_poison(site: str, station: str) -> list[Message]:
    return cleared(poison(site, station))


RECIPES: dict[str, Callable[..., list[Message]]] = {
    "forged-acks": forged_acks,
    "poison": poison,
    "cleared-poison": cleared_poison,
}
POISON_COUNT = 9  # len(poison(...)), without building it here


if __name__ == "__main__" and sys.argv[1:2] == ["audit"]:  # `audit`'s child
    name_arg, db_arg, central_arg, site_arg, station_arg = sys.argv[2:7]
    print(_audit_here(name_arg, Path(db_arg), Path(central_arg), site_arg, station_arg))
elif __name__ == "__main__":  # `publish`'s child: port, client id, timeout, recipe, JSON args
    port_arg, client_arg, timeout_arg, recipe_arg, args_arg = sys.argv[1:6]
    batch = RECIPES[recipe_arg](*json.loads(args_arg))
    print(_publish_here(int(port_arg), batch, client_arg, float(timeout_arg)))
