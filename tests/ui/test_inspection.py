"""Whole inspections at the bench, through the UI, against the simulators and a real store.

Scans are typed into the scan field and ended with Enter (a keyboard-wedge scanner) or come
from the serial scanner simulator (faster to drive: typing costs ~70 ms a key in Pilot), caliper
values come from the pty Mitutoyo simulator's data button, balance and torque values from
poll requests (space) answered by the MT-SICS and Modbus simulators.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from station.bench.workflow import Mode

GS = "\x1d"


@pytest.mark.asyncio
async def test_passing_inspection_from_scans_and_the_data_button(harness: Any) -> None:
    h = harness()
    async with h.run() as pilot:
        await h.ready(pilot)
        assert "S C A N   Y O U R   B A D G E" in h.text()
        assert (await h.type_scan(pilot, "B-1017")).text == "welcome A. Inspector: scan a part"
        assert h.app.current_mode == "work"
        part = "]C1" + "0109506000134352" + "21SN-0001" + GS + "10L42"
        n = await h.type_scan(pilot, part)
        assert n.text == "part 09506000134352 serial SN-0001: plan P-1001 rev C"
        screen = h.text()
        assert "plan P-1001 rev C: Shaft bushing SB-12" in screen
        assert "WI-1001 rev C" in screen
        assert "bore-dia          12.35    12.3 .. 12.4    mm   1  caliper" in screen
        assert (await h.type_scan(pilot, "CAL-0042")).level == "ok"
        n = await h.push(pilot, "12.346")
        assert n.text == "bore-dia #1: 12.346 mm -> PASS"
        screen = h.text()
        assert "12.346 PASS" in screen  # the table row
        assert re.search(r"^ PASS ", screen, re.M), screen  # the big verdict, under the digits
        assert re.search(r"12\.3 +\|-+:?-*\*-+\| +12\.4", screen), screen  # the bar
        await h.push(pilot, "25.010")
        # A scan that starts with p or f while the attribute is pending is a scan, never a
        # judgement: "pf-9" is typed as a wedge scanner types it, and stays unknown text.
        n = await h.type_scan(pilot, "pf-9")
        assert n.level == "error" and "pf-9" in n.text, n.lines()
        assert ("visual-burr", 1) not in h.wf.state.draft.measurements  # type: ignore[union-attr]
        await pilot.press("ctrl+p")  # visual-burr: the attribute, judged with a key
        await h.until(pilot, lambda: h.wf.state.mode is Mode.READY, "completion")
        assert "ACCEPTED" in h.notice.text
        assert "part 09506000134352 ACCEPTED" in h.text()
        assert h.app.focused is not None and h.app.focused.id == "scan"
    insp = [r for r in h.records() if r["type"] == "inspection"]
    assert len(insp) == 1
    body = insp[0]["body"]
    assert body["result"] == "accept"
    assert body["part"]["serial"] == "SN-0001" and body["part"]["lot"] == "L42"
    assert [(m["characteristic"], m["value"], m["raw"]) for m in body["measurements"]] == [
        ("bore-dia", 12.346, "01A+0012.346"),
        ("seat-dia", 25.01, "01A+0025.010"),
        ("visual-burr", None, None),
    ]
    assert h.store.load_draft() is None


@pytest.mark.asyncio
async def test_rejected_inspection_opens_the_nc_dialog_and_records_the_nc(harness: Any) -> None:
    h = harness()
    async with h.run() as pilot:
        await h.ready(pilot)
        await h.scans(pilot, "B-1017", "PN-778", "CAL-0042")
        n = await h.push(pilot, "12.450")
        assert n.level == "error" and "FAIL" in n.text
        assert "12.45 FAIL" in h.text()
        assert re.search(r"12\.3 +\|[-:]+\|\* 12\.4", h.text()), h.text()  # "*" beyond the USL
        await h.push(pilot, "25.000")
        await pilot.press("ctrl+p")
        await h.until(pilot, lambda: h.wf.state.mode is Mode.NONCONFORMANCE, "the reject")
        await h.until(pilot, lambda: "REJECTED: nonconformance" in h.text(), "the NC dialog")
        assert "failed: bore-dia" in h.text()
        # Enter on the first reason moves to the text; empty text is refused in the dialog.
        await pilot.press("enter", "enter")
        await h.until(pilot, lambda: "free text is required" in h.text(), "the refusal")
        await pilot.press("shift+tab", "down", "enter", *"bore oversize", "enter")
        await h.until(pilot, lambda: h.wf.state.mode is Mode.READY, "the NC saved")
        assert "nonconformance recorded" in h.notice.text
        assert h.app.focused is not None and h.app.focused.id == "scan"
    recs = h.records()
    insp = next(r for r in recs if r["type"] == "inspection")
    nc = next(r for r in recs if r["type"] == "nonconformance")
    assert insp["body"]["result"] == "reject"
    assert nc["body"]["inspection"] == insp["id"]
    assert nc["body"]["reason_code"] == "weight-out-of-tolerance"  # second in the list
    assert nc["body"]["description"] == "bore oversize"
    assert nc["body"]["characteristics"] == ["bore-dia"]


@pytest.mark.asyncio
async def test_redo_replaces_the_value_and_keeps_the_old_one(harness: Any) -> None:
    h = harness()
    async with h.run() as pilot:
        await h.ready(pilot)
        await h.scans(pilot, "B-1017", "PN-778", "CAL-0042")
        await h.push(pilot, "12.390")
        await pilot.press("ctrl+r")
        await h.until(pilot, lambda: "replaces bore-dia #1" in h.notice.text, "redo armed")
        assert "bore-dia #1 REDO: the next value" in h.text()
        await h.push(pilot, "12.350")
        assert "12.35 PASS" in h.text()
        await h.push(pilot, "25.000")
        await pilot.press("ctrl+p")
        await h.until(pilot, lambda: h.wf.state.mode is Mode.READY, "completion")
    recs = h.records()
    replaced = [r for r in recs if r["type"] == "event" and r["body"]["kind"] == "reading-replaced"]
    assert [r["body"]["detail"]["old"]["value"] for r in replaced] == [12.39]
    insp = next(r for r in recs if r["type"] == "inspection")
    assert insp["body"]["measurements"][0]["value"] == 12.35


@pytest.mark.asyncio
async def test_unfinished_inspection_is_offered_and_resumed_after_a_crash(harness: Any) -> None:
    first = harness()
    async with first.run() as pilot:
        await first.ready(pilot)
        await first.scans(pilot, "B-1017", "PN-778", "CAL-0042")
        await first.push(pilot, "12.350")
    first.store.close()  # the process is gone: only the store file survives
    second = harness()
    async with second.run() as pilot:
        await second.ready(pilot)
        offered = second.notice
        assert offered.level == "warn" and "unfinished inspection of part PN-778" in offered.text
        assert "unfinished: part PN-778 (plan P-1001 rev C) by op-17" in second.text()
        n = await second.scan(pilot, "B-1017")
        assert "inspection of part PN-778 resumed" in n.text
        assert "12.35 PASS" in second.text()  # the reading taken before the crash
        await second.push(pilot, "25.000")
        await pilot.press("ctrl+p")
        await second.until(pilot, lambda: second.wf.state.mode is Mode.READY, "completion")
    insp = [r for r in second.records() if r["type"] == "inspection"]
    assert [m["value"] for m in insp[0]["body"]["measurements"]][:2] == [12.35, 25.0]


@pytest.mark.asyncio
async def test_poll_inputs_balance_and_torque_after_a_passing_balance_check(
    harness: Any,
) -> None:
    """PN-913: mass on the MT-SICS balance (daily check needed first), torque over Modbus."""
    h = harness()
    async with h.run() as pilot:
        await h.ready(pilot)
        # The balance in the header: blocked, with the reason (whole in the F1 view).
        assert "balance  poll BAL-0003  link ok  BLOCKED - BAL-0003 refused: instrument ch" in (
            h.text()
        )
        await h.scan(pilot, "B-1017")
        await pilot.press("f6")
        await h.until(pilot, lambda: h.app.current_mode == "check", "check mode")
        await h.scans(pilot, "BAL-0003", "W-100")
        for v in ("100.01", "100.00", "99.99"):
            h.sims.balance.value = v
            n = await h.poll(pilot)
        assert "BAL-0003 PASSED" in n.text
        assert "PASS" in h.text() and "bias" in h.text()
        await pilot.press("escape")
        await h.until(pilot, lambda: h.app.current_mode == "work", "back to work")
        await h.scan(pilot, "PN-913")
        h.sims.balance.value = "85.41"
        assert (await h.poll(pilot)).text == "mass #1: 85.41 g -> PASS"
        h.sims.torque.set_value(12.5)
        n = await h.poll(pilot)  # the next characteristic needs the torque input
        assert "ACCEPTED" in n.text
    insp = next(r for r in h.records() if r["type"] == "inspection")
    ms = insp["body"]["measurements"]
    assert [(m["characteristic"], m["value"], m["instrument"]) for m in ms] == [
        ("mass", 85.41, "BAL-0003"),
        ("breakaway-torque", 12.5, "TRQ-0011"),
    ]
    assert sum(1 for r in h.records() if r["type"] == "instrument-check") == 1
