"""The bench's dialogs: confirm, pick-a-code-and-describe (NC, SPC cause), history.

All are keyboard-only (no mouse on a Pi console). The NC and SPC dialogs cannot be dismissed
without an accepted answer: the workflow refuses the next part until they are answered, so
leaving them would only strand the operator. Their `submit` callback is the workflow call;
a refusal (e.g. empty text) is shown in the dialog and it stays open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from station.bench.notice import Notice
from station.bench.spc_watch import SPC_CAUSES
from station.bench.workflow import NC_REASONS, Mode, Workflow
from station.core.signing import REDO_REASONS
from station.store import Record, Store, StoreError
from station.ui import render
from station.ui.render import styled


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question: y confirms, n or Esc declines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        """The question and the keys."""
        with Vertical(classes="dialog"):
            yield Static(styled(self.question, "bold"))
            yield Static("y = yes    n / Esc = no")

    def action_answer(self, yes: bool) -> None:
        """Close with the answer."""
        self.dismiss(yes)


class CodeDialog(ModalScreen[Notice]):
    """Pick a code from a list (arrows, Enter), describe it (text, Enter).

    Args:
        title: the heading (what happened).
        lines: context lines (failed characteristics, fired rules...).
        codes: the choices.
        prompt: the placeholder of the text field.
        submit: called with (code, text); an "ok" Notice closes the dialog with it.
        cancellable: Esc closes it with None (a mandatory dialog has no way out but a code).
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str,
        lines: Sequence[str],
        codes: Sequence[str],
        prompt: str,
        submit: Callable[[str, str], Notice],
        *,
        cancellable: bool = False,
    ) -> None:
        super().__init__()
        self.cancellable = cancellable
        self.title_text = title
        self.lines = list(lines)
        self.codes = list(codes)
        self.prompt = prompt
        self.submit = submit

    def compose(self) -> ComposeResult:
        """Heading, context, the code list, the text field and the dialog's own notice."""
        with Vertical(classes="dialog"):
            yield Static(styled(self.title_text, "bold red"), classes="dialog-title")
            if self.lines:
                yield Static("\n".join(self.lines), classes="dialog-lines")
            yield OptionList(*(Option(c, id=c) for c in self.codes), id="codes")
            yield Input(placeholder=self.prompt, id="text")
            yield Static(
                "up/down: choose, Enter: next field; type the text, Enter: save", classes="hint"
            )
            yield Static("", id="dialog-notice")

    def on_mount(self) -> None:
        """Start on the first code."""
        codes = self.query_one("#codes", OptionList)
        codes.highlighted = 0
        codes.focus()

    @on(OptionList.OptionSelected, "#codes")
    def _code_chosen(self) -> None:
        self.query_one("#text", Input).focus()

    @on(Input.Submitted, "#text")
    def _save(self, event: Input.Submitted) -> None:
        event.stop()  # not a scan: the app's scan handler must not see it
        codes = self.query_one("#codes", OptionList)
        index = codes.highlighted
        if index is None:
            self._tell(styled("choose a code from the list first", "bold red"))
            codes.focus()
            return
        notice = self.submit(self.codes[index], event.value)
        if notice.level == "ok":
            self.dismiss(notice)
        else:
            self._tell(render.notice_text(notice))

    def _tell(self, text: Text) -> None:
        self.query_one("#dialog-notice", Static).update(text)

    def action_cancel(self) -> None:
        """Esc: close without a code, where the dialog may be left."""
        if self.cancellable:
            self.dismiss(None)


class HistoryScreen(ModalScreen[None]):
    """The last inspections with their verdicts; a serial typed + Enter looks one part up."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f2", "close", "Close")]
    RECENT = 12

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    def compose(self) -> ComposeResult:
        """The list and the lookup field."""
        with Vertical(classes="dialog", id="history"):
            yield Static(styled("HISTORY", "bold underline"))
            yield Static("", id="history-list")
            yield Input(placeholder="part serial, then Enter (Esc closes)", id="serial")

    def on_mount(self) -> None:
        """Show the latest inspections."""
        self._show_recent()

    def _show_recent(self) -> None:
        self._show(
            "last inspections", self._load(lambda: self.store.recent_inspections(self.RECENT))
        )

    @on(Input.Submitted, "#serial")
    def _lookup(self, event: Input.Submitted) -> None:
        event.stop()
        serial = event.value.strip()
        if not serial:
            self._show_recent()
            return
        found = self._load(lambda: self.store.inspections_by_serial(serial))
        self._show(f"serial {serial}: {len(found)} inspection(s)", found)

    def _load(self, query: Callable[[], list[Record]]) -> list[Record]:
        try:
            return query()
        except StoreError as exc:
            self.query_one("#history-list", Static).update(styled(str(exc), "bold red"))
            return []

    def _show(self, title: str, records: list[Record]) -> None:
        out = styled(title, "bold")
        if not records:
            out.append("\n(none)", style="dim")
        for r in records:
            b = r.body
            part = b.get("part", {})
            plan = b.get("plan", {})
            result = str(b.get("result", "?"))
            style = render.VERDICT_STYLE.get(
                {"accept": "pass", "reject": "fail"}.get(result, result), ""
            )
            # Most important first: the 70-column dialog cuts the operator before the result.
            out.append(f"\n{r.ts[5:16].replace('T', ' ')} ")
            out.append(f"{part.get('number', '?')} {part.get('serial') or '-':<8} ")
            out.append(f"{result.upper():<13}", style=style)
            out.append(
                f" {plan.get('id', '?')}/{plan.get('rev', '?')} #{r.seq} {b.get('operator', '')}"
            )
        self.query_one("#history-list", Static).update(out)

    def action_close(self) -> None:
        """Back to the bench."""
        self.dismiss(None)


def mandatory_dialog(
    wf: Workflow, call: Callable[[Callable[[], Notice]], Notice]
) -> CodeDialog | None:
    """The dialog the workflow's mode demands (NC after a reject, cause after an SPC signal).

    `call` runs the workflow call and turns a store failure into a notice.
    """
    st = wf.state
    if st.mode is Mode.NONCONFORMANCE and st.nc_for is not None:
        part = st.nc_for.body["part"]
        failed = ", ".join(wf.failed_characteristics()) or "-"
        serial = f" serial {part['serial']}" if part.get("serial") else ""
        return CodeDialog(
            f"part {part.get('number')}{serial} REJECTED: nonconformance",
            [f"failed: {failed}"],
            NC_REASONS,
            "describe the nonconformance",
            lambda code, text: call(lambda: wf.submit_nonconformance(code, text)),
        )
    if st.mode is Mode.SPC_SIGNAL and st.spc_alerts:
        return CodeDialog(
            "SPC SIGNAL: enter the assignable cause before the next part",
            [
                f"{a.characteristic} ({a.plan_id} rev {a.rev}) {a.rule}: {a.message}"
                for a in st.spc_alerts
            ],
            SPC_CAUSES,
            "what was found (required for 'other')",
            lambda code, text: call(lambda: wf.acknowledge_spc(code, text)),
        )
    return None


def redo_dialog(wf: Workflow, call: Callable[[Callable[[], Notice]], Notice]) -> CodeDialog:
    """Ctrl+R where redos are signed: the reason code (and a note) first; Esc: no redo."""
    return CodeDialog(
        "REDO A READING (signed)",
        ["why is the last reading taken again?  Esc: no redo"],
        REDO_REASONS,
        "note (optional), Enter",
        lambda code, note: call(lambda: wf.redo(code, note)),
        cancellable=True,
    )


__all__ = ["CodeDialog", "ConfirmDialog", "HistoryScreen", "mandatory_dialog", "redo_dialog"]
