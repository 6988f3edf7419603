"""`station bench` in a real terminal: tmux at 80x24 with TERM=linux, the installed console
script, a keyboard-wedge scanner (send-keys), a pty Mitutoyo gauge pushed from this process.

The bench runs on the real clock here, so the master data is generated with dates relative
to today (calibration and qualification valid for months).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.serial_gauge import SerialGaugeSim
from station.schemas import schema_errors
from station.store import Store
from tests.helpers.terminal import STATION, Tmux, write_bench_master


def write_master(folder: Path) -> None:
    write_bench_master(folder, {"op-70": {"name": "T. Terminal", "badge": "B-7001"}}, chamfer=True)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    t = Tmux("bench")
    yield t
    t.kill_server()


def test_bench_in_a_real_terminal_completes_an_inspection(tmp_path: Path, tmux: Tmux) -> None:
    assert STATION.exists(), f"console script missing: {STATION} (pip install -e .)"
    write_master(tmp_path / "master")
    with SerialGaugeSim("mitutoyo", tmp_path / "dev" / "caliper", value="10.020") as gauge:
        cfg = tmp_path / "station.toml"
        cfg.write_text(
            '[station]\nid = "bench-tmux"\nsite = "plant-a"\ndata_dir = "data"\n\n'
            '[master]\ndir = "master"\n\n'
            f'[[inputs]]\nname = "caliper"\ndriver = "mitutoyo"\nport = "{gauge.path}"\n',
            encoding="utf-8",
        )
        command = f"env TERM=linux {STATION} bench -c {cfg}"
        tmux.start(command)
        idle = tmux.wait(lambda s: "S C A N   Y O U R   B A D G E" in s, "the idle screen")
        assert "bench-tmux" in idle and "caliper" in idle
        tmux.wait(lambda s: "link ok" in s, "the caliper connected")
        tmux.type("B-7001")
        tmux.wait(lambda s: "welcome T. Terminal: scan a part" in s, "the login")
        tmux.type("PN-700")
        tmux.wait(lambda s: "plan P-7001 rev A" in s, "the plan screen")
        tmux.type("CAL-7")
        tmux.wait(lambda s: "instrument CAL-7 (caliper) selected" in s, "the instrument")
        gauge.press_button()
        # The verdict is drawn first and the table one frame later (`BenchApp.apply`).
        tmux.wait(lambda s: "length #1: 10.02 mm" in s and "10.02 PASS" in s, "the reading")
        tmux.key("C-p")  # the chamfer attribute: pass
        done = tmux.wait(lambda s: "part PN-700 ACCEPTED" in s, "the result banner")
        assert "chamfer" in done
        tmux.quit_bench()
    with Store.open(tmp_path / "data" / "station.db", site="plant-a", station="bench-tmux") as st:
        recs = [r.envelope() for r in st.records()]
    for env in recs:
        assert schema_errors("record", env) == [], env
    insp = [r for r in recs if r["type"] == "inspection"]
    assert len(insp) == 1
    body = insp[0]["body"]
    assert body["result"] == "accept" and body["operator"] == "op-70"
    assert [(m["characteristic"], m["raw"]) for m in body["measurements"]] == [
        ("length", "01A+0010.020"),
        ("chamfer", None),
    ]
