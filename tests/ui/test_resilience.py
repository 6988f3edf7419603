"""A hung or unplugged device never freezes or kills the bench; idle logout; clean quit."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import pytest
from textual.binding import Binding, BindingType

from station.bench.workflow import Mode
from station.ui.app import BenchApp


@pytest.mark.asyncio
async def test_a_silent_balance_does_not_freeze_the_ui(harness: Any) -> None:
    h = harness()
    async with h.run() as pilot:
        await h.ready(pilot)
        await h.scans(pilot, "B-1017", "PN-913")
        h.sims.balance.silent = True
        await pilot.press("space")
        assert h.notice.text == "requested a value from balance"
        h.sims.balance.wait_for_requests(1)
        # The reader thread waits up to timeout_s (1 s) for the reply; the UI answers now.
        t0 = time.monotonic()
        await pilot.press("f2")
        await h.until(pilot, lambda: "HISTORY" in h.text(), "the history dialog")
        assert time.monotonic() - t0 < 0.5
        assert h.notice.text == "requested a value from balance"  # the request still pending
        await pilot.press("escape")
        await h.until(
            pilot, lambda: "no complete mtsics reply to the request" in h.notice.text, "timeout"
        )
        assert h.notice.level == "warn"
        assert h.wf.state.mode is Mode.INSPECTING  # nothing else changed


@pytest.mark.asyncio
async def test_unplugged_gauge_is_shown_and_read_again_after_replug(harness: Any) -> None:
    h = harness()
    async with h.run() as pilot:
        await h.ready(pilot)
        await h.scans(pilot, "B-1017", "PN-778", "CAL-0042")
        h.sims.gauge.unplug()
        await h.until(pilot, lambda: "DISCONNECTED" in h.text(), "the disconnect shown")
        assert h.notice.level == "warn"
        assert h.notice.text.startswith("input caliper DISCONNECTED: ")
        h.sims.gauge.replug()
        await h.until(pilot, lambda: h.app.links["caliper"].state == "connected", "reconnect")
        # Selected by the scan, bound by its next reading: the header says which it is.
        assert "caliper  push CAL-0042  link ok  CAL-0042 selected, bound on its next" in h.text()
        n = await h.push(pilot, "12.350")
        assert n.text == "bore-dia #1: 12.35 mm -> PASS"


@pytest.mark.asyncio
async def test_idle_operator_is_logged_out_and_the_draft_kept(harness: Any) -> None:
    h = harness(idle_timeout_s=0.5)
    async with h.run() as pilot:
        await h.ready(pilot)
        await h.scans(pilot, "B-1017", "PN-778")
        await h.until(pilot, lambda: h.wf.state.operator is None, "the idle logout", timeout=5)
        assert "logged out (idle timeout)" in h.notice.text
        assert h.app.current_mode == "idle"
        assert "unfinished: part PN-778" in h.text()
    logout = [r for r in h.records() if r["type"] == "event" and r["body"]["kind"] == "logout"]
    assert logout[-1]["body"]["detail"] == {"why": "idle timeout"}
    assert h.store.load_draft() is not None


@pytest.mark.asyncio
async def test_abandon_asks_first_and_ctrl_q_quits_with_status_0(harness: Any) -> None:
    h = harness()
    async with h.run() as pilot:
        await h.ready(pilot)
        await h.scans(pilot, "B-1017", "PN-778")
        await pilot.press("f8")
        await h.until(pilot, lambda: "Abandon the inspection of part PN-778?" in h.text(), "ask")
        await pilot.press("n")
        await h.until(pilot, lambda: "Abandon the" not in h.text(), "declined")
        assert h.wf.state.draft is not None
        assert h.app.focused is not None and h.app.focused.id == "scan"  # contract: focus back
        await pilot.press("f8")
        await h.until(pilot, lambda: "Abandon the inspection" in h.text(), "asked again")
        await pilot.press("y")
        await h.until(pilot, lambda: h.wf.state.draft is None, "abandoned")
        assert h.notice.text == "inspection of part PN-778 abandoned"
        await pilot.press("ctrl+l")
        await h.until(pilot, lambda: h.app.current_mode == "idle", "the logout")
        assert h.notice.text == "A. Inspector logged out (logout key)"
        await pilot.press("ctrl+q")
    assert h.app.return_value == 0
    assert "inspection-abandoned" in h.events()
    for r in h.app.readers:
        assert not r.running  # every reader thread stopped with the app


@pytest.mark.asyncio
async def test_demo_keys_are_bound_shown_and_run_on_the_ui_thread(harness: Any) -> None:
    pressed: list[str] = []

    class ExtraKeys(BenchApp):
        """The bench with keys of its own, as `station demo` adds them (DemoBenchApp)."""

        BINDINGS: ClassVar[list[BindingType]] = [
            Binding("f9", "data_button", "Data button"),
            Binding("d", "demo_scan", "Demo scan"),
        ]

        def action_data_button(self) -> None:
            pressed.append("f9")
            h.sims.gauge.press_button()

        def action_demo_scan(self) -> None:
            pressed.append("d")

    h = harness(app_class=ExtraKeys)
    async with h.run() as pilot:
        await h.ready(pilot)
        assert " F9  Data button " in h.text() and " d  Demo scan " in h.text()
        await h.scans(pilot, "B-1017", "PN-778", "CAL-0042")
        before = h.app.notice
        await pilot.press("f9")
        await h.until(pilot, lambda: h.app.notice is not before, "the demo reading")
        assert pressed == ["f9"] and h.notice.text == "bore-dia #1: 12.346 mm -> PASS"
        await pilot.press("d")  # a printable demo key acts on an empty scan field ...
        await h.until(pilot, lambda: pressed == ["f9", "d"], "the demo key's action")
        await pilot.press("P", "d")  # ... and is typed once a scan has started
        assert h.app.screen.query_one("#scan").value == "Pd"
        assert pressed == ["f9", "d"]


@pytest.mark.asyncio
async def test_status_line_follows_the_sync_daemon_through_the_store(harness: Any) -> None:
    h = harness()
    async with h.run() as pilot:
        await h.ready(pilot)
        await h.until(pilot, lambda: "sync: no daemon | " in h.text(), "never reported")
        pending = h.store.status().pending
        assert f"| {pending} pending, delivered #0 |" in h.text()
        h.store.set_sync_state(True, "connected to 127.0.0.1:1883")  # as the daemon does
        h.store.mark_delivered_upto(h.store.last_seq())
        last = h.store.last_seq()
        await h.until(
            pilot, lambda: f"sync: online | 0 pending, delivered #{last}" in h.text(), "on"
        )
        h.store.set_sync_state(False, "broker unreachable")
        await h.until(pilot, lambda: "sync: OFFLINE | 0 pending" in h.text(), "offline")
