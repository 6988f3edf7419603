"""SPC core benchmark: limits + all 8 Nelson rules over a 125-point window, per chart kind.

What the bench UI does after each part: group the characteristic's last values into
subgroups, compute (or re-derive) the frozen limits, evaluate both charts with all eight
rules, take the new signals and the capability. Goal: < 5 ms per part (median and p99).

The raw baseline, timed in the same run on the same data, is one plain Python pass that
computes the mean and moving ranges and compares every point with fixed limits: the floor
any pure-Python implementation pays; the ratio shows what the rule engine adds.

Usage: .venv/bin/python benchmarks/spc_bench.py [--reps N]
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Sequence
from itertools import pairwise

from _timing import time_ms  # type: ignore[import-not-found]

from station.core.model import SpcSpec
from station.core.spc import (
    NELSON_RULES,
    capability,
    compute_limits,
    evaluate,
    group_values,
)

WINDOW = 125
GOAL_MS = 5.0


def _values(n_values: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [round(rng.gauss(10.0, 0.02), 4) for _ in range(n_values)]


def _per_part(spec: SpcSpec, values: Sequence[float]) -> Callable[[], object]:
    def run() -> object:
        groups = group_values(spec, values)
        limits = compute_limits(spec, groups)
        result = evaluate(spec, limits, groups)
        cap = capability(values, 9.9, 10.1, limits.sigma)
        return result.new, cap.cpk

    return run


def _raw(values: Sequence[float]) -> Callable[[], object]:
    def run() -> object:
        mean = sum(values) / len(values)
        mr = [abs(b - a) for a, b in pairwise(values)]
        sigma = sum(mr) / len(mr) / 1.128
        ucl, lcl = mean + 3 * sigma, mean - 3 * sigma
        return sum(1 for v in values if v > ucl or v < lcl)

    return run


def _time(fn: Callable[[], object], reps: int) -> tuple[float, float, float, float]:
    return time_ms(fn, reps, warmup=min(reps, 50))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    args = parser.parse_args()
    cases = [
        ("I-MR, 125 values", SpcSpec("imr", 1, NELSON_RULES, 25), 1),
        ("Xbar-R n=5, 125 groups", SpcSpec("xbar-r", 5, NELSON_RULES, 25), 5),
        ("Xbar-S n=5, 125 groups", SpcSpec("xbar-s", 5, NELSON_RULES, 25), 5),
    ]
    print(f"SPC per-part cost, window {WINDOW} chart points, all 8 rules, {args.reps} reps")
    print(
        f"{'case':<24}{'wall med':>9}{'wall p99':>9}{'cpu med':>9}{'cpu p99':>9}"
        f"{'raw med':>9}{'ratio':>7}   (ms)"
    )
    worst_wall = worst_cpu = 0.0
    for name, spec, n in cases:
        values = _values(WINDOW * n, seed=7)
        med, p99, cmed, cp99 = _time(_per_part(spec, values), args.reps)
        raw_med = _time(_raw(values), args.reps)[0]
        worst_wall, worst_cpu = max(worst_wall, p99), max(worst_cpu, cp99)
        print(
            f"{name:<24}{med:>9.3f}{p99:>9.3f}{cmed:>9.3f}{cp99:>9.3f}"
            f"{raw_med:>9.3f}{med / raw_med:>6.0f}x"
        )
    for what, worst in (("wall", worst_wall), ("cpu", worst_cpu)):
        verdict = "meets" if worst < GOAL_MS else "MISSES"
        print(f"worst {what} p99 {worst:.3f} ms {verdict} the {GOAL_MS:.0f} ms goal")


if __name__ == "__main__":
    main()
