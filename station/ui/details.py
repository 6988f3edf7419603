"""The details view (F1): every line the bench screen may cut, whole and wrapped.

At 80x24 (or 60x20) an input's blocking reason, a notice's details or a verdict can be wider
or longer than its panel; the panels cut them and end in "... F1". This view shows them all,
wrapped, scrollable with the arrow keys (issue 12.11: every reason and verdict readable).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from station.bench.inputs import InputLink
from station.bench.notice import Notice
from station.bench.workflow import Workflow
from station.settings import InputSettings
from station.ui import render
from station.ui.header import LINK_TEXT, input_state
from station.ui.outcome import STYLE, Outcome, next_steps
from station.ui.render import styled


def _measurements(bodies: Iterable[Mapping[str, Any]]) -> list[Text]:
    lines = []
    for b in bodies:
        verdict = str(b.get("verdict", "?"))
        value = b.get("value")
        shown = (
            f"{render.fmt_value(value)} {b.get('unit') or ''}".strip() if value is not None else ""
        )
        line = Text(f"  {b.get('characteristic')} #{b.get('sample')}: {shown} ")
        line.append(verdict.upper(), render.VERDICT_STYLE.get(verdict, ""))
        if b.get("instrument"):
            line.append(f" ({b['instrument']})")
        lines.append(line)
    return lines


def details_text(
    wf: Workflow,
    inputs: Sequence[InputSettings],
    links: Mapping[str, InputLink],
    notice: Notice | None,
    outcome: Outcome | None,
) -> Text:
    """Inputs, the last notice, and the part's readings or outcome, each line whole."""
    parts: list[Text] = [styled("INPUTS", "bold underline")]
    for s in inputs:
        iid, text, style = input_state(wf, s.name)
        link = links.get(s.name)
        link_text, link_style = LINK_TEXT[link.state if link else "connecting"]
        line = styled(f"{s.name} ({s.mode}) {iid or 'no instrument'}, ", "bold")
        line.append(link_text, link_style)
        line.append(": ")
        line.append(text, style)
        parts.append(line)
    parts += [Text(""), styled("LAST MESSAGE", "bold underline")]
    parts.append(render.notice_text(notice, max_details=10_000) if notice else Text("(none)"))
    st = wf.state
    parts += [Text(""), styled("PART", "bold underline")]
    if st.draft is not None:
        parts.append(Text(f"part {st.draft.part.number}: inspection in progress"))
        parts += _measurements(m.body() for m in st.draft.measurements.values())
    elif outcome is not None:
        line = Text(f"part {outcome.part}: ")
        line.append(outcome.word, STYLE.get(outcome.result, "bold"))
        parts.append(line)
        nc_owed = outcome.record is not None and st.nc_for is outcome.record
        parts += [Text("  " + x) for x in next_steps(outcome, nc_owed=nc_owed)]
        if outcome.record is not None:
            parts += _measurements(outcome.record.body["measurements"])
    else:
        parts.append(Text("no part"))
    return Text("\n").join(parts)


class DetailsScreen(ModalScreen[None]):
    """The F1 view: `text` wrapped in a scrollable dialog; Esc or F1 closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1", "close", "Close")]

    def __init__(self, text: Text) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        """The text, and how to leave."""
        with Vertical(classes="dialog", id="details"):
            with VerticalScroll(id="details-scroll"):
                yield Static(self.text, id="details-text")
            yield Static("up/down: scroll    Esc / F1: close", classes="hint")

    def on_mount(self) -> None:
        """Focus the scroller: the arrow keys scroll it."""
        self.query_one("#details-scroll", VerticalScroll).focus()

    def action_close(self) -> None:
        """Back to the bench."""
        self.dismiss(None)


__all__ = ["DetailsScreen", "details_text"]
