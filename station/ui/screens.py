"""One screen per bench mode: idle ("scan your badge"), work (plan + readings), check.

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

from station.bench.workflow import Mode
from station.core.inspection import Measurement
from station.core.model import Characteristic
from station.ui import render
from station.ui.render import styled
from station.ui.widgets import Panel, ReadingPanel, ScanField, label

if TYPE_CHECKING:
    from station.ui.app import BenchApp


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

    def refresh_view(self) -> None:
        """Re-render the frame and the body."""
        if not self.is_mounted:
            return
        self.refresh_header()
        self.query_one("#notice", Panel).show(render.notice_text(self.bench.notice))
        self.query_one("#keys", Panel).show(self.bench.keys_text())
        self.refresh_body()

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
        inputs.show(self.bench.inputs_text())

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
        if st.draft is not None:
            serial = f" serial {st.draft.part.serial}" if st.draft.part.serial else ""
            head.append(f" | part {st.draft.part.number}{serial}")
        plan_panel.show(head + Text("\n" + instruction))
        if st.draft is not None and st.draft.plan == plan:
            taken = render.taken_from_bodies(m.body() for m in st.draft.measurements.values())
        elif st.last_inspection is not None:
            taken = render.taken_from_bodies(st.last_inspection.body["measurements"])
        else:
            taken = {}
        target = self._target()
        lines = [render.table_header()]
        for c in plan.characteristics:
            marker = ">" if target is not None and c.id == target.id else " "
            lines.append(render.characteristic_row(c, taken, marker=marker))
        table.show(Text("\n").join(lines))
        self._show_reading(st.last_measurement, self.bench.take_reading_stamp())
        self._show_spc(self._last_measured() or target)

    def refresh_verdict(self) -> None:
        """Only the notice and the big reading (the rest follows in the next frame)."""
        if not self.is_mounted:
            return
        self.query_one("#notice", Panel).show(render.notice_text(self.bench.notice))
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
        panel = self.query_one("#reading", ReadingPanel)
        st = self.bench.wf.state
        if m is None:
            panel.show(styled("no reading yet", "dim"), stamp)
            return
        style = render.VERDICT_STYLE.get(m.verdict, "bold")
        head = styled(f"{m.characteristic} #{m.sample}", "bold")
        if st.redo == (m.characteristic, m.sample):
            head.append(" REDO: the next value replaces it", style="bold yellow")
        elif m.instrument:
            head.append(f"  {m.instrument}")
        verdict = styled(f" {m.verdict.upper()} ", style + " reverse")
        if m.kind != "variable" or m.value is None:
            body = Text("\n\n") + verdict
            panel.show(head + Text("\n") + body, stamp)
            return
        big = render.big_text(render.fmt_value(m.value))
        rows = [styled(big[0], style), styled(big[1], style), styled(big[2], style)]
        rows[1].append(f"  {m.unit or ''}")
        width = max(20, panel.size.width or 36)
        bar = render.tolerance_bar(m.value, m.lsl, m.usl, m.nominal, width=width - 14)
        out = head + Text("\n") + Text("\n").join(rows) + Text("\n") + verdict
        out.append(f"  {m.rule or ''}")
        out.append("\n" + bar)
        panel.show(out, stamp)

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
            out.append(
                f"\nSUSPECT: {len(sb.get('inspections', []))} inspection(s) since "
                f"{sb.get('since') or 'first use'}:",
                style="bold red",
            )
            for p in parts[:6]:
                out.append(f"\n  {p.get('number')} {p.get('serial') or ''}")
            if len(parts) > 6:
                out.append(f"\n  ... and {len(parts) - 6} more (F2 history)")
        if st.mode is Mode.CHECK and check.done:
            out.append("\nEsc: leave the check", style="dim")
        self.query_one("#check", Panel).show(out)


MODE_SCREENS: dict[Mode, str] = {
    Mode.IDLE: "idle",
    Mode.READY: "work",
    Mode.INSPECTING: "work",
    Mode.NONCONFORMANCE: "work",
    Mode.SPC_SIGNAL: "work",
    Mode.CHECK: "check",
}

__all__ = ["MODE_SCREENS", "BenchScreen", "CheckScreen", "IdleScreen", "WorkScreen"]
