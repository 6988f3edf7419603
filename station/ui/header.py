"""The always-visible lines of every bench screen: status, inputs (top) and keys (bottom).

Issue 6: "Always visible: station id, sync state (online/offline, pending count, delivered
seq), each input with its bound instrument and calibration state (ok / due soon / blocked and
why), the time." The calibration state comes from the workflow's own interlock
(`Workflow.fitness`), so the header can never disagree with what a reading would meet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from rich.text import Text

from station.bench.inputs import InputLink
from station.bench.workflow import Workflow
from station.settings import InputSettings
from station.ui.status import StatusSnapshot

log = logging.getLogger(__name__)

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
    try:
        fit = wf.fitness(inst, None)
    except OverflowError:
        # A check interval past the calendar (e.g. check_interval_h = 1e8: issue 13.4)
        # overflows the expiry date; the header must still draw (it runs every second).
        return f"{inst.id}: check valid: far future (interval beyond the calendar)", "yellow"
    if not fit.usable:
        return "BLOCKED - " + "; ".join(fit.reasons), "bold red"
    if fit.warnings:
        return "ok, " + "; ".join(fit.warnings), "yellow"
    return f"cal ok to {inst.cal_due.isoformat()}", "green"


def input_refusal(wf: Workflow, name: str) -> str | None:
    """Why input `name` takes no reading now (`Workflow.input_refusal`), or None."""
    ask = getattr(wf, "input_refusal", None)  # older workflows have no per-input interlock
    if ask is None:
        return None
    try:
        reason = ask(name)
    except OverflowError:
        return None  # the calibration text says why (see `calibration_text`)
    return None if reason is None else str(reason)


def input_state(wf: Workflow, name: str) -> tuple[str | None, str, str]:
    """(instrument shown, text, style) of one input: what its next reading would meet.

    A scanned instrument is shown as soon as it is selected (it binds on the input's next
    reading, `Workflow._instrument_for`); a refusal from the workflow's interlock (a refused
    scan, a failed check, a quarantine) is shown whole, as BLOCKED.
    """
    fixed = wf.fixed_instrument(name)
    selected = None if fixed is not None else wf.state.selected_instrument
    bound = wf.bound_instrument_id(name)
    shown = selected.id if selected is not None else bound
    refusals = getattr(wf.state, "refusals", {})
    refusal = input_refusal(wf, name)
    if refusal is not None and (shown is not None or name in refusals):
        return shown, f"BLOCKED - {refusal}", "bold red"
    cal, style = calibration_text(wf, shown)
    if selected is not None and selected.id != bound:
        return shown, f"{selected.id} selected, bound on its next reading; {cal}", style
    return shown, cal, style


def fit_line(line: Text, width: int, more: str = "... F1") -> Text:
    """`line` cut to `width` cells, ending in `more` (where to read it whole) when cut.

    ASCII only: the Linux console font has no ellipsis glyph (render.py).
    """
    if width <= 0 or line.cell_len <= width:
        return line
    cut = line.copy()
    cut.truncate(max(0, width - len(more)))
    cut.append(more, style="bold")
    return cut


def input_lines(
    wf: Workflow,
    inputs: Sequence[InputSettings],
    links: Mapping[str, InputLink],
    width: int = 0,
) -> Text:
    """One line per input: name, mode, instrument, link state and interlock state.

    A line longer than `width` ends in "... F1": the details view (F1) shows it whole.
    """
    lines = []
    for s in inputs:
        try:
            iid, cal, cal_style = input_state(wf, s.name)
        except Exception as exc:  # drawn every second: a bug must not take the bench down
            log.exception("input %s: state not shown", s.name)
            iid, cal, cal_style = None, f"state unknown (logged): {exc!r}", "bold red"
        line = Text(no_wrap=True, overflow="crop")
        line.append(f"{s.name:<8.8} {s.mode:<4} {iid or '-':<9.9} ", style="bold")
        link = links.get(s.name)
        text, style = LINK_TEXT[link.state if link else "connecting"]
        line.append(text, style=style)
        line.append("  ")
        line.append(cal, style=cal_style)
        lines.append(fit_line(line, width))
    out = Text("\n", no_wrap=True, overflow="crop").join(lines)
    out.no_wrap, out.overflow = True, "crop"
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


def key_bar(
    keys: Sequence[tuple[str, str, str]], offered: Callable[[str], bool | None], width: int = 0
) -> Text:
    """The bottom lines: each (key, label, action) whose action is `offered` now.

    Packed into lines of `width` cells (0: one line), never splitting a key from its label,
    so every offered key, ^Q Quit included, stays visible at 80 and 60 columns (issue 12.11).
    Drawn as text rather than Textual's Footer, which rebuilds a widget per key on every mode
    change (~20 ms, measured in benchmarks/bench_ui.py) and offers mouse clicks a Pi console
    cannot make.
    """
    items: list[Text] = []
    for key, label, action in keys:
        if offered(action.split("(")[0]):
            shown = KEY_NAMES.get(key, key.upper() if key[1:].isdigit() else key)
            item = Text()
            item.append(f" {shown} ", "reverse")
            item.append(f" {label} ")
            items.append(item)
    lines: list[Text] = [Text()]
    for item in items:
        if width and lines[-1].cell_len and lines[-1].cell_len + item.cell_len > width:
            lines.append(Text())
        lines[-1].append_text(item)
    out = Text("\n").join(lines)
    out.no_wrap, out.overflow = True, "crop"
    return out


__all__ = [
    "KEY_NAMES",
    "LINK_TEXT",
    "calibration_text",
    "fit_line",
    "input_lines",
    "input_refusal",
    "input_state",
    "key_bar",
    "status_line",
]
