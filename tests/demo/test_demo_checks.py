"""The demo's own instrument checks (issue 12.14): the demo keys drive the real simulators.

The balance check goes through the real path: the demo keys scan through the scanner's pty
and the serial scanner driver, the balance answers the MT-SICS driver's `SI` over its pty.
The balance must weigh the reference weight when it is checked (a pass, so it is usable for
P-2001), and only the demo's "bad" key makes it fail and quarantines it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from station.bench.notice import Notice
from station.demo.app import KEYS, demo_key_clashes
from station.demo.master_data import PART_PLAIN_2
from tests.helpers.demo_bench import Bench, demo_bench


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    with demo_bench(tmp_path / "demo") as b:
        yield b


def check_balance(bench: Bench, *, bad: bool) -> Notice:
    assert bench.scan_key("f3").level == "ok"  # log in (Ana, qualified)
    assert bench.wf.start_check().level != "error"
    start = bench.scan_key("ctrl+g")
    assert start.level == "ok", start
    weight = bench.scan_key("f11")
    assert "W-100" in weight.text, weight
    if bad:
        bench.keys["f9"]()  # in a balance check F9 only makes the balance read off
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
