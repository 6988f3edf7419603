"""`station central` throughput against `sim.central` and raw paho, in one run.

    .venv/bin/python benchmarks/central_bench.py [--records 10000]

What it measures (mosquitto and a PostgreSQL 15 cluster started here on loopback ports; the
cluster runs with its defaults, fsync and synchronous_commit on):

1. raw: paho 2.2 publishing the same record payloads at QoS 1, 20 in flight (the ceiling for
   one Python client), before and after the runs below.
2. `station sync` (ack = "central") draining a store of N inspection records, timed from its
   birth message to the moment its store shows every record acked, with the QMS being:
   `python -m sim.central` (SQLite, one process); `station central` with one replica; with
   two replicas on one shared subscription (each run on a fresh database).
3. The ratio of each to the mean of the raw runs (the issue's goal: >= 0.6 with one replica)
   and the CPU time (user + system) of the QMS processes per record while draining.

`station sync` runs as in benchmarks/sync_bench.py (its `run_daemon`, max_rate raised).
Not measured here yet: the fleet bench (50 stations) through the bridge.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from _harness import PYTHON, ROOT, central, fill_store, raw_publish
from sync_bench import bench_body, run_daemon

from sim.mosquitto import Mosquitto
from sim.net import free_port, wait_until
from sim.supervisor import Supervisor
from station.store import Store

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


class Postgres:
    """A throwaway cluster; under root it belongs to the `postgres` account (initdb refuses
    root)."""

    def __init__(self) -> None:
        self.user = "postgres" if os.geteuid() == 0 else None
        self.dir = Path(tempfile.mkdtemp(prefix="central-bench-pg-", dir="/tmp"))
        if self.user:
            shutil.chown(self.dir, self.user, self.user)
        self.port = free_port()
        subprocess.run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.dir / "data"),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            capture_output=True,
            user=self.user,
        )
        log = (self.dir / "pg.log").open("ab")
        self.proc = subprocess.Popen(
            [
                str(PG_BIN / "postgres"),
                "-D",
                str(self.dir / "data"),
                "-p",
                str(self.port),
                "-k",
                str(self.dir),
                "-c",
                "listen_addresses=127.0.0.1",
            ],
            stdout=log,
            stderr=log,
            user=self.user,
        )
        probe = [str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        wait_until("postgres ready", lambda: subprocess.run(probe, check=False).returncode == 0, 30)

    def database(self, name: str) -> str:
        psql = [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        subprocess.run([*psql, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(30)
        shutil.rmtree(self.dir, ignore_errors=True)


def bridge(work: Path, port: int, dsn: str, name: str) -> Supervisor:
    cfg = work / f"{name}.toml"
    cfg.write_text(
        f'[central]\ngroup = "qms"\nsites = ["plant-a"]\n\n[postgres]\ndsn = "{dsn}"'
        f'\n\n[mqtt]\nport = {port}\nclient_id = "{name}"\n'
    )
    argv = [PYTHON, "-m", "station.central", "-c", str(cfg)]
    proc = Supervisor(name, argv, work / f"{name}.log", cwd=ROOT, mark_starts=True)
    proc.start()
    proc.wait_ready(lambda: b"subscribed" in proc.log_path.read_bytes(), 30, f"{name} ready")
    return proc


def raw_paho(port: int, payloads: list[tuple[str, bytes]]) -> float:
    return len(payloads) / raw_publish(port, payloads, client_id="central-bench-raw")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    n = args.records
    work = Path(tempfile.mkdtemp(prefix="central-bench-"))
    broker = Mosquitto(work, max_queued=1_000_000)
    broker.start()
    assert broker.proc is not None
    pg = Postgres()
    runs: dict[str, tuple[float, dict[str, float]]] = {}
    try:
        template = work / "template.db"
        fill_store(template, "bench-01", n, bench_body)
        with Store.open(template, site="plant-a", station="bench-01") as store:
            payloads = [
                (f"qms/v1/plant-a/bench-01/record/{r.type}", r.payload())
                for r in store.records(0, n)
            ]
        raw1 = raw_paho(broker.port, payloads)

        sim_dir = work / "sim"
        sim_dir.mkdir()
        qms = central(broker.port, sim_dir / "central.db", sim_dir / "central.log")
        qms.start()
        qms.wait_ready(lambda: b"connected (session" in qms.log_path.read_bytes(), 30, "sim")
        assert qms.pid is not None
        run = run_daemon(sim_dir, broker.port, template, n, "central", {"sim.central": qms.pid})
        runs["sim.central"] = (run.rate, run.cpu_us)
        qms.term(30)

        for replicas in (1, 2):
            d = work / f"bridge{replicas}"
            d.mkdir()
            dsn = pg.database(f"qms{replicas}")
            procs = [bridge(d, broker.port, dsn, f"r{i}") for i in range(1, replicas + 1)]
            pids = {p.role: p.pid for p in procs if p.pid is not None}
            run = run_daemon(d, broker.port, template, n, "central", pids)
            runs[f"station central x{replicas}"] = (run.rate, run.cpu_us)
            for p in procs:
                p.term(30)
        raw2 = raw_paho(broker.port, payloads)
    finally:
        pg.stop()
        broker.stop()
    raw = (raw1 + raw2) / 2
    size = sum(len(p) for _, p in payloads) / len(payloads)
    print(
        f"central bench: {n} inspection records, {size:.0f} B each, mosquitto + PostgreSQL 15"
        f" on loopback, {os.cpu_count()} CPUs"
    )
    print(f"  raw paho QoS 1 (20 in flight)   {raw1:,.0f}, {raw2:,.0f} msg/s (before, after)")
    for label, (rate, cpu) in runs.items():
        qms_us = sum(us for name, us in cpu.items() if name not in ("daemon", "mosquitto"))
        print(
            f"  station sync -> {label:<22} {rate:>8,.0f} records/s  ratio {rate / raw:.2f}"
            f"  QMS CPU {qms_us:.0f} µs/record"
        )
    print(json.dumps({"raw": [raw1, raw2], **{k: v[0] for k, v in runs.items()}}))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
