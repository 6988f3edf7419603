"""A plant's fleet on one broker: N stations' sync daemons, one mosquitto, one central QMS.

    .venv/bin/python benchmarks/fleet.py                        # N = 1, 10, 50; 2,000 records each
    .venv/bin/python benchmarks/fleet.py --stations 1,10,50,100 --records 2000 --max-queued 1000

For each N, on loopback, with fresh processes and files:

1. baseline (the central's ceiling, same run, same machine): the central's persistent
   session is created, the central stopped, then one raw paho client publishes the same
   N x records payloads at QoS 1 into the broker (queued there for the central's session);
   the central is started again and timed until its SQLite file holds them all. That is what
   the reference central ingests when nothing upstream limits it.
2. fleet: N stores pre-filled with `Store.append_many` (each its own station id, client id
   and file), then N `station sync -c` processes launched at once (as after a plant-wide
   power cut) with the shipped defaults (ack = "central", max_rate 500 records/s per station,
   20 in flight, resend_after_s 30). Timed from the launch to the moment every store has
   nothing pending (every record acknowledged by the QMS), then checked: the central must
   hold every record of every station, once, no gap, every chain valid, and each station's
   store must match the central record by record (lost = 0).

Reported per N: records/s end to end (from launch and from the last daemon online), the
ratio to the baseline, duplicates, the daemons' CPU seconds and RSS (each and summed), the
central's and mosquitto's RSS. mosquitto's `max_queued_messages` caps the central's queue
(default 1000 in mosquitto; excess is dropped silently and costs a 30 s re-send): the fleet
runs with --max-queued (default 1,000,000) and the figure says so.

`--qms central [--replicas R]`: the fleet drains into `station central` (R replicas on one
shared subscription, a throwaway PostgreSQL 15 cluster, benchmarks/central_bench.py) instead
of `sim.central`; the baseline stays sim.central's ceiling, so the ratio compares the two QMSs,
and the check reads the bridge's database ("duplicates" is n/a: the bridge does not count them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _chaos_report import central_records, compare, station_records
from _harness import (
    SITE,
    TS,
    RssSampler,
    central,
    cpu_s,
    fill_store,
    inspection_body,
    log_mentions,
    machine,
    mosquitto_broker,
    raw_publish,
    station_sync,
    variable,
)

from sim._central_db import read_summary
from sim.net import free_port, wait_until
from sim.supervisor import Supervisor
from station.store import Store

DAEMON_RSS_BOUND_MB = 40.0  # issue 5's goal for one `station sync`


def fleet_body(i: int) -> dict[str, Any]:
    """A realistic inspection: three characteristics as the shipped plan P-1001 rev C has."""
    attr = {"characteristic": "visual-burr", "sample": 1, "kind": "attribute"}
    attr |= {"verdict": "pass", "ts": TS}
    return inspection_body(
        i,
        [
            variable("bore-dia", round(12.34 + 0.01 * (i % 3), 2), 12.35, 12.3, 12.4),
            variable("seat-dia", 25.0, 25.0, 24.95, 25.05),
            attr,
        ],
    )


def station_ids(n: int) -> list[str]:
    return [f"st-{k:03d}" for k in range(1, n + 1)]


def prefill(root: Path, ids: list[str], records: int, port: int) -> float:
    """One folder per station: config + store with `records` inspections. Returns records/s."""
    t0 = time.perf_counter()
    for sid in ids:
        folder = root / sid
        (folder / "data").mkdir(parents=True)
        (folder / "station.toml").write_text(
            f'[station]\nid = "{sid}"\nsite = "{SITE}"\ndata_dir = "data"\n\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nack = "central"\n'
        )
        fill_store(folder / "data" / "station.db", sid, records, fleet_body)
    return len(ids) * records / (time.perf_counter() - t0)


def central_count(db: Path) -> int:
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        try:
            return int(conn.execute("SELECT COUNT(*) FROM records").fetchone()[0])
        except sqlite3.OperationalError:
            return 0  # the central has not created its tables yet


def baseline(work: Path, root: Path, ids: list[str]) -> dict[str, Any]:
    """The central draining a backlog queued for it in the broker (see the module docstring)."""
    payloads: list[tuple[str, bytes]] = []
    for sid in ids:
        with Store.open(root / sid / "data" / "station.db", site=SITE, station=sid) as store:
            after = 0
            while batch := store.records(after_seq=after, limit=5000):
                payloads += [(f"qms/v1/{SITE}/{sid}/record/{r.type}", r.payload()) for r in batch]
                after = batch[-1].seq
    total = len(payloads)
    broker = mosquitto_broker(work, free_port(), max_queued=total + 1000)
    db = work / "central.db"
    qms = central(broker.port, db, work / "central.log")
    try:
        broker.start()
        qms.start()
        wait_until("central session", lambda: _central_up(qms), 30)
        qms.term()
        publish_s = raw_publish(broker.port, payloads, client_id="fleet-raw", inflight=100)
        qms.start()
        t0 = time.monotonic()
        wait_until("central ingest", lambda: central_count(db) >= total, 900, 0.1)
        ingest_s = time.monotonic() - t0
    finally:
        qms.term()
        broker.term()
    return {
        "records": total,
        "raw_publish_per_s": round(total / publish_s),
        "central_ingest_per_s": round(total / ingest_s),
    }


def _central_up(qms: Supervisor) -> bool:
    return log_mentions(qms, "connected (session")


def fleet(
    work: Path,
    root: Path,
    ids: list[str],
    records: int,
    port: int,
    a: argparse.Namespace,
) -> dict[str, Any]:
    """N daemons against one broker and one central; timed and checked."""
    total = len(ids) * records
    broker = mosquitto_broker(work, port, max_queued=a.max_queued)
    db = work / "central.db"
    qmss, pg, count, up = [central(broker.port, db, work / "central.log")], None, None, _central_up
    pg_result: dict[str, Any] = {}
    if a.qms == "central":  # station central on PostgreSQL (see the module docstring)
        from central_bench import Postgres, bridge_proc, pg_check, pg_count

        pg = Postgres()
        dsn = pg.database("fleet")
        qmss = [bridge_proc(work, port, dsn, f"central-{i}") for i in range(1, a.replicas + 1)]
        count = lambda: pg_count(dsn)  # noqa: E731
        up = lambda q: log_mentions(q, "subscribed")  # noqa: E731
    central_count_now = count or (lambda: central_count(db))
    daemons = [station_sync(root / s / "station.toml", root / s / "sync.log") for s in ids]
    roles: dict[str, Any] = {"mosquitto": lambda: broker.pid}
    for q in qmss:
        roles[q.role] = lambda q=q: q.pid
    for sid, d in zip(ids, daemons, strict=True):
        roles[f"sync:{sid}"] = lambda d=d: d.pid
    rss = RssSampler(roles, every=0.5)
    out: dict[str, Any] = {"stations": len(ids), "records": total}
    with contextlib.ExitStack() as stack:
        # Watched through the store's own API, as `station status` and the bench see it.
        stores = [
            stack.enter_context(Store.open(root / s / "data" / "station.db", site=SITE, station=s))
            for s in ids
        ]
        try:
            broker.start()
            for q in qmss:
                q.start()
            wait_until("central connected", lambda: all(up(q) for q in qmss), 30)
            rss.start()
            t0 = time.monotonic()
            for d in daemons:
                d.start()
            out["all_online_s"] = round(
                wait_until(
                    "every daemon online",
                    lambda: all(st.sync_state()[0] for st in stores),
                    300,
                    0.2,
                ),
                1,
            )
            at_online = central_count_now()
            wait_until(
                "fleet drained",
                lambda: all(st.status().pending == 0 for st in stores),
                a.timeout,
                0.2,
            )
            elapsed = time.monotonic() - t0
            out["cpu_s"] = {
                "daemons_total": round(sum(cpu_s(d.pid) for d in daemons), 1),
                "central": round(sum(cpu_s(q.pid) for q in qmss), 1),
                "mosquitto": round(cpu_s(broker.pid), 1),
            }
            if pg is not None:  # its backends' share too, before the bridges close them
                out["cpu_s"]["postgres"] = round(sum(map(cpu_s, pg.processes().values())), 1)
            rss.sample()
            exits = [d.term() for d in daemons]
            out["daemon_exit_codes"] = sorted(set(exits), key=str)
        finally:
            rss.stop()
            for d in daemons:
                d.term()
            for q in qmss:
                q.term()
            broker.term()
            if pg is not None:
                try:
                    if "cpu_s" in out:  # drained: read the database before it goes
                        pg_result = pg_check(dsn, root, ids, records, SITE)
                finally:
                    pg.stop()
    out["drain_s"] = round(elapsed, 1)
    out["per_s_from_launch"] = round(total / elapsed)
    out["at_central_when_all_online"] = at_online
    out["per_s_after_online"] = round(
        (total - at_online) / max(1e-6, elapsed - out["all_online_s"])
    )
    peaks = {r: max(k for _, k in s) / 1024 for r, s in rss.samples.items() if s}
    sync_peaks = [v for r, v in peaks.items() if r.startswith("sync:")]
    out["rss_mb"] = {
        "daemon_peak_max": round(max(sync_peaks), 1),
        "daemon_peak_median": round(statistics.median(sync_peaks), 1),
        "daemons_sum_of_peaks": round(sum(sync_peaks)),
        "central_peak": round(sum(peaks.get(q.role, 0.0) for q in qmss), 1),
        "mosquitto_peak": round(peaks.get("mosquitto", 0.0), 1),
    }
    if a.qms == "central":
        out.update(pg_result)
    else:
        out.update(check(db, root, ids, records))
    return out


def check(db: Path, root: Path, ids: list[str], records: int) -> dict[str, Any]:
    """Every station's store against the central's file, record by record."""
    summ = read_summary(db)
    lost = 0
    for sid in ids:
        with Store.open(root / sid / "data" / "station.db", site=SITE, station=sid) as store:
            lost += compare(station_records(store), central_records(db, SITE, sid))["lost"]
    per = summ["stations"]
    return {
        "unique_at_central": summ["unique"],
        "duplicates": summ["duplicates"],
        "lost": lost,
        "gaps": summ["gaps"],
        "invalid": summ["invalid"],
        "conflicts": summ["conflicts"],
        "chains_valid": summ["chain_valid"],
        "stations_complete": sum(1 for s in per.values() if s["unique"] == records),
    }


def one_n(base: Path, n: int, a: argparse.Namespace) -> dict[str, Any]:
    work = base / f"n{n}"
    root = work / "stations"
    ids = station_ids(n)
    port = free_port()
    fill_rate = prefill(root, ids, a.records, port)
    (work / "baseline").mkdir(parents=True)
    (work / "fleet").mkdir()
    b = baseline(work / "baseline", root, ids)
    f = fleet(work / "fleet", root, ids, a.records, port, a)
    f["baseline"] = b
    f["ratio_to_central_ceiling"] = round(f["per_s_after_online"] / b["central_ingest_per_s"], 2)
    f["prefill_per_s"] = round(fill_rate)
    f["ok"] = (
        f["lost"] == 0
        and f["unique_at_central"] == n * a.records
        and f["gaps"] == f["invalid"] == f["conflicts"] == 0
        and f["chains_valid"]
        and f["stations_complete"] == n
        and f["daemon_exit_codes"] == [0]
        and f["rss_mb"]["daemon_peak_max"] <= DAEMON_RSS_BOUND_MB
    )
    return f


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="benchmarks/fleet.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--stations", default="1,10,50", help="comma-separated N values")
    p.add_argument("--records", type=int, default=2000, help="backlog per station")
    p.add_argument("--max-queued", type=int, default=1_000_000, help="mosquitto setting")
    p.add_argument("--timeout", type=float, default=1800.0, help="drain deadline per N (s)")
    p.add_argument("--qms", choices=("sim", "central"), default="sim", help="the consumer")
    p.add_argument("--replicas", type=int, default=1, help="station central replicas")
    p.add_argument("--workdir", type=Path)
    p.add_argument("--json", type=Path)
    a = p.parse_args(argv)
    # SIGTERM unwinds through the `finally` blocks, which stop every process started here.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    base = a.workdir or Path(tempfile.mkdtemp(prefix="station-fleet-"))
    base.mkdir(parents=True, exist_ok=True)
    results = []
    for n in (int(x) for x in a.stations.split(",")):
        print(f"[{time.strftime('%H:%M:%S')}] N = {n}", file=sys.stderr, flush=True)
        results.append(one_n(base, n, a))
        print(json.dumps(results[-1], sort_keys=True), file=sys.stderr, flush=True)
    print(table(results, a))
    doc = {"results": results, "machine": machine(), "settings": vars(a) | {"workdir": str(base)}}
    text = json.dumps(doc, sort_keys=True, default=str)
    if a.json:
        a.json.write_text(text + "\n")
    print(text)
    ok = all(r["ok"] for r in results)
    if ok and a.workdir is None:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if ok else 1


def table(results: list[dict[str, Any]], a: argparse.Namespace) -> str:
    head = (
        f"{'N':>4} {'records':>8} {'online s':>8} {'drain s':>8} {'rec/s':>7} {'ceiling':>8} "
        f"{'ratio':>6} {'dups':>6} {'lost':>5} {'RSS/daemon':>10} {'RSS all':>8} "
        f"{'central':>8} {'mosq':>6}"
    )
    lines = ["", f"fleet: {a.records} records per station, max_queued {a.max_queued}", head]
    for r in results:
        m = r["rss_mb"]
        lines.append(
            f"{r['stations']:>4} {r['records']:>8,} {r['all_online_s']:>8.1f} {r['drain_s']:>8.1f} "
            f"{r['per_s_after_online']:>7,} {r['baseline']['central_ingest_per_s']:>8,} "
            f"{r['ratio_to_central_ceiling']:>6.2f} {r['duplicates']:>6} {r['lost']:>5} "
            f"{m['daemon_peak_max']:>8.1f}MB {m['daemons_sum_of_peaks']:>6}MB "
            f"{m['central_peak']:>6.1f}MB {m['mosquitto_peak']:>4.0f}MB"
        )
    lines.append("verdict: " + ("PASS" if all(r["ok"] for r in results) else "FAIL"))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
