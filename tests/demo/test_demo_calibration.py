"""The demo's calibration story (issue 15), driven by the demo keys through the simulators.

Ana inspects three bushings with the caliper, then calibrates it: the demo's drift key makes
the caliper read 0.050 mm low, so the as-found series fails, every inspection since its
calibration is suspect and the 12.352 mm bore (12.402 mm once corrected) flips to fail;
the drift key again "adjusts" it, and the as-left series passes: result `adjusted`.

The scans travel through the scanner's pty and the serial scanner driver, the values through
the caliper's pty and the Mitutoyo driver, exactly as at a real bench.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from station.bench.notice import Notice
from station.bench.workflow import Mode
from station.demo.app import demo_hint
from station.demo.master_data import CALIBRATION_BLOCKS
from station.schemas import schema_errors
from tests.helpers.demo_bench import Bench, demo_bench


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    with demo_bench(tmp_path / "demo") as b:
        yield b


def series(bench: Bench) -> Notice:
    """One series: per point, F11 (the point's gauge block) and F7 three times."""
    last = None
    for nominal in CALIBRATION_BLOCKS:
        block = bench.scan_key("f11")
        assert block.level != "error" and f"GB-{nominal}" in block.text, block
        for _ in range(3):
            last = bench.data()
            # Bad news (red) only for the failed as-found and the adjustment it needed.
            assert last.level != "error" or "FAIL" in last.text or "ADJUSTED" in last.text
    assert last is not None
    return last


def test_the_demo_calibration_fails_as_found_flags_the_parts_and_passes_as_left(
    bench: Bench,
) -> None:
    assert bench.scan_key("f3").level == "ok"  # Ana: DIM-2 and CAL-1
    for _ in range(3):  # bores 12.346, 12.352, 12.339 mm: all pass today
        assert bench.scan_key("f4").level == "ok"
        assert bench.scan_key("f5").level != "error"
        assert "PASS" in bench.data().text
        bench.wf.judge_attribute(True)
    assert [b["result"] for b in bench.records("inspection")] == ["accept"] * 3

    bench.keys["ctrl+b"]()  # the caliper drifts: reads 0.050 mm low
    started = bench.scan_key("ctrl+y")
    assert started.level == "ok" and "CP-CALIPER" in started.text, started
    assert bench.wf.state.mode is Mode.CALIBRATION
    assert "F11 gauge block" in demo_hint(bench.wf)
    assert bench.scan_key("f5").level != "error"  # the instrument under test
    as_found = series(bench)
    assert "AS-FOUND FAIL" in as_found.text, as_found

    bench.keys["ctrl+b"]()  # adjusted back
    assert bench.scan_key("f5").level != "error"  # the as-left series
    done = series(bench)
    assert "ADJUSTED" in done.text.upper(), done
    assert any("flip" in line for line in done.lines()), done.lines()

    [cal] = bench.records("calibration")
    assert (cal["result"], cal["as_found"]["verdict"], cal["as_left"]["verdict"]) == (
        "adjusted",
        "fail",
        "pass",
    )
    assert all(p["error"] == pytest.approx(-0.05, abs=0.0011) for p in cal["as_found"]["points"])
    [suspect] = bench.records("suspect")
    assert suspect["cause"] == "calibration-as-found" and len(suspect["inspections"]) == 3
    assert [(r["value"], r["verdict"], r["verdict_corrected"]) for r in suspect["rejudged"]] == [
        (12.352, "pass", "fail")
    ]
    for rec in bench.store.records(0, 10_000):
        assert schema_errors("record", rec.envelope()) == [], rec.type
