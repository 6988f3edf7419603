"""Export benchmark (issue 18): measurements exported per second and peak RSS, CSV and DFQ.

    python benchmarks/export_bench.py [--measurements 100000,1000000] [--workdir DIR]

For each size, a store of inspections (5 variable measurements each, plan P-1001 rev C, over
30 site days) is built once in --workdir (reused when it already holds that many), then each
export runs in a child process of its own, so that its peak RSS (VmHWM) is the export's
alone:

- `station export csv` and `station export dfq` through the real CLI code (`station.cli`);
- the raw baseline of the same run: plain sqlite3 reading the same envelopes in seq order,
  `json.loads` and `csv.writer` of the same five fields per measurement, no station code.

Printed: measurements per wall-clock second, per CPU second of the child (user + system:
the figure to compare when other work shares the cores; the load average is printed), the
ratio to the raw baseline, and peak RSS in MB. Goals (issue 18): >= 50,000 measurements/s and
RSS under 60 MB at both sizes. The store is built with `Store.append_many` (the bulk path, one
transaction per 5,000 inspections); its build time is printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PER_INSPECTION = 5
CONFIG = """[station]
id = "bench-01"
site = "plant-a"
data_dir = "data"
timezone = "Europe/Berlin"
"""


def body(i: int, start: datetime) -> dict[str, Any]:
    ts = (
        (start + timedelta(seconds=26 * i))
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
    ms = [
        {
            "characteristic": "bore-dia",
            "sample": k + 1,
            "kind": "variable",
            "value": round(12.3 + (i * 7 + k) % 100 / 1000, 3),
            "unit": "mm",
            "raw": f"01A+{12.3 + (i * 7 + k) % 100 / 1000:011.3f}",
            "nominal": 12.35,
            "lsl": 12.3,
            "usl": 12.4,
            "rule": "simple",
            "u": None,
            "verdict": "pass",
            "instrument": "CAL-0042",
            "cal_due": "2027-06-30",
            "ts": ts,
        }
        for k in range(PER_INSPECTION)
    ]
    return {
        "plan": {"id": "P-1001", "rev": "C"},
        "part": {"number": "PN-778", "serial": f"SN-{i:07d}", "lot": f"L{i // 500}"},
        "operator": "op-17",
        "reason": "production",
        "started": ts,
        "completed": ts,
        "result": "accept",
        "measurements": ms,
    }


def build(work: Path, measurements: int) -> Path:
    """The config of a bench whose store holds `measurements` (built once, then reused)."""
    from station.master import load_master_dir
    from station.store import Store

    bench = work / f"m{measurements}"
    cfg = bench / "station.toml"
    db = bench / "data" / "station.db"
    n = measurements // PER_INSPECTION
    (bench / "data").mkdir(parents=True, exist_ok=True)
    cfg.write_text(CONFIG, "utf-8")
    built = bench / "built"
    if built.exists() and built.read_text() == str(n):
        return cfg
    db.unlink(missing_ok=True)
    with Store.open(db, site="plant-a", station="bench-01") as store:
        docs, _ = load_master_dir(ROOT / "config" / "master")
        store.bootstrap_master((d.kind, d.id, d.doc) for d in docs)
        start = datetime(2026, 11, 1, tzinfo=UTC)
        t0 = time.monotonic()
        for lo in range(0, n, 5000):
            hi = min(n, lo + 5000)
            store.append_many([("inspection", body(i, start)) for i in range(lo, hi)])
        print(f"  built {n:,} inspections in {time.monotonic() - t0:.0f} s", flush=True)
    built.write_text(str(n))
    return cfg


def child_station(fmt: str, cfg: Path, out: Path) -> None:
    from station.cli import main

    args = ["export", fmt, "-c", str(cfg), "--out", str(out), "--force"]
    try:
        main(args, standalone_mode=False)
    except SystemExit as exc:  # pragma: no cover - reported by the parent
        if exc.code:
            raise


def child_raw(cfg: Path, out: Path) -> None:
    db = cfg.parent / "data" / "station.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    with (out / "raw.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        after = 0
        while rows := conn.execute(
            "SELECT seq, envelope FROM records WHERE type = 'inspection' AND seq > ? "
            "ORDER BY seq LIMIT 500",
            (after,),
        ).fetchall():
            for seq, text in rows:
                b = json.loads(text)["body"]
                for m in b["measurements"]:
                    w.writerow((seq, m["ts"], m["characteristic"], m["value"], m["verdict"]))
            after = rows[-1][0]


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not `ru_maxrss`: Linux carries that over fork and
    exec, so a child of the process that built the store would report the builder's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_child(kind: str, cfg: Path, out: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MB) of one export in a fresh interpreter."""
    argv = [sys.executable, __file__, "--child", kind, str(cfg), str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    secs, cpu, rss = done.stdout.strip().splitlines()[-1].split()
    return float(secs), float(cpu), float(rss)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--measurements", default="100000,1000000")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/export-bench"))
    p.add_argument("--child", nargs=3, metavar=("KIND", "CONFIG", "OUT"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        kind, cfg, out = a.child[0], Path(a.child[1]), Path(a.child[2])
        t0, c0 = time.perf_counter(), cpu_seconds()
        child_raw(cfg, out) if kind == "raw" else child_station(kind, cfg, out)
        secs, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        print(f"{secs:.3f} {cpu:.3f} {peak_rss_mb():.1f}")
        return 0
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"export bench in {a.workdir} (python {sys.version.split()[0]}, load {load})")
    for size in (int(s) for s in a.measurements.split(",")):
        cfg = build(a.workdir, size)
        out = a.workdir / f"out{size}"
        out.mkdir(exist_ok=True)
        raw_s, raw_cpu, raw_mb = run_child("raw", cfg, out)
        print(f"at {size:,} measurements:")
        print(
            f"  raw sqlite3+json+csv {size / raw_s:>9,.0f} /s {size / raw_cpu:>9,.0f} /cpu-s"
            f"   peak RSS {raw_mb:5.1f} MB"
        )
        for fmt in ("csv", "dfq"):
            secs, cpu, mb = run_child(fmt, cfg, out)
            print(
                f"  station export {fmt}   {size / secs:>9,.0f} /s {size / cpu:>9,.0f} /cpu-s"
                f"   peak RSS {mb:5.1f} MB   ratio to raw {raw_s / secs:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
