"""The calibration-due list (Ctrl+D): every instrument the station knows, most urgent first.

Overdue first (red), then due within the horizon (yellow), then the rest, each with the
procedure to calibrate it with (`station.core.caldue`); instruments quarantined at this
station are marked with why. A technician reads it before picking the next job; scanning a
procedure starts one as usual (the scan field is on the bench screen, so Esc closes first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from station.core.caldue import DueRow
from station.store import StoreError
from station.ui.render import styled

GROUP_STYLE = {"overdue": "bold red", "due": "bold yellow", "later": ""}
GROUP_TITLE = {
    "overdue": "OVERDUE",
    "due": "DUE WITHIN {h} DAYS",
    "later": "LATER",
}

DueSource = Callable[[], tuple[list[DueRow], dict[str, str]]]


def due_text(rows: list[DueRow], quarantined: dict[str, str], horizon_days: int) -> Text:
    """The list as text: a heading per group, one line per instrument."""
    out = Text()
    if not rows:
        out.append("no instruments in the master data", style="dim")
        return out
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            if out:
                out.append("\n")
            out.append(GROUP_TITLE[group].format(h=horizon_days), style="bold underline")
        out.append("\n")
        out.append(row.summary, style=GROUP_STYLE[row.group])
        reason = quarantined.get(row.instrument.id)
        if reason:
            out.append(f"\n    quarantined here: {reason}", style="red")
    return out


class DueScreen(ModalScreen[None]):
    """The due list; Esc or Ctrl+D closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,ctrl+d", "close", "Close")]

    def __init__(self, source: DueSource, horizon_days: int) -> None:
        super().__init__()
        self.source, self.horizon_days = source, horizon_days

    def compose(self) -> ComposeResult:
        """The heading and the scrollable list."""
        with Vertical(classes="dialog", id="due"):
            yield Static(styled("CALIBRATION DUE", "bold underline"))
            with VerticalScroll(id="due-scroll"):
                yield Static("", id="due-list")

    def on_mount(self) -> None:
        """Read the list (one indexed query and the master snapshot)."""
        try:
            rows, quarantined = self.source()
            text = due_text(rows, quarantined, self.horizon_days)
        except StoreError as exc:
            text = styled(str(exc), "bold red")
        self.query_one("#due-list", Static).update(text)

    def action_close(self) -> None:
        """Back to the bench."""
        self.dismiss(None)


__all__ = ["DueScreen", "due_text"]
