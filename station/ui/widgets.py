"""The bench's widgets: the scan field, the big reading, and the messages threads post.

Widgets are dumb: screens fill them with text built by `station.ui.render`; the only logic
here is keyboard plumbing (the scan field) and the latency probe (the reading panel).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual import events
from textual.app import RenderResult
from textual.message import Message
from textual.visual import VisualType
from textual.widgets import Input, Static

from station.bench.inputs import InputEvent
from station.ui.status import StatusSnapshot

GS = "\x1d"  # GS1 group separator: a wedge scanner sends it as Ctrl+]


class InputEventMessage(Message):
    """An input reader's event, posted from its thread (post_message is thread-safe)."""

    def __init__(self, event: InputEvent) -> None:
        super().__init__()
        self.event = event


class StatusMessage(Message):
    """A fresh sync/delivery snapshot from the status poller thread."""

    def __init__(self, snapshot: StatusSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class ScanField(Input):
    """The scan line: a keyboard-wedge scanner types here and ends with Enter.

    It holds the focus whenever no dialog is open (contract station.md, "Bench interaction"),
    so a printable command key (space: poll; a printable key an app built on the bench binds)
    would otherwise be typed into it: those act as commands only while the field is EMPTY (a
    scan never starts with a space). Pass, fail and redo are control keys for that reason. The
    GS1 separator (Ctrl+], character 0x1d) is kept in the text instead of being dropped as a
    control key.
    """

    def __init__(self, command_keys: frozenset[str], *, id: str | None = None) -> None:
        super().__init__(placeholder="scan badge, part, instrument or standard", id=id)
        self.command_keys = command_keys

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Let command keys reach the app's bindings while the field is empty."""
        if not self.value and key in self.command_keys:
            return False
        return super().check_consume_key(key, character)

    async def _on_key(self, event: events.Key) -> None:
        if event.character == GS or event.key == "ctrl+right_square_bracket":
            event.stop()
            event.prevent_default()
            self.insert_text_at_cursor(GS)
            return
        if not self.value and event.key in self.command_keys:
            event.prevent_default()  # not typed; the event bubbles on to the app's bindings


class Panel(Static):
    """A static text area that the screen refills.

    `show` skips identical content and re-lays out only when the line count changes: a
    layout pass costs tens of milliseconds on a Pi-class CPU and most refreshes change a
    value, not the shape (benchmarks/bench_ui.py measures the reading-to-screen latency).
    """

    _shown: Text | str | None = None

    def show(self, content: Text | str) -> None:
        """Display `content` (a no-op when it is what is shown already)."""
        if content == self._shown:
            return
        old = self._shown
        self._shown = content
        height = self.styles.height
        auto = height is None or height.is_auto
        self.update(
            content, layout=old is None or (auto and self._height(old) != self._height(content))
        )

    def _height(self, content: Text | str) -> int:
        """Lines `content` takes at the current width (wrapped panels grow with long text)."""
        width = max(1, self.size.width)
        return sum(max(1, -(-len(line) // width)) for line in str(content).split("\n"))


class ReadingPanel(Static):
    """The last reading, large, in its verdict colour.

    `probe`, when set, is called with (driver timestamp, render time) the first time a reading
    is drawn: `benchmarks/bench_ui.py` measures reading-arrival to verdict-on-screen with it.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.probe: Callable[[float, float], None] | None = None
        self._stamp: float | None = None
        self._content: VisualType | None = None

    def show(self, content: VisualType, stamp: float | None = None) -> None:
        """Replace the content; `stamp` is the monotonic time the value arrived at the driver."""
        if stamp is not None:
            self._stamp = stamp  # a later redraw before the first paint keeps it pending
        if content == self._content:
            return
        self._content = content
        self.update(content, layout=False)  # fixed height in the stylesheet: repaint only

    def render(self) -> RenderResult:
        """Draw, and report the first drawing of a stamped reading to the probe."""
        if self._stamp is not None and self.probe is not None:
            self.probe(self._stamp, time.monotonic())
        self._stamp = None
        return super().render()


def label(text: str, style: str = "") -> Text:
    """A one-line Text."""
    out = Text(no_wrap=True, overflow="ellipsis")
    return out.append(text, style)


__all__ = [
    "GS",
    "InputEventMessage",
    "Panel",
    "ReadingPanel",
    "ScanField",
    "StatusMessage",
    "label",
]
