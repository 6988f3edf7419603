"""The signing dialog: the manifestation shown, the badge step, the PIN typed unseen.

21 CFR 11.50 asks that the signer see what the signature means before signing: the dialog
shows the statement ("I sign this calibration as its author"), the printed name and id and
the meaning, then asks for the badge (when `badge+pin` is needed, 11.200(a)(1)) and the PIN.
The PIN field is an `Input(password=True)`: the screen shows bullets, never a digit; the
field is emptied the moment Enter is pressed and the PIN is never logged or kept on the
dialog.

scrypt takes ~110-125 ms at the shipped cost (`station.core.pin`): the check runs in a
worker thread (`station.bench.signing.check_pin`, pure), and its result is applied on the UI
thread (`pin_result`, which writes to the store: the store is used from one thread only), so
the screen stays responsive. Esc cancels: nothing that needed the signature is recorded.
A badge scanned with the serial scanner reaches the workflow through the app and the dialog
follows (`refresh_view`); a keyboard-wedge scan types into the badge field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from station.bench import signing
from station.bench.notice import Notice
from station.bench.workflow import Workflow
from station.ui import render
from station.ui.render import styled

Call = Callable[[Callable[[], Notice]], Notice]


class PinDialog(ModalScreen[Notice | None]):
    """The pending signature of `wf` (`wf.state.sign_request`), until signed or cancelled.

    Args:
        wf: the workflow holding the request.
        call: runs a workflow call and turns a store failure into a notice (`BenchApp._call`).
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, wf: Workflow, call: Call) -> None:
        super().__init__()
        self.wf = wf
        self.call = call
        self.checking = False  # a PIN is being verified in the worker

    def compose(self) -> ComposeResult:
        """The manifestation, the badge field, the PIN field and the dialog's notice."""
        with Vertical(classes="dialog", id="signature"):
            yield Static(styled("ELECTRONIC SIGNATURE", "bold"), classes="dialog-title")
            yield Static("", id="statement")
            yield Static("", id="prompt")
            # Masked too: an operator who types the PIN here must not show it to the bench.
            yield Input(placeholder="scan the badge", password=True, id="badge")
            yield Input(placeholder="PIN (not shown), then Enter", password=True, id="pin")
            yield Static("Enter: sign    Esc: cancel (nothing is recorded)", classes="hint")
            yield Static("", id="dialog-notice")

    def on_mount(self) -> None:
        """Show the request."""
        self.refresh_view()

    def refresh_view(self) -> None:
        """Bring the dialog in line with the request (after a badge scan, a PIN, a logout)."""
        req = self.wf.state.sign_request
        try:
            badge, pin = self.query_one("#badge", Input), self.query_one("#pin", Input)
        except NoMatches:  # not composed yet: `on_mount` shows it
            return
        if req is None:
            return
        s = req.signer
        who = (
            "the approver: not yet identified"
            if s.operator is None
            else f"{s.operator.name} ({s.operator.id}), meaning: {s.meaning}, by {s.method}"
        )
        text = styled(f'"{req.statement()}"', "bold")
        text.append(f"\n{req.subject}\nsigner: {who}")
        if len(req.signers) > 1:
            text.append(f"\nsignature {len(req.signatures) + 1} of {len(req.signers)}")
        self.query_one("#statement", Static).update(text)
        self.query_one("#prompt", Static).update(styled(req.prompt(), "bold yellow"))
        badge.display = req.awaiting_badge
        pin.display = not req.awaiting_badge
        pin.disabled = self.checking
        (badge if req.awaiting_badge else pin).focus()

    @on(Input.Submitted, "#badge")
    def _badge(self, event: Input.Submitted) -> None:
        event.stop()  # not a scan of the bench's own field
        text = event.value.strip(" \t\r\n")
        event.input.value = ""
        if text:
            notice = self.call(lambda: self.wf.sign_badge(text))
            self._after(notice)

    @on(Input.Submitted, "#pin")
    def _pin(self, event: Input.Submitted) -> None:
        event.stop()
        pin = event.value
        event.input.value = ""  # gone from the widget before the check starts
        if self.checking or not pin:
            return
        target = signing.pin_target(self.wf.ctx)
        if isinstance(target, Notice):
            self._after(target)
            return
        self.checking = True
        self.refresh_view()
        self._tell(styled("checking...", "dim"))
        self._check(target, pin)

    @work(thread=True, exclusive=True, group="pin")
    def _check(self, target: signing.PinTarget, pin: str) -> None:
        """scrypt off the UI thread; the result goes back to it."""
        matched = signing.check_pin(target, pin)
        self.app.call_from_thread(self._checked, target, matched)

    def _checked(self, target: signing.PinTarget, matched: bool | None) -> None:
        self.checking = False
        notice = self.call(lambda: signing.pin_result(self.wf.ctx, target, matched))
        if self in self.app.screen_stack:  # not closed meanwhile (a logout voids the request)
            self._after(notice)

    def _after(self, notice: Notice) -> None:
        if self.wf.state.sign_request is None:
            self.dismiss(notice)
            return
        self.refresh_view()
        self._tell(render.notice_text(notice))

    def _tell(self, text: Text) -> None:
        self.query_one("#dialog-notice", Static).update(text)

    def action_cancel(self) -> None:
        """Esc: not signed; what needed the signature is not recorded."""
        self.dismiss(self.call(self.wf.cancel_signature))


class ReasonDialog(ModalScreen[str | None]):
    """Why the interlock is overridden (free text, required); Esc gives up."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Cancel")]

    def compose(self) -> ComposeResult:
        """The question and the field."""
        with Vertical(classes="dialog"):
            yield Static(styled("OVERRIDE THE INSTRUMENT INTERLOCK", "bold red"))
            yield Static(
                "For this part only, signed by you and by an approver. "
                "Why is the refused instrument used?"
            )
            yield Input(placeholder="the reason, then Enter (Esc: cancel)", id="reason")

    def on_mount(self) -> None:
        """Type at once."""
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def _reason(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_close(self) -> None:
        """Esc: no override asked."""
        self.dismiss(None)


__all__ = ["PinDialog", "ReasonDialog"]
