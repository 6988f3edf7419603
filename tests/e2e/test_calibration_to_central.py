"""End to end (issue 15): a calibration driven by scans and pty frames reaches the central.

The whole demo world runs: simulators on ptys, the embedded MQTT broker, `sim.central`
(answering passing calibrations as a QMS does) and the real `station sync` daemon over the
bench's store. Ana inspects three bushings, then calibrates the drifted caliper: as-found
fails, the suspect re-judges one bore to fail, as-left passes. The central must hold the
`calibration` and `suspect` records, valid against the contract, chained, once each; and its
answer (the instrument with cal_due = next_due, calibrated = today) must come back down to the
station's master data: the loop closes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sim.net import wait_until
from station.demo.environment import demo_zone
from tests.demo.test_demo_calibration import series
from tests.helpers.central import delivery_problems, wait_for_central
from tests.helpers.demo_bench import Bench, demo_bench


def drifted_calibration(bench: Bench) -> None:
    assert bench.scan_key("f3").level == "ok"
    for _ in range(3):
        assert bench.scan_key("f4").level == "ok"
        assert bench.scan_key("f5").level != "error"
        assert "PASS" in bench.data().text
        bench.wf.judge_attribute(True)
    bench.keys["ctrl+b"]()
    assert bench.scan_key("ctrl+y").level == "ok"
    assert bench.scan_key("f5").level != "error"
    assert "AS-FOUND FAIL" in series(bench).text
    bench.keys["ctrl+b"]()
    assert bench.scan_key("f5").level != "error"
    assert "ADJUSTED" in series(bench).text.upper()


def test_a_calibration_and_its_suspect_reach_the_central_and_its_answer_comes_back(
    tmp_path: Path,
) -> None:
    with demo_bench(tmp_path / "demo", with_sync=True) as bench:
        drifted_calibration(bench)
        last_seq = bench.store.last_seq()
        recs = wait_for_central(bench.env.workdir / "central.db", last_seq)
        assert delivery_problems(recs) == []  # once each, no gap, chained, contract-valid
        [cal] = [r["body"] for r in recs if r["type"] == "calibration"]
        [suspect] = [r["body"] for r in recs if r["type"] == "suspect"]
        assert cal["result"] == "adjusted" and cal["as_found"]["verdict"] == "fail"
        assert suspect["cause"] == "calibration-as-found"
        assert [(x["verdict"], x["verdict_corrected"]) for x in suspect["rejudged"]] == [
            ("pass", "fail")
        ]

        # The QMS's answer, down through the sync daemon into the bench's master data.
        def answered() -> bool:
            inst = bench.store.master_data().instrument("CAL-0042")
            return inst is not None and str(inst.cal_due) == cal["next_due"]

        wait_until(f"CAL-0042 to come back with cal_due {cal['next_due']}", answered, 30)
        inst = bench.store.master_data().instrument("CAL-0042")
        assert inst is not None and inst.status == "active"
        # `calibrated` is the completion's date on the site's calendar (the demo's zone).
        completed = datetime.fromisoformat(cal["completed"]).astimezone(ZoneInfo(demo_zone()))
        assert inst.calibrated == completed.date()
