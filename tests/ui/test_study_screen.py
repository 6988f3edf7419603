"""The gauge study screen (issue 17): a gauge R&R driven by scans, badge switches and real
Mitutoyo frames on a pty; the progress grid, the suggested part and the result on screen;
Ctrl+R redoes a reading; Esc leaves."""

from __future__ import annotations

from typing import Any

import pytest

from station.bench.workflow import Mode

PACE_S = 0.16  # a person's presses are further apart than the 150 ms debounce
GRR = {  # (appraiser, part) -> the two trials (see tests/bench/test_studies.py: conditional)
    ("B-1017", "P1"): (10.00, 10.02),
    ("B-1017", "P2"): (10.05, 10.06),
    ("B-1017", "P3"): (10.10, 10.10),
    ("B-1023", "P1"): (10.01, 10.03),
    ("B-1023", "P2"): (10.06, 10.07),
    ("B-1023", "P3"): (10.11, 10.11),
}


@pytest.mark.asyncio
async def test_the_screen_shows_the_grid_the_suggestion_and_the_result(harness: Any) -> None:
    h = harness()
    for oid in ("op-17", "op-23"):
        op = h.store.master_doc("operator", oid)
        quals = [*op["qualifications"], {"code": "MSA-1", "expires": "2027-12-31"}]
        h.store.apply_master("operator", oid, op | {"qualifications": quals}, source="test")
    doc = {
        "schema": "qms.master/procedure@1", "id": "GRR-CALIPER", "rev": "A",
        "status": "released", "kind": "grr", "title": "caliper R&R",
        "instrument_types": ["caliper"], "unit": "mm", "qualifications": ["MSA-1"],
        "tolerance": 0.5, "parts": 3, "appraisers": 2, "trials": 2,
    }  # fmt: skip
    h.store.apply_master("procedure", "GRR-CALIPER", doc, source="test")
    async with h.app.run_test(size=(100, 40)) as pilot:
        await h.ready(pilot)
        await h.scan(pilot, "B-1017")
        assert (await h.scan(pilot, "GRR-CALIPER")).level == "ok"
        await h.until(pilot, lambda: h.app.current_mode == "study", "the study screen")
        assert "GAUGE R&R" in h.text() and "scan the instrument under study" in h.text()
        await h.scan(pilot, "CAL-0042")
        for badge in ("B-1017", "B-1023"):
            if badge == "B-1023":
                assert (await h.scan(pilot, badge)).level == "ok"
            for part in ("P1", "P2", "P3"):
                await h.scan(pilot, part)
                for k, value in enumerate(GRR[(badge, part)]):
                    await pilot.pause(PACE_S)
                    if badge == "B-1023" and part == "P3" and k == 1:
                        break
                    n = await h.push(pilot, f"{value:.3f}")
                    assert n.recorded, n.lines()
        await h.until(pilot, lambda: "*op-23" in h.text(), "the grid")
        screen = h.text()
        assert "2/2    2/2    1/2<" in screen, screen  # op-23 lacks P3 trial 2: suggested
        await pilot.press("ctrl+r")  # redo op-23/P3 trial 1
        await pilot.pause(PACE_S)
        n = await h.push(pilot, "10.110")
        assert n.recorded and "op-23/P3 trial 1" in n.text, n.lines()
        await pilot.pause(PACE_S)
        n = await h.push(pilot, "10.110")
        assert "CONDITIONAL" in n.text, n.lines()
        await h.until(pilot, lambda: " CONDITIONAL " in h.text(), "the result on screen")
        assert "average-range: %GRR 22" in h.text() and "anova: %GRR 22" in h.text()
        await pilot.press("escape")
        await h.until(pilot, lambda: h.wf.state.mode is Mode.READY, "leaving the study")
    kinds = [r["type"] for r in h.records()]
    assert kinds.count("study") == 1
    assert "reading-replaced" in h.events()
