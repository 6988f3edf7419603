"""Timing for the micro-benchmarks: median and p99 of wall time and of CPU time, in ms.

CPU time is shown next to wall time because on a loaded machine the wall-clock p99 mostly
measures preemption by other processes, not the code under test.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def p99(xs: list[float]) -> float:
    """The 99th percentile (nearest rank) of `xs`."""
    return sorted(xs)[min(len(xs) - 1, int(0.99 * len(xs)))]


def time_ms(
    fn: Callable[[], object], reps: int, *, warmup: int = 1
) -> tuple[float, float, float, float]:
    """(wall median, wall p99, CPU median, CPU p99) of `reps` calls of `fn`, in ms, after
    `warmup` calls (first touches, caches)."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        fn()
        cpu.append((time.process_time_ns() - c0) / 1e6)
        wall.append((time.perf_counter_ns() - t0) / 1e6)
    return statistics.median(wall), p99(wall), statistics.median(cpu), p99(cpu)


__all__ = ["p99", "time_ms"]
