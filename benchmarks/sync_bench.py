"""Sync daemon throughput and memory, against raw paho on the same broker, in one run.

    .venv/bin/python benchmarks/sync_bench.py [--records 10000]

What it measures (mosquitto started here on a loopback port, persistence off):

1. raw: paho 2.2 publishing the same record payloads at QoS 1 (`loop_start()`, paho's default
   20 in flight), from the first publish() to the last PUBACK. The ceiling for one Python client.
2. `station sync` with ack = "broker": a store holding the backlog, the daemon started as a
   subprocess; from its retained "online" birth message to the moment the store shows no
   record pending (every PUBACK committed as delivered).
3. `station sync` with ack = "central" and `python -m sim.central` running: from the birth to
   the moment the QMS has acked (and the store committed) every record; the central's own
   summary must then show every record once, no gap, chain valid.
4. The daemon's peak resident memory (VmHWM) in each run, and the CPU time (user + system)
   that the daemon, mosquitto and the central each spent during the drain, per record: the
   figure is bounded by whichever of them, or by their sum on the machine's cores.

The daemon runs with its defaults except `max_rate` (raised to 1e6 records/s so that the
backlog rate limit, 500/s by default, does not hide the throughput) and the same in-flight
window as the raw client (20). Figures go to docs/performance.md "## Sync".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from _harness import (
    central,
    cpu_s,
    fill_store,
    inspection_body,
    raw_publish,
    station_sync,
    variable,
)
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from sim._central_db import read_summary
from sim.mosquitto import Mosquitto
from sim.net import wait_until
from station.store import Store


def bench_body(i: int) -> dict[str, Any]:
    """A realistic inspection record: 4 variable characteristics, one sample each."""
    chars = [("bore-dia", 12.35, 12.3, 12.4), ("length", 45.0, 44.9, 45.1)]
    chars += [("width", 20.0, 19.95, 20.05), ("height", 8.0, 7.9, 8.1)]
    return inspection_body(
        i,
        [
            variable(
                name,
                round(nominal + 0.001 * (i % 7), 3),
                nominal,
                lsl,
                usl,
                raw=f"01A+{nominal:010.3f}",
            )
            for name, nominal, lsl, usl in chars
        ],
    )


def raw_paho(port: int, payloads: list[tuple[str, bytes]]) -> float:
    """Messages per second of one plain paho client (the baseline), QoS 1, 20 in flight."""
    return len(payloads) / raw_publish(port, payloads, client_id="bench-raw")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class DaemonRun:
    """One `station sync` drain: its rate, the daemon's peak RSS, and the CPU time each process
    spent during the drain (µs per record), to see who bounds the figure."""

    rate: float
    rss_mb: float
    cpu_us: dict[str, float]


def run_daemon(
    work: Path, port: int, template: Path, n: int, ack: str, others: dict[str, int]
) -> DaemonRun:
    """Time one `station sync` run from its birth message to nothing pending in the store.

    `others` names further processes (broker, central) whose CPU time is reported too.
    """
    root = work / f"station-{ack}"
    (root / "data").mkdir(parents=True)
    db = root / "data" / "station.db"
    shutil.copyfile(template, db)
    cfg = root / "station.toml"
    cfg.write_text(
        '[station]\nid = "bench-01"\nsite = "plant-a"\ndata_dir = "data"\n\n'
        f'[mqtt]\nport = {port}\nack = "{ack}"\nmax_rate = 1000000\n'
    )
    born = threading.Event()
    born_at = 0.0
    pids = dict(others)
    cpu_at_birth: dict[str, float] = {}

    def on_message(c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        nonlocal born_at
        if b'"state":"online"' in msg.payload and not born.is_set():
            born_at = time.perf_counter()
            cpu_at_birth.update({name: cpu_s(pid) for name, pid in pids.items()})
            born.set()

    subscribed = threading.Event()
    watch = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-watch-{ack}", protocol=mqtt.MQTTv5
    )
    watch.on_message = on_message
    watch.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
    watch.connect("127.0.0.1", port)
    watch.loop_start()
    # Retain handling 2 (MQTT v5 §3.8.3.1): the retained "online" of the previous run is not
    # sent, so the first "online" seen is this daemon's birth.
    no_retained = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND)
    watch.subscribe("qms/v1/plant-a/bench-01/status", options=no_retained)
    if not subscribed.wait(10):
        raise RuntimeError("the status watcher got no SUBACK from the broker")
    daemon = station_sync(cfg, root / "sync.log")
    daemon.start()
    assert daemon.pid is not None
    pids["daemon"] = daemon.pid
    try:
        if not born.wait(30):
            raise RuntimeError(f"no birth message from the daemon; see {daemon.log_path}")
        # An index seek rather than a count, so that polling every 10 ms takes the measured
        # processes as little CPU as possible.
        with Store.open(db, site="plant-a", station="bench-01") as store:
            while store.delivered_seq() < n:
                if not daemon.alive():
                    raise RuntimeError(f"daemon exited; see {daemon.log_path}")
                time.sleep(0.01)
            done_at = time.perf_counter()
            cpu = {name: (cpu_s(pid) - cpu_at_birth[name]) / n * 1e6 for name, pid in pids.items()}
            if store.status().pending:
                raise RuntimeError(f"records still pending; see {daemon.log_path}")
        rss = peak_rss_mb(pids["daemon"])
    finally:
        daemon.term(30)
        watch.disconnect()
        watch.loop_stop()
    return DaemonRun(n / (done_at - born_at), rss, cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    args = parser.parse_args()
    n = args.records
    work = Path(tempfile.mkdtemp(prefix="sync-bench-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    broker = Mosquitto(work, max_queued=1_000_000)
    broker.start()
    port = broker.port
    assert broker.proc is not None
    central_db = work / "central.db"
    qms = central(port, central_db, work / "central.log")
    try:
        template = work / "template.db"
        append_rate = fill_store(template, "bench-01", n, bench_body)
        with Store.open(template, site="plant-a", station="bench-01") as store:
            records = store.records(0, n)
        payloads = [(f"qms/v1/plant-a/bench-01/record/{r.type}", r.payload()) for r in records]
        size = sum(len(p) for _, p in payloads) / len(payloads)

        # Raw runs bracket each daemon run and each ratio uses the mean of its two neighbours:
        # on a shared machine the load drifts between phases.
        raw1 = raw_paho(port, payloads)
        on_broker = run_daemon(work, port, template, n, "broker", {"mosquitto": broker.proc.pid})
        raw2 = raw_paho(port, payloads)

        qms.start()

        def central_connected() -> bool:
            if not qms.alive():
                raise RuntimeError(f"central exited; see {qms.log_path}")
            return b"connected (session" in qms.log_path.read_bytes()

        wait_until("central connected", central_connected, 30)
        assert qms.pid is not None
        on_central = run_daemon(
            work,
            port,
            template,
            n,
            "central",
            {"mosquitto": broker.proc.pid, "central": qms.pid},
        )
        qms.term(30)
        raw3 = raw_paho(port, payloads)
        summary = read_summary(central_db)
        exact = summary["unique"] == n and summary["gaps"] == 0 and summary["chain_valid"]
    finally:
        qms.term(30)  # no-op when it already stopped
        broker.stop()

    print(f"sync bench: {n} inspection records, {size:.0f} B each, mosquitto on loopback,")
    print(f"            {os.cpu_count()} CPUs, store appends {append_rate:,.0f} records/s")
    raws = ", ".join(f"{r:,.0f}" for r in (raw1, raw2, raw3))
    print(f"  raw paho QoS 1 (loop_start, 20 in flight)  {raws} msg/s (before, between, after)")
    for label, run, raw_mean in (
        ("ack=broker", on_broker, (raw1 + raw2) / 2),
        ("ack=central (+ sim.central)", on_central, (raw2 + raw3) / 2),
    ):
        print(
            f"  station sync {label:<29} {run.rate:>9,.0f} records/s  ratio"
            f" {run.rate / raw_mean:.2f}  peak RSS {run.rss_mb:.1f} MB"
        )
        cpu = ", ".join(f"{name} {us:.0f}" for name, us in run.cpu_us.items())
        print(f"      CPU µs per record while draining: {cpu}")
    print(
        f"  central holds {summary['unique']} unique, {summary['duplicates']} duplicates seen,"
        f" gaps {summary['gaps']}, chain valid {summary['chain_valid']}"
    )
    figures = {"raw": [raw1, raw2, raw3], "broker": on_broker.rate, "central": on_central.rate}
    print(json.dumps(figures))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
