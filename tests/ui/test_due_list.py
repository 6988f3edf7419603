"""The calibration-due list at the bench (issue 15): Ctrl+D, most urgent first."""

from __future__ import annotations

from typing import Any

import pytest

from station.ui.duelist import DueScreen


@pytest.mark.asyncio
async def test_ctrl_d_lists_overdue_first_with_the_procedure_and_esc_closes(harness: Any) -> None:
    h = harness()
    # A failed check here quarantines locally: the list says so beside the master's status.
    h.store.quarantine_instrument("CAL-0042", "check failed (bias 0.05 mm > MPE 0.03 mm)", "op-17")
    async with h.run() as pilot:
        await h.ready(pilot)
        await pilot.press("ctrl+d")
        await h.until(pilot, lambda: isinstance(h.app.screen, DueScreen), "the due list")
        await pilot.pause()
        text = h.text()
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        at = {
            key: next(i for i, ln in enumerate(lines) if key in ln)
            for key in (
                "OVERDUE",
                "CAL-0007",
                "LATER",
                "TRQ-0011",
                "CAL-0042",
            )
        }
        # The clock is 2026-11-21: CAL-0007 (due 2026-09-30) is 52 days overdue, listed
        # first with the procedure for its type; the rest are beyond the 30-day horizon.
        assert at["OVERDUE"] < at["CAL-0007"] < at["LATER"] < at["TRQ-0011"]
        assert "CAL-0007 caliper due 2026-09-30 (52 d overdue) CP-CALIPER" in text
        assert "quarantined here: check failed" in text
        await pilot.press("escape")
        await h.until(pilot, lambda: not isinstance(h.app.screen, DueScreen), "the bench")
