"""`station demo`'s world, headless: simulators, broker, central and sync really run.

An inspection driven through the real drivers (pty caliper, MT-SICS balance, Modbus torque)
and the bench workflow reaches the reference central QMS, and the station's pending count
falls to zero (ack mode "central").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim._central_db import read_summary
from sim.net import wait_until
from station.demo.environment import SITE, STATION
from station.demo.master_data import BADGE_QUALIFIED, PART_GTIN
from tests.helpers.demo_bench import demo_bench


@pytest.mark.parametrize("broker", ["mosquitto", "embedded"])
def test_demo_world_carries_an_inspection_to_the_central(tmp_path: Path, broker: str) -> None:
    with demo_bench(tmp_path / "demo", with_sync=True, broker=broker) as bench:
        env, store, wf, caliper = bench.env, bench.store, bench.wf, bench.caliper
        assert env.broker_kind == broker
        assert wf.scan(BADGE_QUALIFIED).level == "ok"
        assert wf.scan("01" + PART_GTIN + "21SN-DEMO-1").level == "ok"
        assert wf.scan("CAL-0042").level == "ok"
        env.caliper.value = "12.346"
        env.caliper.press_button()
        r = caliper.read(5.0)
        # The raw string is the gauge's frame exactly as sent, without its terminator.
        assert (r.value, r.raw) == (12.346, env.caliper.frame().decode("latin-1").rstrip())
        assert wf.reading("caliper", r).level == "ok"
        assert "ACCEPTED" in wf.judge_attribute(True).text
        last = store.last_seq()
        wait_until("the central's ack of every record", lambda: store.status().pending == 0, 30)
        assert store.status().delivered_seq >= last
        central = read_summary(env.workdir / "central.db")["stations"][f"{SITE}/{STATION}"]
        assert central["last_seq"] >= last and central["gaps"] == [] and central["chain_valid"]
        assert central["invalid"] == 0
