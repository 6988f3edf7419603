"""The demo's gauge studies (issue 17), driven by the demo keys through the simulators: a
Type-1 of the caliper on a gauge block with the simulator's scatter, then a short R&R with
Ana and Ben switching by badge; the scans through the scanner's pty, the values through the
caliper's pty and the Mitutoyo driver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from station.bench.workflow import Mode
from station.demo.app import demo_hint
from station.demo.master_data import GRR_PROCEDURE
from tests.helpers.demo_bench import Bench, demo_bench


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    with demo_bench(tmp_path / "demo") as b:
        yield b


def test_the_demo_type1_and_grr(bench: Bench) -> None:
    assert bench.scan_key("f3").level == "ok"  # Ana
    started = bench.scan_key("ctrl+t")
    assert started.level == "ok" and bench.wf.state.mode is Mode.STUDY, started.lines()
    assert "F11 gauge block" in demo_hint(bench.wf)
    assert bench.scan_key("f5").level == "ok"
    assert bench.scan_key("f11").level == "info"  # GB-25
    for _ in range(24):
        assert bench.data().recorded
    done = bench.data()
    assert "ACCEPTABLE" in done.text, done.lines()
    [t1] = bench.records("study")
    assert t1["kind"] == "type-1" and t1["verdict"] == "acceptable" and t1["results"]["s"] > 0
    assert bench.wf.leave_study().level == "info"

    assert bench.wf.scan(GRR_PROCEDURE).level == "ok"  # the R&R's sheet id, typed
    assert bench.scan_key("f5").level == "ok"
    for badge in ("f3", "f12"):  # Ana, then Ben appraises (F3 is Ana's own badge: no logout)
        if badge == "f12":
            assert bench.scan_key("f12").level == "ok"
        for part in ("P3", "P1", "P2"):
            assert bench.wf.scan(part).level == "info"
            for _ in range(2):
                n = bench.data()
    assert n.recorded and "gauge R&R of CAL-0042" in n.text, n.lines()
    grr = bench.records("study")[-1]
    assert grr["kind"] == "grr" and grr["appraisers"] == ["op-17", "op-23"]
