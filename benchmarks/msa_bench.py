"""Gauge R&R benchmark: both methods (average and range, ANOVA) for 10x3x3 and 50x5x5.

What the bench does when the last reading of an R&R study arrives: group the readings, compute
both methods and the range chart. Goals (issue 17): < 10 ms for 10 parts x 3 appraisers x 3
trials, < 100 ms for 50 x 5 x 5 (median and p99).

The raw baseline, timed in the same run on the same readings, is one plain Python pass that
sums the values per appraiser-part cell: the floor any pure-Python implementation pays to
look at every reading once; the ratio shows what the study's arithmetic adds. The K factors
beyond AIAG's tables (5 trials, 5 appraisers, 50 parts) are computed once and cached, so the
warm-up absorbs them, as the bench's first study would.

Usage: .venv/bin/python benchmarks/msa_bench.py [--reps N]
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Sequence

from _timing import time_ms  # type: ignore[import-not-found]

from station.core.msa_anova import anova
from station.core.msa_grr import GrrReading, average_range

GOALS_MS = {(10, 3, 3): 10.0, (50, 5, 5): 100.0}


def _readings(parts: int, appraisers: int, trials: int, seed: int) -> list[GrrReading]:
    rng = random.Random(seed)
    size = [rng.gauss(10.0, 0.05) for _ in range(parts)]
    bias = [rng.gauss(0.0, 0.002) for _ in range(appraisers)]
    readings = [
        GrrReading(f"op-{a}", f"P{p:03d}", t + 1, round(size[p] + bias[a] + rng.gauss(0, 0.003), 4))
        for a in range(appraisers)
        for p in range(parts)
        for t in range(trials)
    ]
    rng.shuffle(readings)  # AIAG: randomized order; the study must not care
    return readings


def _study(readings: Sequence[GrrReading]) -> Callable[[], object]:
    def run() -> object:
        avg = average_range(readings, tolerance=0.4)
        an = anova(readings, tolerance=0.4)
        return avg.result.pct_grr, an.result.pct_grr

    return run


def _raw(readings: Sequence[GrrReading]) -> Callable[[], object]:
    def run() -> object:
        cells: dict[tuple[str, str], float] = {}
        for r in readings:
            key = (r.appraiser, r.part)
            cells[key] = cells.get(key, 0.0) + float(r.value)
        return len(cells)

    return run


def _time(fn: Callable[[], object], reps: int) -> tuple[float, float, float, float]:
    return time_ms(fn, reps, warmup=min(reps, 20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=300)
    args = parser.parse_args()
    print(f"Gauge R&R, average-and-range + ANOVA, {args.reps} reps")
    print(
        f"{'parts x appr x trials':<24}{'wall med':>9}{'wall p99':>9}{'cpu med':>9}{'cpu p99':>9}"
        f"{'raw med':>9}{'ratio':>7}{'goal':>7}   (ms)"
    )
    verdicts = []
    for (parts, appraisers, trials), goal in GOALS_MS.items():
        readings = _readings(parts, appraisers, trials, seed=17)
        med, p99, cmed, cp99 = _time(_study(readings), args.reps)
        raw_med = _time(_raw(readings), args.reps)[0]
        name = f"{parts} x {appraisers} x {trials} ({len(readings)})"
        print(
            f"{name:<24}{med:>9.3f}{p99:>9.3f}{cmed:>9.3f}{cp99:>9.3f}"
            f"{raw_med:>9.3f}{med / raw_med:>6.0f}x{goal:>7.0f}"
        )
        verdicts.append((name, p99, cp99, goal))
    for name, worst_wall, worst_cpu, goal in verdicts:
        verdict = "meets" if worst_wall < goal else "MISSES"
        print(
            f"{name}: wall p99 {worst_wall:.3f} ms, cpu p99 {worst_cpu:.3f} ms:"
            f" {verdict} the {goal:.0f} ms goal"
        )


if __name__ == "__main__":
    main()
