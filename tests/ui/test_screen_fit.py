"""The screen as an operator reads it (issue 12, items 10-13): the part's outcome stays, in
its colour, until the next part; every reason and verdict is readable at 80x24 (whole on the
line or in the F1 details view), and the bench stays usable at 60x20.

Everything is read back from Textual's compositor (`screen_text`), at the terminal size the
test sets, against the simulators and a real store.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from station.bench.workflow import Mode
from station.ui.render import big_text

ANSI = {1: "red", 2: "green", 3: "yellow", 9: "red", 10: "green", 11: "yellow"}


def colours_of(app: Any, word: str) -> set[str]:
    """The ANSI colour names (fore- or background) of every on-screen segment with `word`."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    found: set[str] = set()
    for line in update.strips:
        for strip in [line] if hasattr(line, "_segments") else line:
            for seg in strip:
                if word in seg.text and seg.style is not None:
                    for colour in (seg.style.color, seg.style.bgcolor):
                        if colour is not None and colour.number is not None:
                            found.add(ANSI.get(colour.number, colour.name))
    return found


def flat(screen: str) -> str:
    """The screen's words in one line, dialog borders left out (wrapped text reads whole)."""
    return " ".join(re.sub(r"[║╔╗╚╝═│┌┐└┘─]", " ", screen).split())


def dialog_words(screen: str) -> str:
    """The words inside the dialog's double border, in one line."""
    inside = [m.group(1) for line in screen.splitlines() if (m := re.search("║(.*)║", line))]
    return " ".join(" ".join(inside).split())


def key_bar_rows(screen: str, rows: int = 2) -> str:
    """The last `rows` lines of the screen: the key bar."""
    return "\n".join(screen.splitlines()[-rows:])


async def start_part(h: Any, pilot: Any) -> None:
    await h.ready(pilot)
    await h.scans(pilot, "B-1017", "PN-778", "CAL-0042")


@pytest.mark.asyncio
async def test_a_rejected_part_stays_rejected_in_red_after_its_nc_is_recorded(
    harness: Any,
) -> None:
    h = harness()
    async with h.run() as pilot:
        await start_part(h, pilot)
        await h.push(pilot, "12.450")  # bore-dia FAIL
        await h.push(pilot, "25.000")
        await pilot.press("ctrl+p")  # the last attribute passes: a green PASS reading
        await h.until(pilot, lambda: h.wf.state.mode is Mode.NONCONFORMANCE, "the reject")
        await h.until(pilot, lambda: "REJECTED: nonconformance" in h.text(), "the NC dialog")
        await pilot.press("enter", *"bore oversize", "enter")
        await h.until(pilot, lambda: h.wf.state.mode is Mode.READY, "the NC saved")
        await pilot.pause()
        screen = h.text()
        assert "nonconformance recorded" in h.notice.text  # the notice moved on ...
        assert "part PN-778 REJECTED" in screen  # ... the outcome did not
        assert "failed: bore-dia" in screen
        assert not re.search(r"^ PASS ", screen, re.M), screen  # no green badge of the attribute
        assert "red" in colours_of(h.app, "REJECTED"), colours_of(h.app, "REJECTED")
        # Until the next part starts.
        await h.scan(pilot, "PN-778")
        assert "REJECTED" not in h.text()


@pytest.mark.asyncio
async def test_an_indeterminate_part_says_what_to_do_next(harness: Any) -> None:
    h = harness()
    async with h.run() as pilot:
        await start_part(h, pilot)
        await h.push(pilot, "12.350")
        await h.push(pilot, "25.040")  # seat-dia is guarded: inside U = 0.02 of the USL
        await pilot.press("ctrl+p")
        await h.until(pilot, lambda: h.wf.state.mode is Mode.READY, "completion")
        await pilot.pause()
        screen = h.text()
        assert "INDETERMINATE" in h.notice.text
        assert "part PN-778 INDETERMINATE" in screen
        assert "within the guard band: seat-dia" in screen
        words = flat(screen)
        assert "re-measure with a better instrument (smaller uncertainty U" in words, screen
        assert "or hold the part for review" in words, screen
        assert "yellow" in colours_of(h.app, "INDETERMINATE")
        assert "25.04 INDETERMINATE" in screen  # the table's verdict word, whole at 80 columns


@pytest.mark.asyncio
async def test_an_abandon_shows_no_results_of_the_part_before(harness: Any) -> None:
    h = harness()
    async with h.run() as pilot:
        await start_part(h, pilot)
        await h.push(pilot, "12.346")
        await h.push(pilot, "25.000")
        await pilot.press("ctrl+p")
        await h.until(pilot, lambda: h.wf.state.mode is Mode.READY, "the first part accepted")
        await h.scan(pilot, "PN-778")
        await h.push(pilot, "12.360")
        await pilot.press("f8")
        await h.until(pilot, lambda: "Abandon the inspection" in h.text(), "the question")
        words = dialog_words(h.text())
        assert (
            "The abandoned inspection (1 reading(s)) is kept in the audit trail as an event; "
            "no result is recorded for the part." in words
        ), words
        await pilot.press("y")
        await h.until(pilot, lambda: h.wf.state.draft is None, "the abandon")
        await pilot.pause()
        screen = h.text()
        assert "part PN-778 ABANDONED" in screen
        assert "no result is recorded for the part" in flat(screen)
        # The first part's values (12.346, 25) are not shown under the abandoned part.
        assert "12.346" not in screen and "PASS" not in screen, screen
        assert "ACCEPTED" not in screen
    kinds = [r["body"]["kind"] for r in h.records() if r["type"] == "event"]
    assert kinds.count("inspection-abandoned") == 1
    assert [r["body"]["result"] for r in h.records() if r["type"] == "inspection"] == ["accept"]


@pytest.mark.asyncio
async def test_at_80x24_every_reason_is_readable_and_quit_stays_in_the_key_bar(
    harness: Any,
) -> None:
    h = harness()
    async with h.run() as pilot:
        await start_part(h, pilot)
        assert h.wf.state.mode is Mode.INSPECTING
        screen = h.text()
        # Scanned, not bound yet: the caliper's line names it at once (issue 12.13).
        assert "caliper  push CAL-0042  link ok  CAL-0042 selected, bound on its next" in screen
        assert "^Q  Quit" in key_bar_rows(screen), screen
        assert "^P  Pass" in key_bar_rows(screen) and "F8  Abandon" in key_bar_rows(screen)
        reason = h.wf.input_refusal("balance")
        assert reason is not None and len(reason) > 60  # longer than its line has room for
        line = next(x for x in screen.splitlines() if x.startswith("balance"))
        assert line.rstrip().endswith("... F1"), line  # cut, and says where to read it whole
        await pilot.press("f1")
        await h.until(pilot, lambda: "LAST MESSAGE" in h.text(), "the details view")
        details = dialog_words(h.text())
        assert f"BLOCKED - {reason}" in details, details
        assert "instrument CAL-0042 (caliper) selected" in details  # the last notice, whole
        await pilot.press("escape")
        await h.until(pilot, lambda: "LAST MESSAGE" not in h.text(), "back to the bench")
        assert h.app.focused is not None and h.app.focused.id == "scan"


@pytest.mark.asyncio
async def test_at_60x20_the_reading_the_verdicts_and_the_nc_dialog_fit(harness: Any) -> None:
    h = harness()
    async with h.app.run_test(size=(60, 20)) as pilot:
        await start_part(h, pilot)
        await h.push(pilot, "12.346")
        await h.push(pilot, "25.040")
        await pilot.pause()
        screen = h.text()
        assert "25.04 INDETERMINATE" in screen  # the table's verdict, whole
        assert "^Q  Quit" in key_bar_rows(screen), screen
        rows = [ln.rstrip() for ln in screen.splitlines()]
        assert all(any(r in ln for ln in rows) for r in big_text("25.04")), screen
        assert re.search(r"^ INDETERMINATE ", screen, re.M), screen
        await pilot.press("ctrl+f")
        await h.until(pilot, lambda: "REJECTED: nonconformance" in h.text(), "the NC dialog")
        screen = h.text()
        words = dialog_words(screen)
        assert "describe the nonconformance" in words, screen  # the text field
        assert "Enter: save" in words, screen  # how to save it
        assert "dimension-out-of-tolerance" in words


@pytest.mark.asyncio
async def test_the_tolerance_bar_follows_a_resize(harness: Any) -> None:
    h = harness()
    bar = re.compile(r"12\.3 .\|[-:*]+\|. 12\.4")

    def bar_width() -> int:
        m = bar.search(h.text())
        assert m, h.text()
        return len(m.group(0))

    async with h.run() as pilot:
        await start_part(h, pilot)
        await h.push(pilot, "12.346")
        at_80 = bar_width()
        await pilot.resize_terminal(110, 24)
        await h.until(pilot, lambda: bar_width() != at_80, "the bar redrawn at 110 columns")
        assert bar_width() == at_80 + 30
        await pilot.resize_terminal(80, 24)
        await h.until(pilot, lambda: bar_width() == at_80, "the bar back at 80 columns")


@pytest.mark.asyncio
async def test_a_check_interval_beyond_the_calendar_does_not_crash_the_header(
    harness: Any,
) -> None:
    """check_interval_h = 1e8 once took the header down (issue 13.4: 'date value out of
    range' from the check's expiry). The master-data validation now bounds the field; the
    instrument is swapped in memory to stand for data that reached the bench anyway."""
    h = harness()
    async with h.run() as pilot:
        await h.ready(pilot)
        await h.scan(pilot, "B-1017")
        await pilot.press("f6")
        await h.until(pilot, lambda: h.app.current_mode == "check", "check mode")
        await h.scans(pilot, "BAL-0003", "W-100")
        for v in ("100.01", "100.00", "99.99"):
            h.sims.balance.value = v
            n = await h.poll(pilot)
        assert "BAL-0003 PASSED" in n.text  # a passing check: its expiry is now computed
        await pilot.press("escape")
        await h.until(pilot, lambda: h.app.current_mode == "work", "back to work")
        master = h.wf.master
        h.wf.master = dataclasses.replace(
            master,
            instruments=tuple(
                dataclasses.replace(i, check_interval_h=1e8) if i.id == "BAL-0003" else i
                for i in master.instruments
            ),
        )
        h.app._refresh_header()  # as the clock tick does every second
        await h.until(pilot, lambda: "check valid: far future" in h.text(), "the header")
        await h.until(pilot, lambda: h.app.is_running and "link ok" in h.text(), "still up")


@pytest.mark.asyncio
async def test_a_failed_check_with_nothing_suspect_says_so_without_an_empty_list(
    harness: Any,
) -> None:
    h = harness()
    async with h.run() as pilot:
        await h.ready(pilot)
        await h.scan(pilot, "B-1017")
        await pilot.press("f6")
        await h.until(pilot, lambda: h.app.current_mode == "check", "check mode")
        await h.scans(pilot, "CAL-0042", "GB-25")
        for v in ("25.050", "25.060", "25.050"):
            n = await h.push(pilot, v)
        assert "CAL-0042 FAILED" in n.text
        screen = h.text()
        assert "No inspection used it since its first use: none is suspect." in screen, screen
        assert "SUSPECT: 0" not in screen
        assert not re.search(r"since its first use:\s*$", screen, re.M), screen
