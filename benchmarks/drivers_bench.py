"""Driver throughput: Modbus reads/s through `ModbusDriver` vs raw pymodbus, same server, same run.

The simulator (`python -m sim.modbus_instrument`) runs in its own process so that it does not
share the GIL with the client. The raw baseline is what client code would write by hand: a
`ModbusTcpClient` (retries=0, like the driver) calling `read_holding_registers(0, count=2)` and
unpacking the float with `struct`. The driver adds its lock, backoff check, error translation,
the hex `raw` text and a `Reading` with monotonic + UTC timestamps. Batches of reads
alternate driver/raw so both see the same machine load; of several rounds, the one with the
median ratio is reported. Goal: driver/raw >= 0.8.

Then benchmarks/serial_bench.py's serial parsing figures are printed too (unless --no-serial).

Usage: .venv/bin/python benchmarks/drivers_bench.py [--seconds S] [--rounds N] [--no-serial]
"""

from __future__ import annotations

import argparse
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from serial_bench import serial_frames_parsed_per_s

from drivers.modbus import ModbusDriver
from drivers.params import ModbusParams


def _interleaved(
    a: Callable[[], object], b: Callable[[], object], seconds: float, batch: int = 100
) -> tuple[float, float]:
    """Calls/s of `a` and `b`, alternating batches so that both see the same machine load."""
    spent_a = spent_b = 0.0
    done = 0
    while spent_a + spent_b < 2 * seconds:
        t0 = time.perf_counter()
        for _ in range(batch):
            a()
        t1 = time.perf_counter()
        for _ in range(batch):
            b()
        spent_a += t1 - t0
        spent_b += time.perf_counter() - t1
        done += batch
    return done / spent_a, done / spent_b


@contextmanager
def instrument_process(*, rtu: bool) -> Iterator[str]:
    """`python -m sim.modbus_instrument` in its own process (no GIL shared with the client)."""
    cmd = [sys.executable, "-m", "sim.modbus_instrument", "--port", "0", "--value", "12.5"]
    with subprocess.Popen([*cmd, *(["--rtu"] if rtu else [])], stdout=subprocess.PIPE) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().decode()  # printed once it accepts connections
            if not line.startswith("serving "):
                raise RuntimeError(f"simulator did not start: {line!r}")
            yield line.split()[1]
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def modbus_rates(seconds: float, rounds: int, *, rtu: bool) -> tuple[float, float]:
    """Reads/s (driver, raw) of the round with the median ratio, one simulated instrument."""
    batch = 5 if rtu else 100
    with instrument_process(rtu=rtu) as url:
        params = ModbusParams(url=None if rtu else url, port=url if rtu else None, timeout_s=2.0)
        driver = ModbusDriver("bench", params)
        driver.open()
        port = int(url.rsplit(":", 1)[1])
        raw: ModbusTcpClient | ModbusSerialClient = (
            ModbusSerialClient(url, timeout=2.0, retries=0)
            if rtu
            else ModbusTcpClient("127.0.0.1", port=port, timeout=2.0, retries=0)
        )
        assert raw.connect()

        def raw_read() -> float:
            rr = raw.read_holding_registers(0, count=2, device_id=1)
            if rr.isError():
                raise RuntimeError(rr)
            value: float = struct.unpack(">f", struct.pack(">2H", *rr.registers))[0]
            return value

        assert driver.read(2.0).value == raw_read() == 12.5
        try:
            rates = [
                _interleaved(lambda: driver.read(2.0), raw_read, seconds, batch)
                for _ in range(rounds)
            ]
        finally:
            driver.close()
            raw.close()  # type: ignore[no-untyped-call]
    ratios = [d / r for d, r in rates]
    best = rates[ratios.index(statistics.median_high(ratios))]
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per round and side")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-serial", action="store_true", help="skip benchmarks/serial_bench.py")
    args = parser.parse_args()

    print(f"{'modbus read (float32)':<28} {'driver/s':>10} {'raw/s':>10} {'ratio':>7}")
    for label, rtu in (("TCP, 127.0.0.1", False), ("RTU framing over socket://", True)):
        driver_rate, raw_rate = modbus_rates(args.seconds, args.rounds, rtu=rtu)
        ratio = driver_rate / raw_rate
        print(f"{label:<28} {driver_rate:>10,.0f} {raw_rate:>10,.0f} {ratio:>7.2f}")
    print("goal: driver/raw >= 0.80 (TCP)")

    if not args.no_serial:
        print()
        serial_frames_parsed_per_s()


if __name__ == "__main__":
    main()
