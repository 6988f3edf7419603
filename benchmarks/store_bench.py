"""Record store benchmark: durable appends against raw sqlite3, and queries at scale.

    python benchmarks/store_bench.py [--records 1000000] [--workdir DIR] [--single 400]

Prints, in one run:
  1. durable single-record appends/s (`Store.append`, one fsynced commit each) and the same
     figure for raw sqlite3 with identical pragmas (WAL, synchronous=FULL, BEGIN IMMEDIATE)
     inserting the identical payload, interleaved in rounds so disk noise hits both alike;
  2. batched appends/s (`Store.append_many`, 1000 per transaction) against raw executemany;
  3. at --records records (default 1,000,000, built with append_many in large batches):
     reverse-traceability, last-125-values and other query times, and bytes per record.

The big store is kept in --workdir (reused when it already holds --records records), so the
query figures can be re-measured without rebuilding.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from station.core.timefmt import format_ts
from station.schemas import schema_errors
from station.schemas.fast import record_problems
from station.store import RecordType, Store

PLANS = [f"P-{1000 + i}" for i in range(10)]
CHARS = ["bore-dia", "length", "width", "depth", "runout"]
INSTRUMENTS = [f"CAL-{i:04d}" for i in range(20)]


class StepClock:
    """Fake time: each reading is `step` after the previous one (records spread over years)."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        self.now, self.step = start, step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


START = datetime(2025, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=60)


def ts_of(i: int) -> str:
    """The record ts the StepClock gives record index `i` (0-based)."""
    return format_ts(START + (i + 1) * STEP)


def inspection(i: int, rng: random.Random, ts: str, new_rev_from: int = 0) -> dict[str, Any]:
    plan = PLANS[i % len(PLANS)]
    measurements = []
    for k, char in enumerate(CHARS[: 3 + i % 3]):
        value = round(12.35 + rng.gauss(0, 0.01), 4)
        measurements.append(
            {
                "characteristic": char,
                "sample": 1,
                "kind": "variable",
                "value": value,
                "unit": "mm",
                "raw": f"01A+{value:011.4f}",
                "nominal": 12.35,
                "lsl": 12.3,
                "usl": 12.4,
                "rule": "simple",
                "u": None,
                "verdict": "pass",
                "instrument": INSTRUMENTS[(i + k) % len(INSTRUMENTS)],
                "cal_due": "2027-03-01",
                "ts": ts,
            }
        )
    return {
        "plan": {"id": plan, "rev": "A" if i < new_rev_from else "B"},
        "part": {"number": "PN-778", "serial": f"SN-{i:08d}", "lot": f"L{i // 1000}"},
        "operator": f"op-{i % 7}",
        "reason": "production",
        "started": ts,
        "completed": ts,
        "result": "accept",
        "measurements": measurements,
    }


def item(
    i: int, rng: random.Random, ts: str, new_rev_from: int = 0
) -> tuple[RecordType, dict[str, Any]]:
    roll = i % 20
    if roll == 0:
        return "instrument-check", {
            "instrument": INSTRUMENTS[(i // 20) % len(INSTRUMENTS)],
            "standard": "GB-25",
            "reference": 25.0,
            "unit": "mm",
            "readings": [25.001, 25.0, 24.999],
            "bias": 0.0,
            "mpe": 0.03,
            "verdict": "pass" if i % 7 else "fail",
            "operator": "op-1",
        }
    if roll in (1, 2):
        return "event", {"kind": "login", "operator": f"op-{i % 7}", "detail": {"i": i}}
    return "inspection", inspection(i, rng, ts, new_rev_from)


def open_raw(path: Path) -> sqlite3.Connection:
    """The baseline: plain sqlite3, the store's pragmas, one table of payloads."""
    conn = sqlite3.connect(str(path), timeout=15, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (seq INTEGER PRIMARY KEY, envelope TEXT NOT NULL)")
    return conn


def single_appends(workdir: Path, n: int, rounds: int = 5) -> None:
    """Store.append vs raw commit of the same payload, interleaved in `rounds`."""
    rng = random.Random(1)
    body = inspection(1, rng, "2026-11-21T08:00:00.000Z")
    store = Store.open(workdir / "single.db", site="plant-a", station="bench-01")
    raw = open_raw(workdir / "raw-single.db")
    payload = store.append("inspection", body).payload().decode()
    t_store = t_raw = 0.0
    per = max(n // rounds, 1)
    seq = 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(per):
            seq += 1
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("INSERT INTO t (seq, envelope) VALUES (?, ?)", (seq, payload))
            raw.execute("COMMIT")
        t_raw += time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(per):
            store.append("inspection", body)
        t_store += time.perf_counter() - t0
    env = store.record(1).envelope()  # type: ignore[union-attr]
    t0 = time.perf_counter()
    for _ in range(200):
        schema_errors("record", env)
    validate_ms = (time.perf_counter() - t0) / 200 * 1000
    t0 = time.perf_counter()
    for _ in range(200):
        record_problems(env)
    fast_ms = (time.perf_counter() - t0) / 200 * 1000
    store.close()
    raw.close()
    count = per * rounds
    s_rate, r_rate = count / t_store, count / t_raw
    print(f"single-record durable appends ({count} each, {len(payload)} B payload):")
    print(f"  store  {s_rate:8.0f} /s   ({t_store / count * 1000:.2f} ms each)")
    print(f"  raw    {r_rate:8.0f} /s   ({t_raw / count * 1000:.2f} ms each)")
    print(f"  ratio  {s_rate / r_rate:8.2f}   (goal >= 0.5)")
    print(
        f"  schema validation per record: {fast_ms:.3f} ms as the store does it "
        f"(station.schemas.fast), {validate_ms:.2f} ms with pure-Python jsonschema"
    )


def batched_appends(workdir: Path, batches: int = 5, size: int = 1000) -> None:
    rng = random.Random(2)
    items = [item(i, rng, "2026-11-21T08:00:00.000Z") for i in range(size)]
    store = Store.open(workdir / "batch.db", site="plant-a", station="bench-01")
    raw = open_raw(workdir / "raw-batch.db")
    payloads = [r.payload().decode() for r in store.append_many(items)]
    t_store = t_raw = 0.0
    seq = 0
    for _ in range(batches):
        t0 = time.perf_counter()
        raw.execute("BEGIN IMMEDIATE")
        raw.executemany(
            "INSERT INTO t (seq, envelope) VALUES (?, ?)",
            [(seq + k + 1, p) for k, p in enumerate(payloads)],
        )
        raw.execute("COMMIT")
        seq += size
        t_raw += time.perf_counter() - t0
        t0 = time.perf_counter()
        store.append_many(items)
        t_store += time.perf_counter() - t0
    store.close()
    raw.close()
    count = batches * size
    s_rate, r_rate = count / t_store, count / t_raw
    print(f"batched appends ({batches} x {size} per transaction, mixed record types):")
    print(f"  store  {s_rate:8.0f} /s")
    print(f"  raw    {r_rate:8.0f} /s")
    print(f"  ratio  {s_rate / r_rate:8.3f}")


def build(path: Path, records: int) -> Store:
    clock = StepClock(START, STEP)
    store = Store.open(path, site="plant-a", station="bench-01", clock=clock, budget_mb=512)
    have = store.last_seq()
    if have >= records:
        print(f"reusing {path} ({have} records)")
        return store
    if have:
        raise SystemExit(f"{path} holds {have} records, fewer than {records}: delete it first")
    rng = random.Random(3)
    t0 = time.perf_counter()
    batch = 5000
    for start in range(0, records, batch):
        end = min(start + batch, records)
        store.append_many([item(i, rng, ts_of(i), records // 2) for i in range(start, end)])
        if (start // batch) % 20 == 0:
            done = start + batch
            print(f"  built {done} records, {done / (time.perf_counter() - t0):.0f} /s", flush=True)
    store.mark_delivered_upto(records - 10_000)  # a realistic small backlog
    print(f"built {records} records in {time.perf_counter() - t0:.0f} s")
    return store


T = TypeVar("T")


def timed(fn: Callable[[], T], repeat: int = 20) -> tuple[float, T]:
    """Median wall time in ms over `repeat` runs (after one warm-up), and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def line(label: str, ms: float, note: str = "") -> None:
    print(f"  {label:<44} {ms:8.2f} ms{'  ' + note if note else ''}")


def queries(path: Path, records: int, verify: bool) -> None:
    store = build(path, records)
    last = store.last_seq()

    def ts_back(n: int) -> str:
        rec = store.record(max(last - n, 1))  # a small --records store is shorter than n
        assert rec is not None
        return rec.ts

    near, far = ts_back(2000), ts_back(20_000)  # ~1.4 and ~14 days at one record a minute
    print(f"queries at {last} records (median of 20 warm runs):")
    ms, found = timed(lambda: store.inspections_using("CAL-0007", near))
    line("reverse traceability (instrument since T)", ms, f"{len(found)} inspections; goal < 50")
    ms, found = timed(lambda: store.inspections_using("CAL-0007", far))
    line("reverse traceability, 10x the window", ms, f"{len(found)} inspections")
    ms, vals = timed(lambda: store.last_values("P-1003", "bore-dia", 125))
    line("last 125 values of a characteristic", ms, f"{len(vals)} values; goal < 10")
    ms, vals = timed(lambda: store.last_values("P-1003", "bore-dia", 125, rev="A"))
    line("last 125 values of the older revision", ms, f"{len(vals)} values")
    ms, _ = timed(lambda: store.last_passing_check("CAL-0007"))
    line("last passing check", ms)
    ms, found = timed(lambda: store.inspections_by_serial(f"SN-{records // 2 + 3:08d}"))
    line("inspections by serial", ms, f"{len(found)} found")
    ms, _ = timed(lambda: store.recent_inspections(20))
    line("20 recent inspections", ms)
    ms, _ = timed(lambda: store.pending(limit=100))
    line("100 pending records", ms)
    ms, _ = timed(store.status)
    line("status", ms)
    ms, _ = timed(store.check_can_start_inspection, 5)
    line("budget check (10,000 undelivered)", ms)
    ms, _ = timed(lambda: store.append("event", {"kind": "x", "operator": None, "detail": {}}), 10)
    line("one durable append at this size", ms)
    store.close()
    with closing(sqlite3.connect(str(path))) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    print(f"  bytes per record: {size / last:.0f} ({size / 1e6:.0f} MB file)")
    if verify:
        with Store.open(path, site="plant-a", station="bench-01") as again:
            t0 = time.perf_counter()
            result = again.verify()
        print(f"  verify whole chain: {time.perf_counter() - t0:.0f} s (ok={result.ok})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000, help="records in the big store")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the stores here")
    parser.add_argument("--single", type=int, default=400, help="single appends per side")
    parser.add_argument("--no-verify", action="store_true", help="skip the full verify")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="store-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("single.db", "raw-single.db", "batch.db", "raw-batch.db"):
        for suffix in ("", "-wal", "-shm"):
            (workdir / (name + suffix)).unlink(missing_ok=True)
    print(f"store bench in {workdir}; SQLite {sqlite3.sqlite_version}")
    single_appends(workdir, args.single)
    batched_appends(workdir)
    queries(workdir / f"big-{args.records}.db", args.records, not args.no_verify)


if __name__ == "__main__":
    main()
