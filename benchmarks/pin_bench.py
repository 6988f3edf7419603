"""PIN verification benchmark: `station.core.pin.verify_pin` at the default scrypt cost.

What the bench does at each signing: parse the operator's verifier and run scrypt once over
the typed PIN. Goal: 50-250 ms per verification on the test machine (median and p99), so
each guess at a leaked verifier costs real work while a signing is no wait; and the same cost
must stay under a second on a Raspberry Pi Zero 2 W (not measured here: run this script there).

The raw baseline, timed in the same run on the same input, is one `hashlib.sha256` of the
salt and PIN: what an unstretched hash would cost an attacker per guess; the ratio is the
work factor scrypt buys. The other rows show the cost the QMS could choose instead.

Usage: .venv/bin/python benchmarks/pin_bench.py [--reps N]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
from collections.abc import Callable

from _timing import time_ms  # type: ignore[import-not-found]

from station.core.pin import DEFAULT_LN, DEFAULT_P, DEFAULT_R, make_verifier, verify_pin

GOAL_MS = (50.0, 250.0)
PIN = "802413"
SALT = bytes(range(16))


def _time(fn: Callable[[], object], reps: int) -> tuple[float, float, float, float]:
    return time_ms(fn, reps, warmup=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=40)
    args = parser.parse_args()
    data = SALT + PIN.encode()
    raw_med = _time(lambda: hashlib.sha256(data).digest(), max(args.reps, 1000))[0]
    cases = [
        (DEFAULT_LN - 1, DEFAULT_R, DEFAULT_P, ""),
        (DEFAULT_LN, DEFAULT_R, DEFAULT_P, " (default)"),
        (DEFAULT_LN + 1, DEFAULT_R, DEFAULT_P, ""),
        (DEFAULT_LN + 2, DEFAULT_R, DEFAULT_P, " (OWASP)"),
    ]
    print(f"PIN verification (scrypt), {args.reps} reps; raw sha256 median {raw_med * 1e3:.2f} us")
    print(
        f"{'cost':<32}{'wall med':>9}{'wall p99':>9}{'cpu med':>9}{'cpu p99':>9}"
        f"{'ratio':>10}   (ms)"
    )
    default = {"wall": (0.0, 0.0), "cpu": (0.0, 0.0)}
    for ln, r, p, note in cases:
        verifier = make_verifier(PIN, salt=SALT, n=1 << ln, r=r, p=p)
        reps = args.reps if ln <= DEFAULT_LN else max(5, args.reps // 4)
        med, p99, cmed, cp99 = _time(functools.partial(verify_pin, verifier, PIN), reps)
        name = f"ln={ln} r={r} p={p} {128 * (1 << ln) * r >> 20} MiB{note}"
        print(f"{name:<32}{med:>9.1f}{p99:>9.1f}{cmed:>9.1f}{cp99:>9.1f}{med / raw_med:>9.0f}x")
        if ln == DEFAULT_LN:
            default = {"wall": (med, p99), "cpu": (cmed, cp99)}
    lo, hi = GOAL_MS
    for what, (med, p99) in default.items():
        verdict = "meets" if lo <= med and p99 <= hi else "MISSES"
        print(
            f"default {what} median {med:.1f} ms, p99 {p99:.1f} ms: {verdict} the "
            f"{lo:.0f}-{hi:.0f} ms goal"
        )


if __name__ == "__main__":
    main()
