"""The always-visible lines of every bench screen: status, inputs (top) and keys (bottom).

Issue 6: "Always visible: station id, sync state (online/offline, pending count, delivered
seq), each input with its bound instrument and calibration state (ok / due soon / blocked and
why), the time." The calibration state comes from the workflow's own interlock
(`Workflow.fitness`), so the header can never disagree with what a reading would meet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from rich.text import Text

from station.bench.inputs import InputLink
from station.bench.workflow import Workflow
from station.settings import InputSettings
from station.ui.status import StatusSnapshot

LINK_TEXT: dict[str, tuple[str, str]] = {
    "connecting": ("connecting", "yellow"),
    "connected": ("link ok", "green"),
    "disconnected": ("DISCONNECTED", "bold red"),
    "failed": ("NOT USABLE", "bold red"),
}


def status_line(wf: Workflow, snap: StatusSnapshot | None, now: datetime) -> Text:
    """'10:00:00 bench-01 | sync: online | 0 pending, delivered #12 | A. Inspector'.

    Ordered by importance so that the 80-column cut loses the operator's name (shown in the
    notices too) before the time or the delivery state.
    """
    line = Text(f"{now:%H:%M:%S} ", no_wrap=True, overflow="ellipsis")
    line.append(wf.config.station.id, style="bold")
    line.append(" | sync: ")
    if snap is None:
        line.append("?", style="yellow")
    elif snap.error:
        line.append(f"store unreadable: {snap.error}", style="bold red")
    else:
        if snap.online:
            line.append("online", style="green")
        elif snap.reported:
            line.append("OFFLINE", style="bold yellow")
        else:
            line.append("no daemon", style="yellow")
        line.append(f" | {snap.pending} pending, delivered #{snap.delivered_seq}")
    line.append(" | ")
    op = wf.state.operator
    if op is None:
        line.append("nobody logged in")
    else:
        line.append(op.name, style="bold")
    return line


def calibration_text(wf: Workflow, instrument_id: str | None) -> tuple[str, str]:
    """(text, style) of the interlock state of an input's instrument right now."""
    if instrument_id is None:
        return "no instrument: scan its label", "yellow"
    inst = wf.master.instrument(instrument_id)
    if inst is None:
        return f"{instrument_id} is not in the master data", "bold red"
    fit = wf.fitness(inst, None)
    if not fit.usable:
        return "BLOCKED: " + "; ".join(fit.reasons), "bold red"
    if fit.warnings:
        return "ok, " + "; ".join(fit.warnings), "yellow"
    return f"cal ok to {inst.cal_due.isoformat()}", "green"


def input_lines(
    wf: Workflow,
    inputs: Sequence[InputSettings],
    links: Mapping[str, InputLink],
) -> Text:
    """One line per input: name, mode, bound instrument, link state and calibration state."""
    out = Text(no_wrap=True, overflow="ellipsis")
    for i, s in enumerate(inputs):
        if i:
            out.append("\n")
        iid = wf.bound_instrument_id(s.name)
        out.append(f"{s.name:<8.8} {s.mode:<4} {iid or '-':<9.9} ", style="bold")
        link = links.get(s.name)
        text, style = LINK_TEXT[link.state if link else "connecting"]
        out.append(text, style=style)
        out.append("  ")
        cal, cal_style = calibration_text(wf, iid)
        out.append(cal, style=cal_style)
    return out


KEY_NAMES = {
    "space": "Space",
    "escape": "Esc",
    "ctrl+l": "^L",
    "ctrl+q": "^Q",
    "ctrl+p": "^P",
    "ctrl+f": "^F",
    "ctrl+r": "^R",
}


def key_bar(keys: Sequence[tuple[str, str, str]], offered: Callable[[str], bool | None]) -> Text:
    """The bottom line: each (key, label, action) whose action is `offered` now.

    Drawn as one line of text rather than Textual's Footer, which rebuilds a widget per key
    on every mode change (~20 ms, measured in bench/bench_ui.py) and offers mouse clicks a Pi
    console cannot make.
    """
    out = Text(no_wrap=True, overflow="ellipsis")
    for key, label, action in keys:
        if offered(action.split("(")[0]):
            shown = KEY_NAMES.get(key, key.upper() if key[1:].isdigit() else key)
            out.append(f" {shown} ", "reverse")
            out.append(f" {label} ")
    return out


__all__ = ["KEY_NAMES", "LINK_TEXT", "calibration_text", "input_lines", "key_bar", "status_line"]
