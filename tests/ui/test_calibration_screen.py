"""The calibration screen (issue 15): what a technician sees, driven by scans and frames.

A real Mitutoyo frame stream on a pty, the real scanner path, the shipped CP-CALIPER: the
as-found table with its FAIL, the as-left series after adjustment, the result and the
suspect summary, all on the screen; Esc leaves.
"""

from __future__ import annotations

from typing import Any

import pytest

from station.bench.workflow import Mode

POINTS = (
    (5, "GB-05A"),
    (10, "GB-10"),
    (25, "GB-25"),
    (50, "GB-50"),
    (100, "GB-100"),
    (150, "GB-150"),
)
PACE_S = 0.16  # a technician's presses are further apart than the 150 ms debounce


async def series(h: Any, pilot: Any, bias: float) -> Any:
    n = None
    for nominal, block in POINTS:
        assert (await h.scan(pilot, block)).level == "info"
        for k in range(3):
            await pilot.pause(PACE_S)  # the operator's pace, not a wait for readiness
            n = await h.push(pilot, f"{nominal + bias + (k - 1) * 0.001:.3f}")
    return n


@pytest.mark.asyncio
async def test_the_screen_shows_the_as_found_fail_the_as_left_and_the_result(harness: Any) -> None:
    h = harness()
    op = h.store.master_doc("operator", "op-17")
    quals = [*op["qualifications"], {"code": "CAL-1", "expires": "2027-12-31"}]
    h.store.apply_master("operator", "op-17", op | {"qualifications": quals}, source="test")
    gb = h.store.master_doc("standard", "GB-05")  # the shipped GB-05 is overdue
    h.store.apply_master(
        "standard", "GB-05A", gb | {"id": "GB-05A", "cal_due": "2027-04-30"}, source="test"
    )
    async with h.app.run_test(size=(100, 40)) as pilot:
        await h.ready(pilot)
        await h.scan(pilot, "B-1017")
        started = await h.scan(pilot, "CP-CALIPER")
        assert started.level == "ok", started.lines()
        await h.until(pilot, lambda: h.app.current_mode == "calibration", "the calibration screen")
        screen = h.text()
        assert "CP-CALIPER rev A" in screen and "scan the instrument under test (caliper)" in screen
        await h.scan(pilot, "CAL-0042")
        assert "instrument  CAL-0042" in h.text()
        n = await series(h, pilot, 0.03)
        assert "AS-FOUND FAIL" in n.text
        screen = h.text()
        assert "as-found:" in screen and "outside-150" in screen and "fail" in screen
        assert "AS-FOUND FAIL" in screen
        await h.scan(pilot, "CAL-0042")  # adjusted: the as-left series
        n = await series(h, pilot, 0.0)
        assert "ADJUSTED" in n.text, n.lines()
        screen = h.text()
        assert "as-left:" in screen and " ADJUSTED " in screen and "next due 2027-11-21" in screen
        assert "SUSPECT: 0 inspection(s); 0 measurement(s) flip" in screen
        await pilot.press("escape")
        await h.until(pilot, lambda: h.wf.state.mode is Mode.READY, "leaving the calibration")
    kinds = [r["type"] for r in h.records()]
    assert kinds.count("calibration") == 1 and kinds.count("suspect") == 1
