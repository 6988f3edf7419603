"""`station central` throughput against `sim.central` and raw paho, in one run.

    .venv/bin/python benchmarks/central_bench.py [--records 10000]

What it measures (mosquitto and a PostgreSQL 15 cluster started here on loopback ports; the
cluster runs with its defaults, fsync and synchronous_commit on):

1. raw: paho 2.2 publishing the same record payloads at QoS 1, 20 in flight (the ceiling for
   one Python client), before, between and after the runs below; each ratio uses the mean of
   the two raw runs around it (on a shared machine the load drifts between phases).
2. `station sync` (ack = "central") draining a store of N inspection records, timed from its
   birth message to the moment its store shows every record acked, with the QMS being:
   `python -m sim.central` (SQLite, one process); `station central` with one replica; with
   two replicas on one shared subscription (each on a fresh database). Like with like: the
   same store copy, the same station settings (benchmarks/sync_bench.py `run_daemon`: defaults
   but max_rate), the same broker.
3. The CPU time (user + system) per record while draining, of every process involved: the
   station daemon, mosquitto, the QMS, and for `station central` the PostgreSQL server
   processes too (sim.central's SQLite runs inside its own process), so "QMS CPU" compares
   the whole consumer side.

`--runs sim,x1,x2` picks the runs; `--batch-max` and `--batch-window` set the bridge's
`[central]` batch keys (default: the bridge's defaults).
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

    def processes(self) -> dict[str, int]:
        """The server's processes (postmaster and its children: backends, WAL writer, ...)."""
        out = {"pg": self.proc.pid}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat.read_text().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == self.proc.pid:
                out[f"pg-{stat.parent.name}"] = int(stat.parent.name)
        return out


def bridge_proc(work: Path, port: int, dsn: str, name: str, extra: str = "") -> Supervisor:
    """One `station central` replica (client id `name`) for site plant-a, not started."""
    cfg = work / f"{name}.toml"
    cfg.write_text(
        f'[central]\ngroup = "qms"\nsites = ["plant-a"]\n{extra}\n[postgres]\ndsn = "{dsn}"'
        f'\n\n[mqtt]\nport = {port}\nclient_id = "{name}"\n'
    )
    argv = [PYTHON, "-m", "station.central", "-c", str(cfg)]
    if os.environ.get("CENTRAL_BENCH_PROFILE"):  # cProfile of the replica's main thread
        out = Path(os.environ["CENTRAL_BENCH_PROFILE"]) / f"{name}.prof"
        argv[1:1] = ["-m", "cProfile", "-o", str(out)]
    return Supervisor(name, argv, work / f"{name}.log", cwd=ROOT, mark_starts=True)


def bridge(work: Path, port: int, dsn: str, name: str, extra: str = "") -> Supervisor:
    proc = bridge_proc(work, port, dsn, name, extra)
    proc.start()
    proc.wait_ready(lambda: b"subscribed" in proc.log_path.read_bytes(), 30, f"{name} ready")
    return proc


# -- what benchmarks/fleet.py --qms central reads from the bridge's database ---------------------


def pg_count(dsn: str) -> int:
    """Records stored (0 while the bridge has not created its tables yet)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            row = conn.execute("SELECT count(*) FROM records").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(row[0]) if row else 0


def pg_check(dsn: str, root: Path, ids: list[str], records: int, site: str) -> dict[str, object]:
    """Every station's store against the database, record by record (fleet.py `check`)."""
    import psycopg
    from _chaos_report import compare, station_records

    lost, complete, gaps, chains = 0, 0, 0, True
    with psycopg.connect(dsn, autocommit=True) as conn:
        unique = int(str(conn.execute("SELECT count(*) FROM records").fetchone()[0]))  # type: ignore[index]
        for sid in ids:
            rows = conn.execute(
                "SELECT seq, id, hash, received_at::text FROM records"
                " WHERE site = %s AND station = %s",
                (site, sid),
            ).fetchall()
            theirs = {int(s): (str(i), str(h), str(at)) for s, i, h, at in rows}
            with Store.open(root / sid / "data" / "station.db", site=site, station=sid) as store:
                ours = station_records(store)
                last = store.status().last_seq
            lost += int(str(compare(ours, theirs)["lost"]))
            gaps += (max(theirs, default=0) - len(theirs)) if theirs else 0
            complete += len(theirs) == records
            # The bridge acks only along an unbroken chain (store.ADVANCE_SQL): delivered_seq
            # at the last seq means the whole chain linked, record by record.
            got = conn.execute(
                "SELECT delivered_seq FROM station_status WHERE site = %s AND station = %s",
                (site, sid),
            ).fetchone()
            chains = chains and got is not None and int(str(got[0])) == last
        invalid = int(str(conn.execute("SELECT count(*) FROM rejects").fetchone()[0]))  # type: ignore[index]
        conflicts = int(str(conn.execute("SELECT count(*) FROM conflicts").fetchone()[0]))  # type: ignore[index]
    return {
        "unique_at_central": unique,
        "duplicates": "n/a",  # the bridge drops a duplicate without counting it in the database
        "lost": lost,
        "gaps": gaps,
        "invalid": invalid,
        "conflicts": conflicts,
        "chains_valid": chains,
        "stations_complete": complete,
    }


def raw_paho(port: int, payloads: list[tuple[str, bytes]]) -> float:
    return len(payloads) / raw_publish(port, payloads, client_id="central-bench-raw")


def qms_cpu(cpu: dict[str, float]) -> float:
    """CPU µs per record of the consumer side: everything but the station and the broker."""
    return sum(us for name, us in cpu.items() if name not in ("daemon", "mosquitto"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", default="sim,x1,x2", help="comma-separated: sim, x1, x2")
    parser.add_argument("--batch-max", type=int, default=None)
    parser.add_argument("--batch-window", type=float, default=None)
    args = parser.parse_args()
    n = args.records
    wanted = args.runs.split(",")
    extra = ""
    if args.batch_max is not None:
        extra += f"batch_max = {args.batch_max}\n"
    if args.batch_window is not None:
        extra += f"batch_window_s = {args.batch_window}\n"
    work = Path(tempfile.mkdtemp(prefix="central-bench-"))
    broker = Mosquitto(work, max_queued=1_000_000)
    broker.start()
    assert broker.proc is not None
    mosq = {"mosquitto": broker.proc.pid}
    pg = Postgres()
    raws: list[float] = []
    # label -> (records/s, CPU µs per record by process, index of the raw run before it)
    runs: dict[str, tuple[float, dict[str, float], int]] = {}
    try:
        template = work / "template.db"
        fill_store(template, "bench-01", n, bench_body)
        with Store.open(template, site="plant-a", station="bench-01") as store:
            payloads = [
                (f"qms/v1/plant-a/bench-01/record/{r.type}", r.payload())
                for r in store.records(0, n)
            ]
        raws.append(raw_paho(broker.port, payloads))

        if "sim" in wanted:
            sim_dir = work / "sim"
            sim_dir.mkdir()
            qms = central(broker.port, sim_dir / "central.db", sim_dir / "central.log")
            qms.start()
            qms.wait_ready(lambda: b"connected (session" in qms.log_path.read_bytes(), 30, "sim")
            assert qms.pid is not None
            pids = {**mosq, "sim.central": qms.pid}
            run = run_daemon(sim_dir, broker.port, template, n, "central", pids)
            runs["sim.central"] = (run.rate, run.cpu_us, len(raws) - 1)
            qms.term(30)
            raws.append(raw_paho(broker.port, payloads))

        for replicas in (1, 2):
            if f"x{replicas}" not in wanted:
                continue
            d = work / f"bridge{replicas}"
            d.mkdir()
            dsn = pg.database(f"qms{replicas}")
            procs = [bridge(d, broker.port, dsn, f"r{i}", extra) for i in range(1, replicas + 1)]
            pids = {**mosq, **{p.role: p.pid for p in procs if p.pid is not None}}
            pids.update(pg.processes())
            run = run_daemon(d, broker.port, template, n, "central", pids)
            runs[f"station central x{replicas}"] = (run.rate, run.cpu_us, len(raws) - 1)
            for p in procs:
                p.term(30)
            raws.append(raw_paho(broker.port, payloads))
    finally:
        pg.stop()
        broker.stop()
    size = sum(len(p) for _, p in payloads) / len(payloads)
    print(
        f"central bench: {n} inspection records, {size:.0f} B each, mosquitto + PostgreSQL 15"
        f" on loopback, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    shown = ", ".join(f"{r:,.0f}" for r in raws)
    print(f"  raw paho QoS 1 (20 in flight)   {shown} msg/s (before, between, after the runs)")
    for label, (rate, cpu, k) in runs.items():
        raw = (raws[k] + raws[k + 1]) / 2
        pg_us = sum(us for name, us in cpu.items() if name.startswith("pg"))
        who = {name: us for name, us in cpu.items() if not name.startswith("pg")}
        if pg_us:
            who["postgres"] = pg_us
        print(
            f"  station sync -> {label:<22} {rate:>8,.0f} records/s  ratio {rate / raw:.2f}"
            f"  QMS CPU {qms_cpu(cpu):.0f} µs/record"
        )
        print("      CPU µs per record: " + ", ".join(f"{k} {v:.0f}" for k, v in who.items()))
    print(json.dumps({"raw": raws, **{k: v[0] for k, v in runs.items()}}))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
