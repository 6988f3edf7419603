"""SVG screenshots of the key bench screens at 80x24 (kept under tmp_path for a look).

pytest-textual-snapshot cannot be installed with pytest 9.2 (the pinned test toolchain
(pyproject.toml)), so these save
`App.save_screenshot()` SVGs and assert the text that must be on each screen; the SVG keeps
the colours for a reviewer. The words checked are ones an operator reads from a metre away.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest

from station.bench.workflow import Mode


def non_ansi_colours(app: Any) -> list[str]:
    """Segments of the current screen whose colour is not one of the 16 ANSI colours."""
    bad = []
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    for line in update.strips:
        for strip in [line] if hasattr(line, "_segments") else line:
            for seg in strip:
                style = seg.style
                for colour in () if style is None else (style.color, style.bgcolor):
                    if colour is not None and colour.type.name not in ("DEFAULT", "STANDARD"):
                        bad.append(f"{seg.text!r}: {colour.name}")
    return bad


def svg_text(path: Path) -> str:
    """The text of a Rich SVG export, spaces restored (segments are concatenated)."""
    svg = path.read_text(encoding="utf-8")
    parts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return html.unescape("".join(parts)).replace("\xa0", " ")


@pytest.mark.asyncio
async def test_screenshots_of_the_key_screens(harness: Any, tmp_path: Path) -> None:
    h = harness()
    shots = tmp_path / "shots"
    shots.mkdir()

    def shot(name: str) -> str:
        path = Path(h.app.save_screenshot(f"{name}.svg", str(shots)))
        assert path.stat().st_size > 0
        # 16 colours (TERM=linux): every colour on screen is an ANSI one.
        assert non_ansi_colours(h.app) == [], name
        return svg_text(path)

    async with h.run() as pilot:
        await h.ready(pilot)
        idle = shot("idle")
        assert "S C A N   Y O U R   B A D G E" in idle
        assert "bench-01" in idle and "10:00:00" in idle and "link ok" in idle
        await h.scans(pilot, "B-1017", "PN-778", "CAL-0042")
        await h.push(pilot, "12.346")
        work = shot("reading")
        for text in ("plan P-1001 rev C", "bore-dia", "12.346 PASS", " PASS ", "SPC bore-dia"):
            assert text in work, text
        assert "▄█▄" in work  # the big digits
        await h.push(pilot, "25.200")
        await pilot.press("ctrl+f")
        await h.until(pilot, lambda: h.wf.state.mode is Mode.NONCONFORMANCE, "the reject")
        await h.until(pilot, lambda: "REJECTED: nonconformance" in h.text(), "the dialog")
        nc = shot("nonconformance")
        assert "REJECTED: nonconformance" in nc and "dimension-out-of-tolerance" in nc
        await pilot.press("enter", *"seat oversize", "enter")
        await h.until(pilot, lambda: h.wf.state.mode is Mode.READY, "the NC saved")
        await pilot.press("f6")
        await h.until(pilot, lambda: h.app.current_mode == "check", "check mode")
        await h.scans(pilot, "CAL-0042", "GB-25")
        for v in ("25.050", "25.060", "25.050"):
            await h.push(pilot, v)
        check = shot("check-failed")
        assert "INSTRUMENT CHECK" in check and " FAIL " in check
        assert "SUSPECT: 1 inspection(s)" in check and "PN-778" in check
    assert sorted(p.name for p in shots.iterdir()) == [
        "check-failed.svg",
        "idle.svg",
        "nonconformance.svg",
        "reading.svg",
    ]
