"""The demo world driven as an operator drives it: demo keys, the scanner and the caliper.

Scans travel through the scanner's pty and the serial scanner driver, values through the
caliper's pty and the Mitutoyo driver, exactly as at a real bench; the workflow is the
bench's own (no UI), over the demo's store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drivers.base import Driver
from station.bench.notice import Notice
from station.bench.workflow import Workflow
from station.config import load_config
from station.demo import DemoEnvironment, demo_environment
from station.demo.app import DemoKeys
from station.devices import Scanner, open_driver, open_scanner
from station.master import load_master_dir
from station.store import Store

DEBOUNCE_S = 0.16  # an operator's presses are further apart than the 150 ms debounce


class Bench:
    """The demo world with a workflow, its demo keys, the scanner, the caliper and balance
    drivers."""

    def __init__(
        self, env: DemoEnvironment, store: Store, scanner: Scanner, caliper: Driver, balance: Driver
    ):
        self.env, self.store, self.scanner = env, store, scanner
        self.caliper, self.balance = caliper, balance
        self.wf = Workflow(store, load_config(env.config_path), lambda: datetime.now(UTC))
        bindings = DemoKeys(self.env, self.wf).keys()
        self.keys: dict[str, Callable[[], None]] = {key: action for key, _, action in bindings}
        self.last_press = 0.0

    def scan_key(self, key: str) -> Notice:
        """A demo key that scans; the scan reaches the workflow through the scanner."""
        self.keys[key]()
        return self.wf.scan(self.scanner.read_scan(5.0))

    def data(self) -> Notice:
        """F7: the caliper's DATA button; its frame reaches the workflow via the driver."""
        wait = self.last_press + DEBOUNCE_S - time.monotonic()
        if wait > 0:
            time.sleep(wait)  # the operator's pace, not a wait for readiness
        self.keys["f7"]()
        reading = self.caliper.read(5.0)
        self.last_press = time.monotonic()
        return self.wf.reading("caliper", reading)

    def poll_balance(self) -> Notice:
        """Space at the bench: the balance driver sends its request and reads the reply."""
        self.balance.request()
        return self.wf.reading("balance", self.balance.read(5.0))

    def records(self, kind: str) -> list[dict[str, Any]]:
        return [r.body for r in self.store.records(0, 10_000) if r.type == kind]


@contextmanager
def demo_bench(
    workdir: Path, *, with_sync: bool = False, broker: str = "embedded"
) -> Iterator[Bench]:
    """The demo environment (the sync daemon when asked) and a `Bench` over its store."""
    with demo_environment(workdir, with_sync=with_sync, broker=broker) as env:
        cfg = load_config(env.config_path)
        docs, problems = load_master_dir(env.workdir / "master")
        assert problems == []
        with Store.open(
            cfg.station.db_path, site=cfg.station.site, station=cfg.station.id
        ) as store:
            store.bootstrap_master((d.kind, d.id, d.doc) for d in docs)
            scanner = open_scanner(cfg.scanner)
            assert scanner is not None
            caliper = open_driver(cfg.input("caliper"))
            balance = open_driver(cfg.input("balance"))
            try:
                yield Bench(env, store, scanner, caliper, balance)
            finally:
                balance.close()
                caliper.close()
                scanner.close()
