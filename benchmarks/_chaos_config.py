"""The chaos run's settings: its command line (full and short presets) and the station config
it writes for `station sync` and the bench (contract: station.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

SITE, STATION = "plant-a", "bench-01"
DEBOUNCE_MS = 20
DESCRIPTION = "Soak and chaos: real processes, faults on a schedule, no record lost."


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="benchmarks/chaos.py", description=DESCRIPTION)
    p.add_argument("--short", action="store_true", help="the CI preset (overridable below)")
    p.add_argument("--inspections", type=int, help="at least this many (full 10000, short 1000)")
    p.add_argument("--cycles", type=int, help="at least this many rounds of every fault (3 / 1)")
    p.add_argument("--outage", type=float, help="seconds each outage lasts (5 / 2)")
    p.add_argument("--stall", type=float, help="seconds the link stalls (12 / 6)")
    p.add_argument("--gap", type=float, help="seconds between a recovery and the next fault")
    p.add_argument("--resend-after", type=float, help="mqtt.resend_after_s (10 / 3)")
    p.add_argument("--keepalive", type=int, default=15, help="mqtt.keepalive_s (15)")
    p.add_argument("--budget-mb", type=float, help="storage_budget_mb (1.0 / 0.25)")
    p.add_argument("--budget-hold", type=float, default=2.0, help="s refused before relief")
    p.add_argument("--max-queued", type=int, default=1000, help="mosquitto max_queued_messages")
    p.add_argument("--rate", type=float, default=0.0, help="inspections/s cap (0: no cap)")
    p.add_argument("--max-seconds", type=float, help="give up (and fail) after this long")
    p.add_argument("--recovery-timeout", type=float, help="s per fault recovery (300 / 60)")
    p.add_argument("--drain-timeout", type=float, help="s for the final drain (300 / 60)")
    p.add_argument("--growth-mb", type=float, default=8.0, help="RSS growth bound per process")
    p.add_argument("--seed", type=int, default=20261121)
    p.add_argument("--workdir", type=Path, help="keep everything here (default: a temp dir)")
    p.add_argument("--json", type=Path, help="also write the JSON summary to this file")
    p.add_argument("--verify", type=Path, metavar="DIR", help="only re-check a kept --workdir")
    a = p.parse_args(argv)
    short = a.short
    defaults: dict[str, Any] = {
        "inspections": 1000 if short else 10_000,
        "cycles": 1 if short else 3,
        "outage": 2.0 if short else 5.0,
        "stall": 6.0 if short else 12.0,
        "gap": 1.0 if short else 8.0,
        "resend_after": 3.0 if short else 10.0,
        "budget_mb": 0.25 if short else 1.0,
        "max_seconds": 170.0 if short else 7200.0,
        "recovery_timeout": 60.0 if short else 300.0,
        "drain_timeout": 60.0 if short else 300.0,
    }
    for key, value in defaults.items():
        if getattr(a, key) is None:
            setattr(a, key, value)
    return a


def write_config(work: Path, a: argparse.Namespace, proxy_port: int, gauge_link: str) -> Path:
    path = work / "station.toml"
    path.write_text(
        f"""# written by benchmarks/chaos.py
[station]
id = "{STATION}"
site = "{SITE}"
data_dir = "data"
storage_budget_mb = {a.budget_mb}
# Every record of a run is minutes old: the clock-jump fault proves none is pruned.
retention_days = 30

[mqtt]
host = "127.0.0.1"
port = {proxy_port}
ack = "central"
resend_after_s = {a.resend_after}
keepalive_s = {a.keepalive}

[master]
dir = "master"

[[inputs]]
name = "caliper"
driver = "mitutoyo"
port = "{gauge_link}"
mode = "push"
# The simulated operator presses every few ms, faster than any person; a 20 ms window still
# takes the bounce fault's double frame (0 ms apart) for one press.
debounce_ms = {DEBOUNCE_MS}
"""
    )
    return path
