"""Serial frames parsed/s: each protocol parser alone, then Mitutoyo end to end over a pty.

Pure parsing: every parser runs over a batch of frames made by the simulator's formatters
(varied values and decimals). The raw baseline, timed in the same run on the same bytes, is the
naive parse client code does (`float(line[4:])` for Mitutoyo, `float(line)` for Sylvac, a
split and `float()` for the others): the ratio shows what validation and plausibility cost.

End to end: `MitutoyoDriver` in poll mode against `SerialGaugeSim` (request ``1<CR>`` → reply →
`Reading`), versus raw pyserial on the same pty (`write(b"1\\r")` + `read_until(b"\\r")` +
`float`). Both are bounded by the simulator thread and the pty round trip; a real gauge at
9600 baud answers at most ~10-25 frames/s (shop-floor serial practice at 9600 baud), so the margin
is what matters.

Usage: .venv/bin/python benchmarks/serial_bench.py [--frames N] [--seconds S]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import serial

from drivers import mahr, mitutoyo, mtsics, sylvac
from drivers.ascii_line import compile_pattern, parse_line
from drivers.mitutoyo import MitutoyoDriver
from drivers.params import SerialParams
from sim import gauge_formats as fmt
from sim.serial_gauge import SerialGaugeSim

ASCII_PATTERN = compile_pattern(r"^(?P<value>[+-]?\d+(\.\d+)?)\s*(?P<unit>\w+)?$")


def _values(n: int, seed: int = 7) -> list[Decimal]:
    rng = random.Random(seed)
    return [Decimal(rng.randint(-999999, 999999)).scaleb(-rng.randint(0, 5)) for _ in range(n)]


def _rate(fn: Callable[[bytes], object], lines: list[bytes], seconds: float) -> float:
    """Frames/s of `fn` over `lines`, repeated for at least `seconds`."""
    done, started = 0, time.perf_counter()
    while True:
        for line in lines:
            fn(line)
        done += len(lines)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return done / elapsed


def parse_rates(frames: int, seconds: float) -> dict[str, tuple[float, float]]:
    """Per protocol: (parser frames/s, naive baseline frames/s)."""
    values = _values(frames)
    cases: dict[str, tuple[list[bytes], Callable[[bytes], object], Callable[[bytes], object]]] = {
        "mitutoyo": (
            [fmt.format_mitutoyo(v).rstrip(b"\r") for v in values],
            mitutoyo.parse_frame,
            lambda line: float(line[4:]),
        ),
        "sylvac": (
            [fmt.format_sylvac(v).rstrip(b"\r") for v in values],
            sylvac.parse_frame,
            float,
        ),
        "mahr": (
            [fmt.format_mahr(v).rstrip(b"\r") for v in values],
            mahr.parse_frame,
            lambda line: float(line.split()[1]),
        ),
        "mtsics": (
            [fmt.format_mtsics(v).rstrip(b"\r\n") for v in values],
            mtsics.parse_frame,
            lambda line: float(line.split()[2]),
        ),
        "ascii": (
            [fmt.format_ascii(v).rstrip(b"\r\n") for v in values],
            lambda line: parse_line(ASCII_PATTERN, line),
            lambda line: float(line.split()[0]),
        ),
    }
    return {
        name: (_rate(parser, lines, seconds), _rate(naive, lines, seconds))
        for name, (lines, parser, naive) in cases.items()
    }


def end_to_end_rates(seconds: float) -> tuple[float, float]:
    """(driver frames/s, raw pyserial frames/s) for Mitutoyo polled over a pty."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        SerialGaugeSim("mitutoyo", Path(tmp) / "caliper", value="12.346") as sim,
    ):
        driver = MitutoyoDriver("bench", SerialParams(port=sim.path, mode="poll"))
        driver.open()
        try:
            done, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                driver.request()
                driver.read(1.0)
                done += 1
            driver_rate = done / (time.perf_counter() - started)
        finally:
            driver.close()
        with serial.Serial(sim.path, 9600, timeout=1.0) as port:
            done, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                port.write(b"1\r")
                float(port.read_until(b"\r")[4:])
                done += 1
            raw_rate = done / (time.perf_counter() - started)
    return driver_rate, raw_rate


def serial_frames_parsed_per_s(frames: int = 2000, seconds: float = 0.5) -> None:
    """Print frames parsed/s per protocol parser and Mitutoyo end to end, with baselines."""
    print(f"{'parser':<10} {'frames/s':>12} {'naive float()':>14} {'ratio':>7}")
    for name, (rate, naive) in parse_rates(frames, seconds).items():
        print(f"{name:<10} {rate:>12,.0f} {naive:>14,.0f} {naive / rate:>6.1f}x")
    driver_rate, raw_rate = end_to_end_rates(max(seconds * 2, 1.0))
    print(
        f"mitutoyo end to end over a pty: driver {driver_rate:,.0f} frames/s,"
        f" raw pyserial read_until {raw_rate:,.0f} frames/s"
        f" (driver/raw {driver_rate / raw_rate:.2f}x; read_until reads byte by byte)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    serial_frames_parsed_per_s(args.frames, args.seconds)


if __name__ == "__main__":
    main()
