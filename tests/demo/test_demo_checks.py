"""The demo's own instrument checks (issue 12.14): the demo keys drive the real simulators.

The balance check goes through the real path: the demo keys scan through the scanner's pty
and the serial scanner driver, the balance answers the MT-SICS driver's `SI` over its pty.
The balance must weigh the reference weight when it is checked (a pass, so it is usable for
P-2001), and only the demo's "bad" key makes it fail and quarantines it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.base import Driver
from station.bench.notice import Notice
from station.bench.workflow import Workflow
from station.config import load_config
from station.demo import DemoEnvironment, demo_environment
from station.demo.app import KEYS, DemoKeys, demo_key_clashes
from station.demo.master_data import PART_PLAIN_2
from station.devices import Scanner, open_driver, open_scanner
from station.master import load_master_dir
from station.store import Store


class Bench:
    """The demo world with a workflow, its demo keys, the scanner and the balance driver."""

    def __init__(self, env: DemoEnvironment, store: Store, scanner: Scanner, balance: Driver):
        self.env, self.store, self.scanner, self.balance = env, store, scanner, balance
        self.wf = Workflow(store, load_config(env.config_path), lambda: datetime.now(UTC))
        bindings = DemoKeys(self.env, self.wf).keys()
        self.keys: dict[str, Callable[[], None]] = {key: action for key, _, action in bindings}

    def press(self, key: str) -> Notice | None:
        """A demo key; a scan it makes reaches the workflow through the scanner driver."""
        self.keys[key]()
        if key in ("f7", "f9"):
            return None  # in a balance check these set the balance's state only
        return self.wf.scan(self.scanner.read_scan(5.0))

    def poll_balance(self) -> Notice:
        """Space at the bench: the balance driver sends its request and reads the reply."""
        self.balance.request()
        return self.wf.reading("balance", self.balance.read(5.0))


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    with demo_environment(tmp_path / "demo", with_sync=False, broker="embedded") as env:
        cfg = load_config(env.config_path)
        docs, problems = load_master_dir(env.workdir / "master")
        assert problems == []
        with Store.open(
            cfg.station.db_path, site=cfg.station.site, station=cfg.station.id
        ) as store:
            store.bootstrap_master((d.kind, d.id, d.doc) for d in docs)
            scanner = open_scanner(cfg.scanner)
            assert scanner is not None
            balance = open_driver(cfg.input("balance"))
            try:
                yield Bench(env, store, scanner, balance)
            finally:
                balance.close()
                scanner.close()


def check_balance(bench: Bench, *, bad: bool) -> Notice:
    assert bench.press("f3") is not None  # log in (Ana, qualified)
    assert bench.wf.start_check().level != "error"
    start = bench.press("ctrl+g")
    assert start is not None and start.level == "ok", start
    weight = bench.press("f11")
    assert weight is not None and "W-100" in weight.text, weight
    if bad:
        bench.press("f9")
    notices = [bench.poll_balance() for _ in range(3)]
    return notices[-1]


def test_the_demo_balance_passes_its_check_against_the_reference_weight(bench: Bench) -> None:
    done = check_balance(bench, bad=False)
    assert "BAL-0003 PASSED" in done.text, done
    assert "BAL-0003" not in bench.store.local_quarantines()
    body = bench.store.last_passing_check("BAL-0003")
    assert body is not None
    # After the check the pan holds a part again: the daily check lets P-2001 weigh it.
    assert bench.wf.leave_check().level != "error"
    assert bench.wf.scan(PART_PLAIN_2).level == "ok"
    weighed = bench.poll_balance()
    assert weighed.level == "ok" and "85.41" in weighed.text, weighed


def test_the_demo_bad_key_still_fails_the_balance_and_quarantines_it(bench: Bench) -> None:
    done = check_balance(bench, bad=True)
    assert "BAL-0003 FAILED" in done.text, done
    assert "BAL-0003" in bench.store.local_quarantines()


def test_no_demo_key_is_shadowed_by_a_bench_key() -> None:
    # Textual runs the first binding of a key: the demo's balance key on F1 never ran,
    # because the bench's F1 opens the details view (found in the issue 14 refactor).
    assert demo_key_clashes() == []
    assert "ctrl+g" in {key for key, _, _ in KEYS}
