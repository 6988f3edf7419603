"""One screen per bench mode: idle ("scan your badge"), work (plan + readings), check,
calibration.

Every screen has the same frame: the status line and the inputs (always visible), its body,
the last notice, the scan field (which holds the focus) and the key bar. Screens read the
workflow's state through the app and render it; they decide nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Static

from station.bench.calrecord import table_text
from station.bench.workflow import Mode
from station.core.inspection import Measurement
from station.core.model import Characteristic
from station.ui import outcome, render
from station.ui.render import styled
from station.ui.widgets import Panel, ReadingPanel, ScanField, label

if TYPE_CHECKING:
    from station.ui.app import BenchApp

NOTICE_ROWS = 5  # the notice panel's max-height in bench.tcss


class BenchScreen(Screen[None]):
    """The shared frame; subclasses compose and refresh the body."""

    AUTO_FOCUS = "#scan"

    @property
    def bench(self) -> BenchApp:
        """The app, with its services."""
        return cast("BenchApp", self.app)

    def compose(self) -> ComposeResult:
        """Status, inputs, body, notice, scan field, key bar."""
        yield Panel(id="status")
        yield Panel(id="inputs")
        with Vertical(id="body"):
            yield from self.compose_body()
        yield Panel(id="notice")
        with Horizontal(id="scanrow"):
            yield Static("scan >", id="scanlabel")
            yield ScanField(self.bench.command_keys, id="scan")
        yield Panel(id="keys")

    def compose_body(self) -> ComposeResult:
        """The mode's own widgets."""
        yield from ()

    def on_mount(self) -> None:
        """Fill every panel from the current state."""
        self.refresh_view()

    def on_screen_resume(self) -> None:
        """Back on top (mode switch or a dialog closed): show the current state."""
        self.refresh_view()

    def on_resize(self) -> None:
        """Re-render at the new size once the panels have it (bar, table, key bar, cuts)."""
        self.call_after_refresh(self.refresh_view)

    @property
    def term_width(self) -> int:
        """The terminal's width in cells (what the one-line panels are cut to)."""
        return self.app.size.width

    def refresh_view(self) -> None:
        """Re-render the frame and the body."""
        if not self.is_mounted:
            return
        self.refresh_header()
        self.show_notice()
        self.query_one("#keys", Panel).show(self.bench.keys_text(self.term_width))
        self.refresh_body()

    def show_notice(self) -> None:
        """The last notice, cut to its panel's rows with a pointer to F1 when it is longer."""
        text = render.notice_text(self.bench.notice)
        more = "... F1 shows the whole message"
        self.query_one("#notice", Panel).show(
            render.clip_rows(text, self.term_width, NOTICE_ROWS, more)
        )

    def refresh_header(self) -> None:
        """Status line and inputs (also called by the clock and the status poller)."""
        if not self.is_mounted:
            return
        # The poller's message can arrive while the app tears the screen down: its children
        # are gone before `is_mounted` turns false, and then there is nothing to redraw.
        try:
            status = self.query_one("#status", Panel)
            inputs = self.query_one("#inputs", Panel)
        except NoMatches:
            return
        status.show(self.bench.status_text())
        inputs.show(self.bench.inputs_text(self.term_width))

    def refresh_body(self) -> None:
        """Subclasses re-render their body."""


class IdleScreen(BenchScreen):
    """Nobody is logged in."""

    def compose_body(self) -> ComposeResult:
        """The big prompt."""
        yield Panel(id="idle-banner")

    def refresh_body(self) -> None:
        """'SCAN YOUR BADGE', and the unfinished inspection waiting, if any."""
        text = styled("S C A N   Y O U R   B A D G E", "bold")
        d = self.bench.wf.state.draft
        if d is not None:
            text.append(
                f"\n\nunfinished: part {d.part.number} (plan {d.plan.id} rev {d.plan.rev}) "
                f"by {d.operator}",
                style="yellow",
            )
        self.query_one("#idle-banner", Panel).show(text)


class WorkScreen(BenchScreen):
    """Ready for a part, inspecting, or waiting for the NC / SPC dialog."""

    def compose_body(self) -> ComposeResult:
        """Plan lines, the characteristics table, the last reading and the SPC chart."""
        yield Panel(id="plan")
        yield Panel(id="table")
        with Horizontal(id="readrow"):
            yield ReadingPanel(id="reading")
            yield Panel(id="spc")

    def on_mount(self) -> None:
        """Attach the latency probe, then render."""
        self.query_one("#reading", ReadingPanel).probe = self.bench.latency_probe
        super().on_mount()

    def refresh_body(self) -> None:
        """Render the plan of the current (or last) inspection."""
        wf = self.bench.wf
        st = wf.state
        plan = st.plan
        plan_panel = self.query_one("#plan", Panel)
        table = self.query_one("#table", Panel)
        if plan is None:
            plan_panel.show(label("scan a part (plain part number or GS1 barcode)", "bold"))
            table.show("")
            self._show_reading(None, None)
            self.query_one("#spc", Panel).show("")
            return
        title, instruction = render.plan_lines(plan)
        head = styled(title, "bold")
        result = self.bench.outcome
        if st.draft is not None:
            serial = f" serial {st.draft.part.serial}" if st.draft.part.serial else ""
            head.append(f" | part {st.draft.part.number}{serial}")
        elif result is not None:
            # First: the line is cut at the right edge, and the outcome matters most.
            head = styled(f"part {result.part} ", "bold")
            head.append(result.word, outcome.STYLE.get(result.result, "bold"))
            head.append(f" | {title}")
        plan_panel.show(head + Text("\n" + instruction))
        if st.draft is not None and st.draft.plan == plan:
            taken = render.taken_from_bodies(m.body() for m in st.draft.measurements.values())
        elif st.draft is None and result is not None and result.record is not None:
            # The part just recorded; never the part before an abandoned one (issue 12.10).
            taken = render.taken_from_bodies(result.record.body["measurements"])
        else:
            taken = {}
        target = self._target()
        lines = render.table_lines(plan, taken, target.id if target else None, self.term_width)
        table.show(Text("\n").join(lines))
        self._show_reading(st.last_measurement, self.bench.take_reading_stamp())
        self._show_spc(self._last_measured() or target)

    def refresh_verdict(self) -> None:
        """Only the notice and the big reading (the rest follows in the next frame)."""
        if not self.is_mounted:
            return
        self.show_notice()
        self._show_reading(self.bench.wf.state.last_measurement, self.bench.take_reading_stamp())

    def _last_measured(self) -> Characteristic | None:
        """The characteristic of the reading shown large (its chart goes beside it)."""
        st = self.bench.wf.state
        if st.plan is None or st.last_measurement is None:
            return None
        try:
            return st.plan.characteristic(st.last_measurement.characteristic)
        except KeyError:
            return None

    def _target(self) -> Characteristic | None:
        """The characteristic the next value goes to (or the one just measured)."""
        wf = self.bench.wf
        st = wf.state
        if st.draft is not None:
            if st.redo is not None:
                return st.draft.plan.characteristic(st.redo[0])
            pending = wf.pending_samples()
            if pending:
                return pending[0][0]
        return self._last_measured()

    def _show_reading(self, m: Measurement | None, stamp: float | None) -> None:
        """The part's outcome once it ended, else the last reading, sized to the panel."""
        panel = self.query_one("#reading", ReadingPanel)
        st = self.bench.wf.state
        # Before the first layout the panel has no size: assume the 80x24 one.
        width = panel.size.width or max(20, self.term_width - 46)
        height = panel.size.height or 6
        result = self.bench.outcome
        if st.draft is None and result is not None:
            nc_owed = result.record is not None and st.nc_for is result.record
            panel.show(outcome.outcome_text(result, width, nc_owed=nc_owed), stamp)
            return
        if m is None:
            panel.show(styled("no reading yet", "dim"), stamp)
            return
        redo = st.redo == (m.characteristic, m.sample)
        panel.show(render.reading_text(m, width, height, redo=redo), stamp)

    def _show_spc(self, c: Characteristic | None) -> None:
        panel = self.query_one("#spc", Panel)
        wf = self.bench.wf
        view = wf.spc_view(c.id) if c is not None and c.spc is not None else None
        if view is None:
            panel.show(styled("no SPC for this characteristic", "dim") if c else "")
            return
        out = styled(f"SPC {view.characteristic} (n={view.n})", "bold")
        for i, row in enumerate(view.chart_rows):
            tag = "UCL" if i == 1 else "LCL" if i == len(view.chart_rows) - 2 else ""
            if not tag and "-" in row:  # only the centre line is drawn with '-'
                tag = "CL"
            out.append(f"\n{tag:<4}{row}")
        if not view.chart_rows:
            out.append("\n" + view.limits_text)
        else:
            out.append("\n" + view.capability_text)
        panel.show(out)


class CheckScreen(BenchScreen):
    """Instrument check: instrument, standard, readings, result and the suspect list."""

    def compose_body(self) -> ComposeResult:
        """One panel."""
        yield Panel(id="check")

    def refresh_body(self) -> None:
        """The check in progress, or its result with the suspect inspections."""
        st = self.bench.wf.state
        check = st.check
        out = styled("INSTRUMENT CHECK", "bold underline")
        if check is None:
            self.query_one("#check", Panel).show(out)
            return
        inst = check.instrument
        if inst is None:
            out.append("\n1. scan the instrument to check", style="bold")
        else:
            mpe = f", mpe {inst.mpe:g} {inst.unit}" if inst.mpe is not None else ""
            out.append(f"\ninstrument  {inst.id} ({inst.type}{mpe})")
        std = check.standard
        if inst is not None and std is None:
            out.append("\n2. scan the reference standard", style="bold")
        elif std is not None:
            out.append(f"\nstandard    {std.id} = {std.value:g} {std.unit} (cal due {std.cal_due})")
        if std is not None:
            values = ", ".join(render.fmt_value(r.value) for r in check.readings)
            out.append(f"\nreadings    {len(check.readings)}/{check.readings_needed}: {values}")
        if check.result is not None:
            b = check.result.body
            verdict = str(b.get("verdict", "?"))
            out.append("\nresult      ")
            out.append(
                f" {verdict.upper()} ", style=render.VERDICT_STYLE.get(verdict, "") + " reverse"
            )
            bias = b.get("bias")
            shown = f"{bias:+.6g}" if isinstance(bias, (int, float)) else "?"
            out.append(f"  bias {shown} {b.get('unit', '')} (mpe {b.get('mpe')})")
        if check.suspect is not None:
            sb = check.suspect.body
            parts = sb.get("parts", [])
            count = len(sb.get("inspections", []))
            since = sb.get("since") or "its first use"
            if count:
                out.append(f"\nSUSPECT: {count} inspection(s) since {since}:", "bold red")
            else:  # no dangling "0 inspection(s) since ...:" over an empty list
                out.append(f"\nNo inspection used it since {since}: none is suspect.", "bold")
            for p in parts[:6]:
                out.append(f"\n  {p.get('number')} {p.get('serial') or ''}")
            if len(parts) > 6:
                out.append(f"\n  ... and {len(parts) - 6} more (F2 history)")
        if st.mode is Mode.CHECK and check.done:
            out.append("\nEsc: leave the check", style="dim")
        self.query_one("#check", Panel).show(out)


class CalibrationScreen(BenchScreen):
    """Calibration: the procedure, what to scan next, the series table and the result."""

    def compose_body(self) -> ComposeResult:
        """One panel."""
        yield Panel(id="calibration")

    def refresh_body(self) -> None:
        """The calibration in progress, or its result with the re-judged parts."""
        cal = self.bench.wf.state.calibration
        out = styled("CALIBRATION", "bold underline")
        if cal is None:
            self.query_one("#calibration", Panel).show(out)
            return
        proc = cal.procedure
        out.append(f"\nprocedure   {proc.id} rev {proc.rev} {proc.title}")
        if cal.instrument is not None:
            inst = cal.instrument
            out.append(f"\ninstrument  {inst.id} ({inst.type}, cal due {inst.cal_due})")
        out.append(f"\nnext        {cal.prompt()}", style="bold")
        for name, series in (("as-found", cal.as_found), ("as-left", cal.as_left)):
            if series:
                out.append(f"\n{name}:\n" + "\n".join(table_text(series)))
        if cal.record is not None:
            result = str(cal.record.body.get("result", "?"))
            style = {"pass": "green", "adjusted": "green", "fail": "red"}.get(result, "")
            out.append("\nresult      ")
            out.append(f" {result.upper()} ", style=style + " reverse")
            out.append(f"  next due {cal.record.body.get('next_due') or '-'}")
        if cal.suspect is not None:
            count = len(cal.suspect.body.get("inspections", []))
            out.append(
                f"\nSUSPECT: {count} inspection(s); {len(cal.flipped)} measurement(s) flip",
                "bold red",
            )
            for line in cal.flipped[:6]:
                out.append(f"\n  {line}")
        if cal.record is not None:
            out.append("\nEsc: leave the calibration", style="dim")
        self.query_one("#calibration", Panel).show(out)


MODE_SCREENS: dict[Mode, str] = {
    Mode.IDLE: "idle",
    Mode.READY: "work",
    Mode.INSPECTING: "work",
    Mode.NONCONFORMANCE: "work",
    Mode.SPC_SIGNAL: "work",
    Mode.CHECK: "check",
    Mode.CALIBRATION: "calibration",
    Mode.STUDY: "study",  # station.ui.studyscreen.StudyScreen
}

__all__ = [
    "MODE_SCREENS",
    "BenchScreen",
    "CalibrationScreen",
    "CheckScreen",
    "IdleScreen",
    "WorkScreen",
]
