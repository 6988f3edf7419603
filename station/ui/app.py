"""The bench terminal UI (`station bench -c FILE`): the operator's whole workflow.

The app only routes: scans, keys and driver readings go to the `Workflow` (which holds every
rule), and its state is rendered by one screen per mode (idle, work, check) plus dialogs.
Services come in through the constructor (the Textual pattern of injected services). Blocking I/O
stays off the
UI thread: each input has a reader thread (`station.bench.inputs`) and the sync state is read
by a poller thread with its own store connection; both post messages (thread-safe). Workflow
calls are single SQLite commits and run on the UI thread (`benchmarks/bench_ui.py` measures them).

Keys: Ctrl+P / Ctrl+F pass or fail the next attribute, Ctrl+R redo, space (or Enter on an
empty scan field) polls the input the next characteristic needs (typing a poll input's name +
Enter polls that one), F6 instrument check, Esc leaves it, F8 abandons (confirmed), F1
details (every line of the screen whole, for what a narrow terminal cuts), F2 history, Ctrl+L
logout, Ctrl+Q quit. Printable keys act only while the scan field is empty (`ScanField`).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import ClassVar, TypeVar

from rich.text import Text
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input

from station.bench.inputs import (
    InputEvent,
    InputLink,
    InputProblem,
    InputReader,
    InputValue,
    ScannerReader,
    ScanValue,
)
from station.bench.notice import Notice, error, info, warn
from station.bench.workflow import Mode, Workflow, poll_targets
from station.core.caldue import DEFAULT_HORIZON_DAYS
from station.settings import Config
from station.store import Record, Store, StoreError
from station.ui import outcome
from station.ui.details import DetailsScreen, details_text
from station.ui.dialogs import (
    CodeDialog,
    ConfirmDialog,
    HistoryScreen,
    mandatory_dialog,
    redo_dialog,
)
from station.ui.duelist import DueScreen
from station.ui.header import fit_line, input_lines, key_bar, status_line
from station.ui.offered import offered
from station.ui.outcome import Outcome
from station.ui.pindialog import PinDialog, ReasonDialog
from station.ui.screens import (
    MODE_SCREENS,
    BenchScreen,
    CalibrationScreen,
    CheckScreen,
    IdleScreen,
    WorkScreen,
)
from station.ui.status import STATUS_INTERVAL_S, StatusPoller, StatusSnapshot
from station.ui.studyscreen import StudyScreen
from station.ui.widgets import InputEventMessage, StatusMessage

log = logging.getLogger(__name__)

IDLE_TIMEOUT_S = 15 * 60.0
"""An operator idle this long is logged out (`logout` event, why "idle timeout")."""

COMMAND_KEYS = frozenset({"space"})  # printable keys that act only on an empty scan field

_N = TypeVar("_N", Notice, Notice | None)


class BenchApp(App[int]):
    """The bench UI over one workflow.

    Args:
        wf: the workflow (owns the rules and the store writes).
        store: the same store (history look-ups; its path for the status poller).
        config: the station config (inputs shown in the header).
        readers: one reader per input, not started: the app starts them once it runs and
            stops them when it exits.
        clock: the clock shown in the header (the workflow's).
        scanner: an optional serial/evdev scanner reader, started and stopped likewise.
        idle_timeout_s: log out after this long without a key, scan or reading.
        status_interval_s: how often the sync state is re-read.
        freeze_gc: once the first screen is up, move every object alive to the garbage
            collector's permanent generation (`gc.freeze`): a full collection over Textual's
            widget graph otherwise pauses the UI for up to ~80 ms (benchmarks/bench_ui.py). For the
            bench process; tests that build many apps leave it off.

    Extension: an app built on the bench adds keys the Textual way (`BINDINGS` and `action_*`
    methods on a subclass; Textual merges them with these, and a printable one acts only on
    an empty scan field like space) and may override `hint_line` and `key_bar_bindings`.
    """

    # Absolute: Textual reads a relative CSS_PATH beside the module of the running app's class,
    # which for an app built on the bench is another folder.
    CSS_PATH = Path(__file__).with_name("bench.tcss")
    TITLE = "station bench"
    ENABLE_COMMAND_PALETTE = False
    DEFAULT_MODE = "idle"
    # Screen classes the stylesheet sizes by (Textual sets them on every screen on resize):
    # below 72 columns the SPC chart gives its room to the reading, below 24 rows the
    # dialogs' lists shrink so their text field stays on screen (issue 12.11, 60x20).
    # Unannotated: Textual declares them as `ClassVar[...] | None`, which mypy cannot repeat.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (72, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (24, "-tall")]  # noqa: RUF012
    MODES: ClassVar[dict[str, str | Callable[[], Screen]]] = {  # type: ignore[type-arg]
        "idle": IdleScreen,
        "work": WorkScreen,
        "check": CheckScreen,
        "calibration": CalibrationScreen,
        "study": StudyScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        # Control keys, not letters: a wedge scanner types letters into the scan field, and a
        # scan starting with "p" or "f" must never judge an attribute (a wrong record).
        Binding("ctrl+p", "judge(True)", "Pass", priority=True),
        Binding("ctrl+f", "judge(False)", "Fail", priority=True),
        Binding("ctrl+r", "redo", "Redo", priority=True),
        Binding("space", "poll", "Poll"),
        Binding("f6", "check", "Check"),
        Binding("escape", "leave_check", "Leave check"),
        Binding("f8", "abandon", "Abandon"),
        Binding("f1", "details", "Details"),
        Binding("f2", "history", "History"),
        Binding("ctrl+d", "due", "Due", key_display="^D", priority=True),
        Binding("ctrl+o", "override", "Override", key_display="^O", priority=True),
        Binding("ctrl+l", "logout", "Logout"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        wf: Workflow,
        store: Store,
        config: Config,
        readers: Sequence[InputReader] = (),
        *,
        clock: Callable[[], datetime],
        scanner: ScannerReader | None = None,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        status_interval_s: float = STATUS_INTERVAL_S,
        freeze_gc: bool = False,
    ) -> None:
        super().__init__()
        self.wf = wf
        self.store = store
        self.config = config
        self.readers = list(readers)
        self.clock = clock
        self.scanner = scanner
        self.idle_timeout_s = idle_timeout_s
        self.freeze_gc = freeze_gc
        self.notice: Notice | None = None
        self.outcome: Outcome | None = None  # how the last part ended, until the next starts
        self._outcome_of: Record | None = None
        self.links: dict[str, InputLink] = {}
        self.snapshot: StatusSnapshot | None = None
        self.latency_probe: Callable[[float, float], None] | None = None
        self.command_keys = COMMAND_KEYS | {b.key for b in self.class_bindings() if len(b.key) == 1}
        self._reading_stamp: float | None = None
        self._last_activity = time.monotonic()
        self._mandatory: CodeDialog | None = None
        self._pin: PinDialog | None = None  # the signing dialog (`station.ui.pindialog`)
        self._poller = StatusPoller(
            store.path, site=store.site, station=store.station, interval_s=status_interval_s
        )

    # -- lifecycle -------------------------------------------------------------------------

    def on_mount(self) -> None:
        """Offer the unfinished inspection, start the threads and the clock."""
        self.theme = "ansi-dark"  # the terminal's own 16 colours (TERM=linux)
        self.apply(self._call(self.wf.load_unfinished))
        for reader in self.readers:
            reader.start(self._from_thread)
        if self.scanner is not None:
            self.scanner.start(self._from_thread)
        self._poller.start(self._status_from_thread)
        self.set_interval(1.0, self._tick)
        if self.freeze_gc:
            self.call_after_refresh(gc.freeze)

    def on_unmount(self) -> None:
        """Stop every thread (each is within one bounded read of noticing)."""
        threads = [*self.readers, *([self.scanner] if self.scanner else [])]
        for t in threads:
            t.request_stop()
        self._poller.stop()
        if self.freeze_gc:
            gc.unfreeze()
        for t in threads:
            if not t.stop():
                log.warning("input %s did not stop in time", t.name)

    def _status_from_thread(self, snapshot: StatusSnapshot) -> None:
        """Status poller callback (poller thread)."""
        self.post_message(StatusMessage(snapshot))

    def _from_thread(self, event: InputEvent) -> None:
        """Reader callback (reader thread): hand the event to the UI thread."""
        self.post_message(InputEventMessage(event))

    # -- rendering -------------------------------------------------------------------------

    def status_text(self) -> Text:
        """The status line (station, operator, sync state, time)."""
        return status_line(self.wf, self.snapshot, self.clock())

    def inputs_text(self, width: int = 0) -> Text:
        """One line per input with its instrument, link and interlock state (cut to `width`)."""
        return input_lines(self.wf, self.config.inputs, self.links, width)

    @classmethod
    def class_bindings(cls) -> list[Binding]:
        """The `BINDINGS` of the bench and of every class built on it down to this one, the
        bench's first (Textual's own App keys left out)."""
        return [
            b
            for klass in reversed(cls.__mro__)
            if issubclass(klass, BenchApp)
            for b in klass.__dict__.get("BINDINGS", ())
            if isinstance(b, Binding)
        ]

    def key_bar_bindings(self) -> list[Binding]:
        """Extension hook: the bindings the key bar offers (every class's by default)."""
        return self.class_bindings()

    def hint_line(self) -> str | None:
        """Extension hook: a line shown above the key bar; the bench itself has none."""
        return None

    def keys_text(self, width: int = 0) -> Text:
        """The key bar: the keys `check_action` offers now (see `header.key_bar`), below the
        `hint_line` when there is one."""
        keys = [(b.key, b.description, b.action) for b in self.key_bar_bindings()]
        bar = key_bar(keys, lambda action: self.check_action(action, ()), width)
        hint = self.hint_line()
        if hint is None:
            return bar
        line = Text(hint, style="bold", no_wrap=True, overflow="crop")
        return Text("\n").join([fit_line(line, width, "..."), bar])

    def details_text(self) -> Text:
        """Everything the screen may cut, whole (the F1 view)."""
        return details_text(self.wf, self.config.inputs, self.links, self.notice, self.outcome)

    def take_reading_stamp(self) -> float | None:
        """The driver timestamp of the reading just applied (once), for the latency probe."""
        stamp, self._reading_stamp = self._reading_stamp, None
        return stamp

    def _base_screen(self) -> BenchScreen | None:
        for screen in reversed(self.screen_stack):
            if isinstance(screen, BenchScreen):
                return screen
        return None

    def apply(self, notice: Notice | None, *, verdict_first: bool = False) -> None:
        """Show `notice` (if any) and bring the screens in line with the workflow state.

        With `verdict_first` (a reading), the reading and the notice are drawn in the next
        frame and the rest of the screen (table, chart, header) right after it: the first
        frame is smaller, so the verdict is on screen sooner (benchmarks/bench_ui.py).
        """
        if notice is not None:
            self.notice = notice
            if notice.refused:
                log.info("refused: %s", " | ".join(notice.lines()))
        self._follow_outcome()
        mode = self.wf.state.mode
        target = MODE_SCREENS[mode]
        if self._mandatory is not None and mode not in (Mode.NONCONFORMANCE, Mode.SPC_SIGNAL):
            # Answered or voided elsewhere (e.g. a logout by badge): the dialog would strand.
            stale, self._mandatory = self._mandatory, None
            stale.dismiss(None)
        if self.current_mode != target:
            while len(self.screen_stack) > 1 and self.screen is not self._mandatory:
                self.pop_screen()  # history / confirm belong to the mode being left
            self.switch_mode(target)
        base = self._base_screen()
        if base is not None:
            if verdict_first and base.is_current and isinstance(base, WorkScreen):
                base.refresh_verdict()
                self.call_after_refresh(base.refresh_view)
            else:
                base.refresh_view()
        self._reading_stamp = None  # drawn now, or never (a refused or check reading)
        self._open_mandatory_dialog(mode)
        self._follow_signature()

    def _follow_signature(self) -> None:
        """The PIN dialog open exactly while a signature is pending (above the NC dialog)."""
        pending = self.wf.state.sign_request is not None
        if self._pin is not None and (not pending or self._pin not in self.screen_stack):
            stale, self._pin = self._pin, None  # signed, cancelled, or voided by a logout
            if stale in self.screen_stack:
                stale.dismiss(None)
        if self._pin is not None:
            self._pin.refresh_view()  # e.g. a badge from the serial scanner
        elif pending:
            self._pin = PinDialog(self.wf, self._call)
            self.push_screen(self._pin, self._pin_closed)

    def _pin_closed(self, notice: Notice | None) -> None:
        if self._pin is None:
            return  # closed by `apply` itself
        self._pin = None
        self.apply(notice)

    def _follow_outcome(self) -> None:
        """Keep the last part's outcome on screen from its end until the next part starts."""
        st = self.wf.state
        if st.draft is not None:
            self.outcome = None
        elif st.last_inspection is not None and st.last_inspection is not self._outcome_of:
            self._outcome_of = st.last_inspection
            self.outcome = outcome.from_inspection(st.last_inspection)

    def _open_mandatory_dialog(self, mode: Mode) -> None:
        if self._mandatory is not None:
            return
        dialog = mandatory_dialog(self.wf, self._call)
        if dialog is not None:
            self._mandatory = dialog
            self.push_screen(dialog, self._mandatory_closed)

    def _mandatory_closed(self, notice: Notice | None) -> None:
        if self._mandatory is None:
            return  # closed by `apply` itself
        self._mandatory = None
        self.apply(notice)

    # -- threads' messages -----------------------------------------------------------------

    def on_input_event_message(self, message: InputEventMessage) -> None:
        """A reader's event: a value goes to the workflow, problems to the notice line."""
        ev = message.event
        if isinstance(ev, InputValue):
            self._touch()
            self._reading_stamp = ev.reading.monotonic
            self.apply(
                self._call(lambda: self.wf.reading(ev.input, ev.reading)), verdict_first=True
            )
        elif isinstance(ev, ScanValue):
            self._scan(ev.text)
        elif isinstance(ev, InputProblem):
            self.apply(warn(ev.message))
        elif isinstance(ev, InputLink):
            self.links[ev.input] = ev
            if ev.state in ("disconnected", "failed"):
                detail = ev.detail.removeprefix(f"{ev.input}: ")
                self.apply(warn(f"input {ev.input} {ev.state.upper()}: {detail}"))
            else:
                self._refresh_header()

    def on_status_message(self, message: StatusMessage) -> None:
        """A fresh sync snapshot: redraw the header."""
        self.snapshot = message.snapshot
        self._refresh_header()

    def _refresh_header(self) -> None:
        base = self._base_screen()
        if base is not None:
            base.refresh_header()

    def _tick(self) -> None:
        """Every second: the clock, and the idle logout."""
        self._refresh_header()
        st = self.wf.state
        idle = time.monotonic() - self._last_activity
        # Never while the NC or SPC dialog is open: the operator may be writing the answer,
        # which a logout would dismiss (the owed answer itself survives a logout).
        if st.operator is not None and idle > self.idle_timeout_s and self._mandatory is None:
            self.apply(self._call(lambda: self.wf.logout("idle timeout")))

    def _touch(self) -> None:
        self._last_activity = time.monotonic()

    # -- scans -----------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        """Typing counts as activity (the idle logout)."""
        self._touch()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the scan field: a scan, a poll-input name, or (empty) a poll request."""
        if event.input.id != "scan":
            return
        text = event.value.strip(" \t\r\n")  # str.strip() would also eat a trailing GS (0x1d)
        event.input.value = ""
        self._touch()
        if not text:
            self.action_poll()
            return
        named = [r for r in self.readers if r.mode == "poll" and text == r.name]
        if named:
            self._request(named)
            return
        self._scan(text)

    def _scan(self, text: str) -> None:
        self._touch()
        self.apply(self._call(lambda: self.wf.scan(text)))

    # -- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer only the keys that make sense in the current mode (keeps the footer short)."""
        return offered(action, self.wf, self.config, self.readers)

    def action_judge(self, passed: bool) -> None:
        """p / f: the operator's verdict on the next attribute characteristic."""
        self._touch()
        self.apply(self._call(lambda: self.wf.judge_attribute(passed)))

    def action_redo(self) -> None:
        """Ctrl+R: the next value replaces the last one (with a reason code, where signed)."""
        self._touch()
        if not self.wf.redo_needs_reason():
            self.apply(self._call(self.wf.redo))
            return

        def closed(notice: Notice | None) -> None:
            if notice is not None:
                self.apply(notice)

        self.push_screen(redo_dialog(self.wf, self._call), closed)

    def action_poll(self) -> None:
        """space / Enter on empty: ask the poll input the next characteristic needs."""
        self._touch()
        readers, why = poll_targets(self.wf, self.readers)
        if readers:
            self._request(readers)
        else:
            self.apply(error(why))

    def _request(self, readers: Sequence[InputReader]) -> None:
        """Ask poll inputs for a value (their reader threads do the I/O)."""
        for r in readers:
            r.request()
        self.apply(info(f"requested a value from {', '.join(r.name for r in readers)}"))

    def action_check(self) -> None:
        """F6: instrument-check mode."""
        self._touch()
        self.apply(self._call(self.wf.start_check))

    def action_leave_check(self) -> None:
        """Esc: leave the instrument check or the calibration."""
        self._touch()
        st = self.wf.state
        if st.mode is not Mode.CHECK and st.calibration is not None:
            self.apply(self._call(self.wf.leave_calibration))
        elif st.mode is not Mode.CHECK and st.study is not None:
            self.apply(self._call(self.wf.leave_study))
        else:
            self.apply(self._call(self.wf.leave_check))

    def action_abandon(self) -> None:
        """F8: abandon the inspection in progress, after a confirmation."""
        self._touch()
        d = self.wf.state.draft
        if d is None:
            self.apply(self._call(self.wf.abandon))  # the workflow says why not
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            notice = self._call(self.wf.abandon)
            if self.wf.state.draft is None:
                self.outcome = outcome.abandoned(d)
            self.apply(notice)

        # What `Workflow.abandon` writes: one `inspection-abandoned` event carrying the
        # readings taken; no inspection record, so the part has no result.
        taken = len(d.measurements)
        self.push_screen(
            ConfirmDialog(
                f"Abandon the inspection of part {d.part.number}? The abandoned inspection "
                f"({taken} reading(s)) is kept in the audit trail as an event; no result is "
                "recorded for the part."
            ),
            answered,
        )

    def action_details(self) -> None:
        """F1: every input state, the whole last notice and the part, wrapped (Esc closes)."""
        self._touch()
        if not isinstance(self.screen, DetailsScreen):
            self.push_screen(DetailsScreen(self.details_text()))

    def action_history(self) -> None:
        """F2: the last inspections; look up a part serial."""
        self._touch()
        self.push_screen(HistoryScreen(self.store))

    def action_due(self) -> None:
        """Ctrl+D: the calibration-due list (overdue first, then due within the horizon)."""
        self._touch()
        if not isinstance(self.screen, DueScreen):
            horizon = DEFAULT_HORIZON_DAYS
            self.push_screen(DueScreen(lambda: self.wf.ctx.calibration_due(horizon), horizon))

    def action_override(self) -> None:
        """Ctrl+O: the signed override of the refused instrument, for this part only."""
        self._touch()

        def answered(reason: str | None) -> None:
            if reason is not None:
                self.apply(self._call(lambda: self.wf.request_override(reason)))

        self.push_screen(ReasonDialog(), answered)

    def action_logout(self) -> None:
        """Ctrl+L: log out (an inspection in progress is kept for resumption)."""
        self.apply(self._call(lambda: self.wf.logout("logout key")))

    async def action_quit(self) -> None:
        """Ctrl+Q: leave (exit status 0); an inspection in progress stays saved."""
        self.exit(0)

    def _call(self, fn: Callable[[], _N]) -> _N | Notice:
        """Run a workflow call; a store failure (or a bug) becomes a notice, never a crash."""
        try:
            notice = fn()
            if self.wf.state.sign_request is not None:  # asked from a dialog (the NC's)
                self.call_later(self._follow_signature)
            return notice
        except StoreError as exc:
            log.exception("store error")
            return error("the record store failed: nothing was recorded", str(exc))
        except Exception as exc:  # the kiosk must survive a bug; the log keeps the trace
            log.exception("bench action failed")
            return error(f"internal error (logged): {exc!r}")


__all__ = ["COMMAND_KEYS", "IDLE_TIMEOUT_S", "BenchApp"]
