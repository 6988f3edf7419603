"""Instrument check that fails (quarantine + suspect list on screen) and an SPC signal that
blocks the next part until its assignable cause is entered (issue 6 item 7, issue 7 item 3)."""

from __future__ import annotations

from typing import Any

import pytest

from station.bench.workflow import Mode

SPC_PLAN = {
    "schema": "qms.master/plan@1",
    "id": "P-3001",
    "rev": "A",
    "status": "released",
    "title": "Pin PN-300: diameter under SPC",
    "part_numbers": ["PN-300"],
    "qualifications": ["DIM-2"],
    "instruction": "WI-3001 rev A",
    "characteristics": [
        {
            "id": "pin-dia",
            "kind": "variable",
            "nominal": 10.0,
            "lsl": 9.9,
            "usl": 10.1,
            "unit": "mm",
            "instrument_type": "caliper",
            "spc": {
                "chart": "imr",
                "rules": ["nelson-1", "nelson-2"],
                "center": 10.0,
                "ucl": 10.03,
                "lcl": 9.97,
            },
        }
    ],
}


async def inspect_pair(h: Any, pilot: Any, serial: str) -> str:
    await h.scan(pilot, "0109506000134352" + f"21{serial}")
    await h.push(pilot, "12.350")
    await h.push(pilot, "25.000")
    await pilot.press("ctrl+p")
    await h.until(pilot, lambda: h.wf.state.mode is Mode.READY, f"inspection of {serial}")
    assert h.wf.state.last_inspection is not None
    return str(h.wf.state.last_inspection.id)


@pytest.mark.asyncio
async def test_failed_instrument_check_quarantines_and_shows_the_suspect_parts(
    harness: Any,
) -> None:
    h = harness()
    async with h.run() as pilot:
        await h.ready(pilot)
        await h.scans(pilot, "B-1017", "CAL-0042")
        ids = [await inspect_pair(h, pilot, s) for s in ("A1", "A2")]
        await pilot.press("f6")
        await h.until(pilot, lambda: h.app.current_mode == "check", "check mode")
        assert "1. scan the instrument to check" in h.text()
        await h.scan(pilot, "CAL-0042")
        assert "2. scan the reference standard" in h.text()
        n = await h.scan(pilot, "GB-05")
        assert n.text == "standard GB-05 refused" and "overdue" in h.text()
        await h.scan(pilot, "GB-25")
        for v in ("25.050", "25.060"):
            await h.push(pilot, v)
        assert "readings    2/3: 25.05, 25.06" in h.text()
        n = await h.push(pilot, "25.050")
        assert "CAL-0042 FAILED" in n.text and "quarantined" in n.text
        screen = h.text()
        assert " FAIL " in screen
        assert "SUSPECT: 2 inspection(s) since its first use:" in screen
        assert "09506000134352 A1" in screen and "09506000134352 A2" in screen
        assert "caliper  push CAL-0042  link ok  BLOCKED - " in screen
        await pilot.press("escape")
        await h.until(pilot, lambda: h.app.current_mode == "work", "check left")
        n = await h.scan(pilot, "CAL-0042")
        assert n.level == "error" and any("quarantined at this station" in d for d in n.details)
        await pilot.press("f2")  # history: the last inspections, then one serial looked up
        await h.until(pilot, lambda: "last inspections" in h.text(), "the history")
        assert h.text().count("09506000134352 A") == 2 and "ACCEPT" in h.text()
        await pilot.press("A", "2", "enter")
        await h.until(pilot, lambda: "serial A2: 1 inspection(s)" in h.text(), "the lookup")
        assert "09506000134352 A2" in h.text() and "09506000134352 A1" not in h.text()
        await pilot.press("escape")
        await h.until(pilot, lambda: "HISTORY" not in h.text(), "history closed")
        assert h.app.focused is not None and h.app.focused.id == "scan"  # contract: focus back
    recs = h.records()
    check = next(r for r in recs if r["type"] == "instrument-check")
    assert check["body"]["verdict"] == "fail" and check["body"]["readings"] == [25.05, 25.06, 25.05]
    suspect = next(r for r in recs if r["type"] == "suspect")
    assert sorted(suspect["body"]["inspections"]) == sorted(ids)
    assert "instrument-quarantined" in h.events()


@pytest.mark.asyncio
async def test_spc_signal_blocks_the_next_part_until_a_cause_is_entered(harness: Any) -> None:
    h = harness()
    h.store.bootstrap_master([("plan", "P-3001", SPC_PLAN)])
    drift = [f"10.00{i}" for i in range(1, 10)]  # nine in a row above the centre: Nelson 2
    async with h.run() as pilot:
        await h.ready(pilot)
        await h.scans(pilot, "B-1017", "CAL-0042")
        for v in drift[:-1]:
            await h.scan(pilot, "PN-300")
            n = await h.push(pilot, v)
            assert "ACCEPTED" in n.text, n.lines()
        screen = h.text()
        assert "SPC pin-dia (n=8)" in screen and "UCL" in screen and "*" in screen
        assert "Cpk" in screen  # capability on the plan screen
        await h.scan(pilot, "PN-300")
        await h.push(pilot, drift[-1])
        await h.until(pilot, lambda: h.wf.state.mode is Mode.SPC_SIGNAL, "the SPC signal")
        await h.until(pilot, lambda: "SPC SIGNAL" in h.text(), "the SPC dialog")
        assert "pin-dia (P-3001 rev A) nelson-2" in h.text()
        # The next part of this plan is refused while the signal waits (scanner still works).
        n = await h.scan(pilot, "PN-300")
        assert n.level == "error" and "SPC signal on plan P-3001" in n.text
        await pilot.press("enter", *"insert worn", "enter")  # tool-wear: first in the list
        await h.until(pilot, lambda: h.wf.state.mode is Mode.READY, "the signal acknowledged")
        assert "SPC signal(s) acknowledged (tool-wear)" in h.notice.text
        assert (await h.scan(pilot, "PN-300")).level == "ok"
    signal = [
        r["body"]["detail"]
        for r in h.records()
        if r["type"] == "event" and r["body"]["kind"] == "spc-signal"
    ]
    assert len(signal) == 1
    assert signal[0]["rule"] == "nelson-2" and signal[0]["characteristic"] == "pin-dia"
    assert signal[0]["cause"] == "tool-wear" and signal[0]["text"] == "insert worn"
    assert signal[0]["points"] == [float(v) for v in drift]
