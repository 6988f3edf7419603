"""The gauge study screen (issue 17): what to scan next, the progress grid, the last readings
and, once recorded, the results.

The grid is appraisers x parts with the trials taken of `trials` in each cell (AIAG MSA 4th
ed. III-B: every appraiser measures every part `trials` times), the suggested next part
marked; a Type-1 shows its count of `readings`. The screen renders the workflow's state and
decides nothing.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult

from station.bench.studying import result_lines
from station.bench.studymode import NAMES, Study
from station.ui.render import styled
from station.ui.screens import BenchScreen
from station.ui.widgets import Panel

LAST_READINGS = 5
CELL = 7


def grid_lines(study: Study) -> list[str]:
    """The progress grid, one line per appraiser (parts as columns)."""
    parts = study.parts
    nxt = study.suggestion()
    head = "appraiser ".ljust(12) + "".join(p[: CELL - 1].ljust(CELL) for p in parts)
    lines = [head]
    for a in study.appraisers:
        cells = []
        for p in parts:
            cell = f"{study.count(a, p)}/{study.n_trials}"
            if a == study.appraiser and nxt is not None and nxt[0] == p:
                cell += "<"
            cells.append(cell.ljust(CELL))
        mark = "*" if a == study.appraiser else " "
        lines.append(f"{mark}{a[:10]}".ljust(12) + "".join(cells))
    unnamed = study.n_parts - len(parts)
    if unnamed > 0:
        lines.append(f"{unnamed} part(s) not named yet")
    if len(study.appraisers) < study.n_appraisers:
        lines.append(f"{study.n_appraisers - len(study.appraisers)} appraiser(s) to come")
    return lines


def study_text(study: Study) -> Text:
    """The whole body: header, next step, progress, last readings, results."""
    proc = study.procedure
    out = styled(NAMES[study.kind].upper(), "bold underline")
    out.append(f"\nprocedure   {proc.id} rev {proc.rev} {proc.title}")
    tol = f"  T {proc.tolerance:g} {proc.unit}" if proc.tolerance is not None else ""
    out.append(f"\noperator    {study.operator}{tol}")
    if study.instrument is not None:
        out.append(f"\ninstrument  {study.instrument.id} ({study.instrument.type})")
    if study.standard is not None:
        std = study.standard
        out.append(f"\nstandard    {std.id} = {std.value:g} {std.unit}")
    out.append(f"\nnext        {study.prompt()}", style="bold")
    if study.type1:
        out.append(f"\nreadings    {len(study.readings)}/{study.n_readings}")
    elif study.instrument is not None:
        out.append("\n" + "\n".join(grid_lines(study)))
    if study.readings and study.record is None:
        out.append("\nlast:")
        for r in study.readings[-LAST_READINGS:][::-1]:
            shown = r.decision or f"{r.value:g} {proc.unit}"
            out.append(f"\n  {r.label()}: {shown}")
    if study.record is not None:
        body = study.record.body
        verdict = str(body["verdict"])
        style = {"acceptable": "green", "conditional": "yellow"}.get(verdict, "red")
        out.append("\nresult      ")
        out.append(f" {verdict.upper()} ", style=style + " reverse")
        for line in result_lines(body):
            out.append(f"\n  {line}")
        out.append("\nEsc: leave the study", style="dim")
    return out


class StudyScreen(BenchScreen):
    """A gauge study: Type-1, gauge R&R or attribute agreement."""

    DEFAULT_CSS = """
    #study {
        height: 1fr;
        text-wrap: wrap;
    }
    """

    def compose_body(self) -> ComposeResult:
        """One panel."""
        yield Panel(id="study")

    def refresh_body(self) -> None:
        """The study in progress, or its result."""
        study = self.bench.wf.state.study
        text = styled("GAUGE STUDY", "bold underline") if study is None else study_text(study)
        self.query_one("#study", Panel).show(text)


__all__ = ["StudyScreen", "grid_lines", "study_text"]
