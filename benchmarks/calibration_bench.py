"""Calibration benchmark: judging a calibration, and the suspect list with re-judgement.

    python benchmarks/calibration_bench.py [--records 10000 1000000] [--workdir DIR]

Prints, in one run:
  1. judging a 10-point x 5-reading calibration (every point's errors, u, TUR, verdict and
     the result, exact arithmetic as at the bench), median and p99 over 200 runs, beside a
     raw baseline: one plain float pass computing the same errors and max |error| (the floor
     of any pure-Python judge);
  2. for each --records store (built as benchmarks/store_bench.py builds it: 85 % inspections
     of 3-5 measurements over 20 instruments, one record a minute, a check every 400 records):
     the as-found suspect list of CAL-0000 with every measurement re-judged, exactly as the
     bench computes it (`station.bench.calsuspect.find_suspects` + the record body, from the
     store's instrument-use and measurement indexes): bounded
     by its last passing check (what a station with daily checks does), and, for the cost
     per inspection, by time windows (the calibration date 7, 30 and 365 days back, as a
     station without checks). Each beside the raw baseline: plain sqlite3 reading the same
     envelopes through the same index and json-decoding them (ratio = station / raw).

Goal (issue 15): under 100 ms at 10,000 and under 2 s at 1,000,000 stored inspections.
The big stores are kept in --workdir and reused (building 1M takes ~25 min).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from _timing import time_ms  # type: ignore[import-not-found]
from store_bench import START, STEP, build  # type: ignore[import-not-found]

from station.bench.calsuspect import SuspectBound, find_suspects, suspect_body, suspects_in
from station.core.calibration import PointResult, PointSpec, calibration_result, judge_point
from station.core.model import Instrument
from station.store import Store

T = TypeVar("T")
ZONE = UTC
INSTRUMENT = "CAL-0000"


def timed(fn: Callable[[], T], repeat: int) -> tuple[float, float, T]:
    """Median and p99 wall time in ms over `repeat` runs (after one warm-up), last result."""
    last: list[T] = []

    def run() -> None:
        last[:] = [fn()]

    med, p99, _, _ = time_ms(run, repeat)
    return med, p99, last[0]


def calibration_points() -> list[tuple[PointSpec, list[float], float]]:
    rng = random.Random(7)
    out = []
    for k in range(10):
        nominal = 15.0 * (k + 1)
        spec = PointSpec(f"P{k}", nominal, 5, mpe=0.03, standard_type="gauge-block")
        out.append((spec, [round(nominal + rng.gauss(0.004, 0.004), 2) for _ in range(5)], nominal))
    return out


def judge_all(points: list[tuple[PointSpec, list[float], float]]) -> str:
    results = [
        judge_point(spec, rs, reference=ref, u_ref=0.0005, resolution=0.01, rule="guarded")
        for spec, rs, ref in points
    ]
    return calibration_result(results, None)


def judge_raw(points: list[tuple[PointSpec, list[float], float]]) -> bool:
    worst = 0.0
    for spec, rs, ref in points:
        errors = [r - ref for r in rs]
        worst = max(worst, *(abs(e) for e in errors))
        assert spec.mpe is not None
    return worst <= 0.03


def judging() -> None:
    points = calibration_points()
    med, p99, result = timed(lambda: judge_all(points), 200)
    raw_med, raw_p99, _ = timed(lambda: judge_raw(points), 200)
    print("judging a 10-point x 5-reading calibration (200 runs):")
    print(f"  station  median {med:8.3f} ms  p99 {p99:8.3f} ms  (result {result})")
    print(f"  raw      median {raw_med:8.3f} ms  p99 {raw_p99:8.3f} ms")
    print(f"  ratio    {med / raw_med:8.1f}")


def as_found() -> list[PointResult]:
    """A caliper reading 0.04 mm high around 12 mm: the store's values near 12.35 +- 0.01
    (limits 12.3-12.4) corrected by -0.04 fall to 12.30-12.32, so the low tail flips."""
    out = []
    for nominal, error in ((5.0, 0.035), (25.0, 0.045), (50.0, 0.05)):
        spec = PointSpec(f"N{nominal:g}", nominal, 3, mpe=0.02)
        readings = [nominal + error] * 3
        out.append(judge_point(spec, readings, reference=nominal, u_ref=0.0005, resolution=0.01))
    return out


def raw_window(path: Path, since: str | None, after_seq: int | None) -> int:
    """Baseline: the window's envelopes through the same index, json-decoded, plainly."""
    with closing(sqlite3.connect(str(path))) as conn:
        if after_seq is not None:
            rows = conn.execute(
                "SELECT r.envelope FROM ix_instrument_use u JOIN records r ON r.seq = u.seq "
                "WHERE u.instrument = ? AND u.seq > ? ORDER BY u.seq",
                (INSTRUMENT, after_seq),
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT r.envelope FROM ix_instrument_use u JOIN records r ON r.seq = u.seq "
                "WHERE u.instrument = ? AND u.ts >= ? ORDER BY u.seq",
                (INSTRUMENT, since or ""),
            ).fetchall()
    n = 0
    for (text,) in rows:
        body: dict[str, Any] = json.loads(text)["body"]
        n += sum(1 for m in body["measurements"] if m.get("instrument") == INSTRUMENT)
    return n


def window(store: Store, since: str, points: list[PointResult]) -> dict[str, Any]:
    """`find_suspects` with a time bound (what a station without checks computes), and the
    suspect record's body."""
    found = suspects_in(store, INSTRUMENT, SuspectBound(since, None), points, "mm")
    body = suspect_body(INSTRUMENT, "cal", found)
    return {"inspections": len(body["inspections"]), "rejudged": len(body["rejudged"])}


def suspects(path: Path, records: int, repeat: int) -> None:
    store = build(path, records)
    last = store.last_seq()
    end = START + last * STEP
    points = as_found()
    print(f"suspect list + re-judgement at {last} records (median of {repeat} warm runs):")
    instrument = Instrument(
        INSTRUMENT, "caliper", "active", date(2030, 1, 1), "mm", 0.01, calibrated=date(2020, 1, 1)
    )

    def by_check() -> dict[str, Any]:
        found = find_suspects(store, instrument, ZONE, points, "mm")
        body = suspect_body(INSTRUMENT, "cal", found)
        return {"inspections": len(body["inspections"]), "rejudged": len(body["rejudged"])}

    found = find_suspects(store, instrument, ZONE, points, "mm")
    med, p99, got = timed(by_check, repeat)
    raw, _, _ = timed(lambda: raw_window(path, None, found.bound.after_seq), repeat)
    print(
        f"  since its last passing check    {med:9.2f} ms (p99 {p99:8.2f})  raw {raw:8.2f} ms  "
        f"ratio {med / raw:5.2f}  {got['inspections']} inspections, {got['rejudged']} flipped"
    )
    for days in (7, 30, 365):
        since_dt = end - timedelta(days=days)
        if since_dt < START:
            continue
        since = since_dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        med, p99, got = timed(lambda s=since: window(store, s, points), max(3, repeat // 4))
        raw, _, _ = timed(lambda s=since: raw_window(path, s, None), max(3, repeat // 4))
        per = med * 1000 / max(1, got["inspections"])
        print(
            f"  calibrated {days:>3} days back       {med:9.2f} ms (p99 {p99:8.2f})  "
            f"raw {raw:8.2f} ms  ratio {med / raw:5.2f}  {got['inspections']} inspections "
            f"({per:.1f} µs each), {got['rejudged']} flipped"
        )
    med, p99, got = timed(lambda: window(store, "2000-01-01T00:00:00.000Z", points), 3)
    raw, _, _ = timed(lambda: raw_window(path, "2000-01-01T00:00:00.000Z", None), 3)
    print(
        f"  whole store (never calibrated)  {med:9.2f} ms (p99 {p99:8.2f})  raw {raw:8.2f} ms  "
        f"ratio {med / raw:5.2f}  {got['inspections']} inspections, {got['rejudged']} flipped"
    )
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=None, help="keep the stores here")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="calibration-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    judging()
    for n in args.records:
        suspects(workdir / f"store-{n}.db", n, args.repeat)


if __name__ == "__main__":
    main()
