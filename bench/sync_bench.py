"""Sync daemon throughput and memory, against raw paho on the same broker, in one run.

    .venv/bin/python bench/sync_bench.py [--records 10000]

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
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from sim._central_db import read_summary
from sim.mosquitto import Mosquitto
from sim.net import wait_until
from station.store import Store

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TS = "2026-11-21T22:04:09.512Z"


def inspection_body(i: int) -> dict[str, Any]:
    """A realistic inspection record: 4 variable characteristics, one sample each."""
    chars = [("bore-dia", 12.35, 12.3, 12.4), ("length", 45.0, 44.9, 45.1)]
    chars += [("width", 20.0, 19.95, 20.05), ("height", 8.0, 7.9, 8.1)]
    measurements = [
        {
            "characteristic": name,
            "sample": 1,
            "kind": "variable",
            "value": round(nominal + 0.001 * (i % 7), 3),
            "unit": "mm",
            "raw": f"01A+{nominal:010.3f}",
            "nominal": nominal,
            "lsl": lsl,
            "usl": usl,
            "rule": "simple",
            "u": None,
            "verdict": "pass",
            "instrument": "CAL-0042",
            "cal_due": "2027-06-30",
            "ts": TS,
        }
        for name, nominal, lsl, usl in chars
    ]
    return {
        "plan": {"id": "P-1001", "rev": "C"},
        "part": {"number": "PN-778", "serial": f"SN-{i:07d}", "lot": "L42", "scan": None},
        "operator": "op-17",
        "reason": "production",
        "started": TS,
        "completed": TS,
        "result": "accept",
        "measurements": measurements,
    }


def build_backlog(path: Path, n: int) -> float:
    t0 = time.perf_counter()
    with Store.open(path, site="plant-a", station="bench-01") as store:
        for start in range(0, n, 500):
            count = min(500, n - start)
            store.append_many([("inspection", inspection_body(start + k)) for k in range(count)])
    return n / (time.perf_counter() - t0)


def raw_paho(port: int, payloads: list[tuple[str, bytes]]) -> float:
    done = threading.Event()
    acked = 0

    def on_publish(c: mqtt.Client, u: Any, mid: int, rc: Any, p: Any) -> None:
        nonlocal acked
        acked += 1
        if acked == len(payloads):
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw", protocol=mqtt.MQTTv5)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    while not client.is_connected():
        time.sleep(0.01)
    t0 = time.perf_counter()
    for topic, payload in payloads:
        client.publish(topic, payload, qos=1)
    if not done.wait(300):
        raise RuntimeError(f"raw paho: only {acked} of {len(payloads)} PUBACKs")
    elapsed = time.perf_counter() - t0
    client.disconnect()
    client.loop_stop()
    return len(payloads) / elapsed


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by process `pid` (proc(5): utime, stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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

    watch = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-watch-{ack}", protocol=mqtt.MQTTv5
    )
    watch.on_message = on_message
    watch.connect("127.0.0.1", port)
    watch.loop_start()
    watch.subscribe("qms/v1/plant-a/bench-01/status", qos=1)
    time.sleep(0.3)
    born.clear()  # a retained "online" from the previous run does not count
    log = (root / "sync.log").open("wb")
    daemon = subprocess.Popen([str(BIN / "station"), "sync", "-c", str(cfg)], stderr=log)
    pids["daemon"] = daemon.pid
    try:
        if not born.wait(30):
            raise RuntimeError(f"no birth message from the daemon; see {root / 'sync.log'}")
        # An index seek rather than a count, so that polling every 10 ms takes the measured
        # processes as little CPU as possible.
        with Store.open(db, site="plant-a", station="bench-01") as store:
            while store.delivered_seq() < n:
                if daemon.poll() is not None:
                    raise RuntimeError(f"daemon exited; see {root / 'sync.log'}")
                time.sleep(0.01)
            done_at = time.perf_counter()
            cpu = {name: (cpu_s(pid) - cpu_at_birth[name]) / n * 1e6 for name, pid in pids.items()}
            if store.status().pending:
                raise RuntimeError(f"records still pending; see {root / 'sync.log'}")
        rss = peak_rss_mb(daemon.pid)
    finally:
        daemon.terminate()
        daemon.wait(30)
        log.close()
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
    central: subprocess.Popen[bytes] | None = None
    try:
        template = work / "template.db"
        append_rate = build_backlog(template, n)
        with Store.open(template, site="plant-a", station="bench-01") as store:
            records = store.records(0, n)
        payloads = [(f"qms/v1/plant-a/bench-01/record/{r.type}", r.payload()) for r in records]
        size = sum(len(p) for _, p in payloads) / len(payloads)

        # Raw runs bracket each daemon run and each ratio uses the mean of its two neighbours:
        # on a shared machine the load drifts between phases.
        raw1 = raw_paho(port, payloads)
        on_broker = run_daemon(work, port, template, n, "broker", {"mosquitto": broker.proc.pid})
        raw2 = raw_paho(port, payloads)

        central_db = work / "central.db"
        central_log = (work / "central.log").open("wb")
        central = subprocess.Popen(
            [
                *(sys.executable, "-m", "sim.central", "--port", str(port)),
                *("--db", str(central_db), "--client-id", f"bench-{uuid.uuid4().hex[:8]}"),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=central_log,
        )
        central_log.close()  # the child holds its own descriptor
        started = central

        def central_connected() -> bool:
            if started.poll() is not None:
                raise RuntimeError(f"central exited; see {work / 'central.log'}")
            return b"connected (session" in (work / "central.log").read_bytes()

        wait_until("central connected", central_connected, 30)
        on_central = run_daemon(
            work,
            port,
            template,
            n,
            "central",
            {"mosquitto": broker.proc.pid, "central": central.pid},
        )
        central.terminate()
        central.wait(30)
        central = None
        raw3 = raw_paho(port, payloads)
        summary = read_summary(central_db)
        exact = summary["unique"] == n and summary["gaps"] == 0 and summary["chain_valid"]
    finally:
        if central is not None:
            central.terminate()
            central.wait(30)
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
