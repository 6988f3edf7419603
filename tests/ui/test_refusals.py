"""Every refusal path of the bench, seen on the screen with its reason, nothing recorded.

Unknown badge, unqualified operator, no released plan, overdue / quarantined / unchecked
instrument, wrong instrument type, storage budget (issue 6 "Done when").
"""

from __future__ import annotations

from typing import Any

import pytest

from station.bench.workflow import Mode

OBSOLETE_ONLY = {
    "schema": "qms.master/plan@1",
    "id": "P-9001",
    "rev": "A",
    "status": "obsolete",
    "title": "Retired part",
    "part_numbers": ["PN-999"],
    "characteristics": [{"id": "look", "kind": "attribute"}],
}


@pytest.mark.asyncio
async def test_operator_refusals_unknown_badge_and_expired_qualification(harness: Any) -> None:
    h = harness()
    async with h.run() as pilot:
        await h.ready(pilot)
        n = await h.scan(pilot, "B-9999")
        assert n.level == "error" and "unknown scan 'B-9999'" in n.text
        assert "unknown scan 'B-9999'" in h.text()
        assert h.wf.state.operator is None and h.app.current_mode == "idle"
        assert (await h.scan(pilot, "PN-778")).text == "scan your badge first"
        await h.scan(pilot, "B-1023")  # B. Trainee: DIM-2 expired 2026-06-30
        n = await h.scan(pilot, "PN-778")
        assert n.level == "error" and "B. Trainee may not inspect plan P-1001" in n.text
        screen = h.text()
        assert "may not inspect plan P-1001" in screen
        assert "DIM-2" in screen and "expired" in screen  # the reason, naming the code
        assert h.wf.state.draft is None
    assert [r["type"] for r in h.records()].count("inspection") == 0


@pytest.mark.asyncio
async def test_part_and_instrument_refusals(harness: Any) -> None:
    h = harness()
    h.store.bootstrap_master([("plan", "P-9001", OBSOLETE_ONLY)])
    async with h.run() as pilot:
        await h.ready(pilot)
        await h.scan(pilot, "B-1017")
        n = await h.scan(pilot, "PN-999")
        assert n.level == "error" and "PN-999" in n.text and "released" in n.text, n.lines()
        assert h.wf.state.draft is None
        await h.scan(pilot, "PN-778")
        # Overdue: refused at the scan, every reason shown.
        n = await h.scan(pilot, "CAL-0007")
        assert n.text == "instrument CAL-0007 is blocked"
        assert any("overdue" in d for d in n.details)
        assert "overdue" in h.text()
        # Even when it was bound before it fell due, its readings are refused.
        h.store.bind_instrument("caliper", "CAL-0007")
        n = await h.push(pilot, "12.350")
        assert n.text == "reading refused: instrument CAL-0007 is blocked"
        assert "caliper  push CAL-0007  link ok  BLOCKED - CAL-0007 refused" in h.text()
        assert h.wf.state.draft is not None and h.wf.state.draft.measurements == {}
        # Quarantined.
        n = await h.scan(pilot, "MIC-0099")
        assert n.level == "error" and any("quarantined" in d for d in n.details)
        assert "quarantined" in h.text()
    assert "reading-refused" in h.events()


@pytest.mark.asyncio
async def test_unchecked_balance_and_wrong_instrument_type_are_refused(harness: Any) -> None:
    h = harness()
    async with h.run() as pilot:
        await h.ready(pilot)
        await h.scans(pilot, "B-1017", "PN-913")
        n = await h.poll(pilot)  # the mass needs the balance: it needs its daily check
        assert n.text == "reading refused: instrument BAL-0003 is blocked", n.lines()
        assert any("check" in d for d in n.details)
        assert "BAL-0003 is blocked" in h.text()
        await h.scan(pilot, "CAL-0042")
        n = await h.push(pilot, "85.000")
        assert n.level == "error" and "wrong instrument type" in n.text
        assert "balance" in n.text and "torque" in n.text  # what the plan needs instead
        assert "wrong instrument type" in h.text()
        assert h.wf.state.draft is not None and h.wf.state.draft.measurements == {}


@pytest.mark.asyncio
async def test_storage_budget_refuses_new_inspections_with_the_reason(harness: Any) -> None:
    h = harness(budget_mb=0.001)
    for _ in range(20):
        h.store.append("event", {"kind": "filler", "operator": None, "detail": {"pad": "x" * 99}})
    async with h.run() as pilot:
        await h.ready(pilot)
        await h.scan(pilot, "B-1017")
        n = await h.scan(pilot, "PN-778")
        assert n.text == "new inspections are refused"
        assert any("storage budget reached" in d for d in n.details)
        screen = h.text()
        assert "new inspections are refused" in screen and "storage budget reached" in screen
        assert h.wf.state.mode is Mode.READY
        h.store.mark_delivered_upto(h.store.last_seq())  # the sync daemon caught up
        assert (await h.scan(pilot, "PN-778")).level == "ok"
