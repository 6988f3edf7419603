"""`station read INPUT`: read values from one configured input as JSON lines.

A technician's first check at a new bench ("does the gauge talk?") and a scripting hook, so
it prints exactly what the driver delivered, one JSON object per line, flushed per value:

    {"input": "torque", "value": 12.5, "unit": "N.m", "raw": "0x4148 0x0000",
     "ts": "2026-11-21T22:04:09.512Z"}

Exit status (contract `station read`, plus one addition):
  0  all COUNT values read;
  1  timeout or device error, the message on stderr (values read before it stay printed);
  2  no input of that name in the config (the message lists the configured ones), the same
     status `check-config` and click use for a config/usage mistake;
  130 interrupted with Ctrl+C.

`timeout` applies to each value: for a push-mode gauge it is how long the operator has to
press the data button; a poll-mode device is sent its request before each value.
"""

from __future__ import annotations

import json
import sys

from drivers.base import Driver, DriverError, Reading
from station.core.timefmt import format_ts
from station.devices import open_driver
from station.settings import Config

EXIT_OK = 0
EXIT_DEVICE = 1
EXIT_UNKNOWN_INPUT = 2
EXIT_INTERRUPTED = 130


def reading_json(input_name: str, reading: Reading) -> str:
    """One output line; NaN/inf never get here (drivers raise ImplausibleValue)."""
    doc = {
        "input": input_name,
        "value": reading.value,
        "unit": reading.unit,
        "raw": reading.raw,
        "ts": format_ts(reading.wall),
    }
    return json.dumps(doc, ensure_ascii=False, allow_nan=False)


def run_read(cfg: Config, input_name: str, *, count: int, timeout: float) -> int:
    """Read `count` values from input `input_name` to stdout; return the exit status (see
    module doc)."""
    try:
        settings = cfg.input(input_name)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return EXIT_UNKNOWN_INPUT
    driver: Driver | None = None
    try:
        driver = open_driver(settings)
        for _ in range(count):
            driver.request()  # poll mode: ask; push mode: a no-op, the gauge's button sends
            print(reading_json(input_name, driver.read(timeout)), flush=True)
    except DriverError as exc:
        print(f"station read: {exc}", file=sys.stderr)
        return EXIT_DEVICE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        if driver is not None:
            driver.close()
    return EXIT_OK


__all__ = ["EXIT_DEVICE", "EXIT_OK", "EXIT_UNKNOWN_INPUT", "reading_json", "run_read"]
