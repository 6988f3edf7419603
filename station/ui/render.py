"""Plain-text pieces of the bench screen: big digits, the tolerance bar, table rows.

Pure functions over the workflow's state, so they are tested without a terminal and every
screen formats a value the same way. Everything here must survive a Linux console (TERM=linux:
16 colours, a 512-glyph font): only ASCII plus the CP437 block elements "█ ▀ ▄", which every
VGA-derived console font carries (Textual 8 docs; Linux console fonts: braille and most box glyphs
render as boxes).
Colours are the eight ANSI names, so they map 1:1 onto the console palette.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from station.bench.notice import Level, Notice
from station.core.inspection import Measurement
from station.core.model import Characteristic, Plan

# Verdict and notice colours: ANSI names only (16-colour console).
VERDICT_STYLE: dict[str, str] = {
    "pass": "bold green",
    "fail": "bold red",
    "indeterminate": "bold yellow",
}
LEVEL_STYLE: dict[Level, str] = {
    "ok": "bold green",
    "info": "default",
    "warn": "bold yellow",
    "error": "bold red",
}

# 3x3 glyphs of block elements ("█▀▄" are CP437 219/223/220).
_BIG: dict[str, tuple[str, str, str]] = {
    "0": ("█▀█", "█ █", "█▄█"),
    "1": ("▀█ ", " █ ", "▄█▄"),
    "2": ("▀▀█", "█▀▀", "█▄▄"),
    "3": ("▀▀█", " ▀█", "▄▄█"),
    "4": ("█ █", "▀▀█", "  █"),
    "5": ("█▀▀", "▀▀█", "▄▄█"),
    "6": ("█▀▀", "█▀█", "█▄█"),
    "7": ("▀▀█", "  █", "  █"),
    "8": ("█▀█", "█▀█", "█▄█"),
    "9": ("█▀█", "▀▀█", "▄▄█"),
    "-": ("   ", "▀▀▀", "   "),
    "+": ("   ", "▄█▄", " ▀ "),
    ".": (" ", " ", "▄"),
    " ": (" ", " ", " "),
}


def styled(text: str, style: str) -> Text:
    """`text` in `style`, as a span: Textual keeps a span's ANSI colour as is, while a Text's
    base style is re-parsed into an RGB colour (truecolor on a 16-colour console)."""
    return Text().append(text, style)


def big_text(text: str) -> list[str]:
    """`text` in 3-line block digits; characters without a glyph are shown in the middle row."""
    rows = ["", "", ""]
    for i, ch in enumerate(text):
        glyph = _BIG.get(ch, (" ", ch, " "))
        for r in range(3):
            rows[r] += (" " if i else "") + glyph[r]
    return rows


def fmt_value(value: float | None) -> str:
    """A measured value as the operator reads it (no float noise, no trailing exponent)."""
    if value is None:
        return "-"
    return f"{value:.10g}"


def fmt_limits(lsl: float | None, usl: float | None) -> str:
    """'12.3 .. 12.4', '<= 12.4' or '>= 12.3' (ASCII: the console font has no '≤')."""
    if lsl is not None and usl is not None:
        return f"{fmt_value(lsl)} .. {fmt_value(usl)}"
    if usl is not None:
        return f"<= {fmt_value(usl)}"
    if lsl is not None:
        return f">= {fmt_value(lsl)}"
    return ""


def tolerance_bar(
    value: float,
    lsl: float | None,
    usl: float | None,
    nominal: float | None = None,
    width: int = 31,
) -> str:
    """Where `value` lies between the limits: '12.3 |-----:--*--| 12.4'.

    '*' is the value (outside the bars when out of tolerance), ':' the nominal. A one-sided
    tolerance has no bar: the limit is named instead.
    """
    if lsl is None or usl is None or not usl > lsl:
        return f"limit {fmt_limits(lsl, usl)}" if (lsl is not None or usl is not None) else ""
    inner = max(3, width - 2)
    cells = ["-"] * inner

    def index(x: float) -> int:
        return round((x - lsl) / (usl - lsl) * (inner - 1))

    if nominal is not None and lsl <= nominal <= usl:
        cells[index(nominal)] = ":"
    left = right = " "
    if value < lsl:
        left = "*"
    elif value > usl:
        right = "*"
    else:
        cells[index(value)] = "*"
    return f"{fmt_value(lsl)} {left}|{''.join(cells)}|{right} {fmt_value(usl)}"


def bar_for_width(
    value: float, lsl: float | None, usl: float | None, nominal: float | None, width: int
) -> str:
    """`tolerance_bar` sized so that the whole line, limit labels included, is `width` wide."""
    if lsl is None or usl is None:
        return tolerance_bar(value, lsl, usl, nominal)
    labels = len(fmt_value(lsl)) + len(fmt_value(usl)) + 4  # "lsl *|" and "|* usl"
    return tolerance_bar(value, lsl, usl, nominal, width=max(5, width - labels))


def reading_text(m: Measurement, width: int, height: int, *, redo: bool = False) -> Text:
    """The last reading for a panel of `width` x `height` cells, verdict first in importance.

    Big 3-row digits when they fit (read from a metre away), else one bold line: the value
    and the verdict word are never cut (issue 12.11: the screen stays usable at 60x20).
    """
    style = VERDICT_STYLE.get(m.verdict, "bold")
    head = styled(f"{m.characteristic} #{m.sample}", "bold")
    if redo:
        head.append(" REDO: the next value replaces it", style="bold yellow")
    elif m.instrument:
        head.append(f"  {m.instrument}")
    verdict = styled(f" {m.verdict.upper()} ", style + " reverse")
    if m.kind != "variable" or m.value is None:
        return head + Text("\n\n") + verdict
    value, unit = fmt_value(m.value), f"  {m.unit or ''}"
    big = big_text(value)
    out = head + Text("\n")
    if height >= 6 and len(big[1]) + len(unit) <= width:
        rows = [styled(row, style) for row in big]
        rows[1].append(unit)
        out += Text("\n").join(rows)
    else:
        out += styled(value, style) + Text(unit)
    out += Text("\n") + verdict
    out.append(f"  {m.rule or ''}")
    bar = bar_for_width(m.value, m.lsl, m.usl, m.nominal, width)
    return out + Text("\n" + bar) if bar else out


def notice_text(notice: Notice | None, max_details: int = 12) -> Text:
    """A notice in its level colour, details indented below."""
    if notice is None:
        return Text("")
    out = styled(notice.text, LEVEL_STYLE[notice.level])
    details = list(notice.details)
    if len(details) > max_details:
        details = [*details[: max_details - 1], f"... and {len(details) - max_details + 1} more"]
    for line in details:
        out.append("\n  " + line, style="default" if notice.level == "info" else "")
    return out


def rows_needed(text: Text, width: int) -> int:
    """Terminal rows `text` takes when word-wrapped at `width` cells."""
    return sum(max(1, len(textwrap.wrap(line.plain, max(1, width)))) for line in text.split("\n"))


def clip_rows(text: Text, width: int, max_rows: int, more: str) -> Text:
    """`text` as it fits in `max_rows` wrapped rows, its last row saying `more` when cut."""
    if rows_needed(text, width) <= max_rows:
        return text
    kept: list[Text] = []
    used = 0
    for line in text.split("\n"):
        rows = rows_needed(line, width)
        if used + rows > max_rows - 1:
            break
        kept.append(line)
        used += rows
    return Text("\n").join([*kept, styled(more, "bold")])


@dataclass(frozen=True)
class Taken:
    """One sample as the table shows it."""

    value: float | None
    unit: str | None
    verdict: str


def taken_from_bodies(bodies: Iterable[Mapping[str, Any]]) -> dict[tuple[str, int], Taken]:
    """Samples from record-style measurement bodies (the draft's or a stored inspection's)."""
    return {
        (str(b["characteristic"]), int(b["sample"])): Taken(
            b.get("value"), b.get("unit"), str(b["verdict"])
        )
        for b in bodies
    }


COLUMNS = (
    ("characteristic", 18),
    ("nominal", 8),
    ("limits", 15),
    ("unit", 4),
    ("n", 2),
    ("instrument", 10),
)
# Dropped first when the state column (value and the whole verdict word) would not fit: the
# operator needs the id, the limits and the verdict; the rest is in the plan (issue 12.11).
_DROP_ORDER = ("instrument", "n", "nominal", "unit", "limits")
MIN_ID_WIDTH = 10


def fit_columns(width: int, state_width: int) -> tuple[tuple[str, int], ...]:
    """The spec columns that leave `state_width` cells for the state column at `width`."""
    cols = list(COLUMNS)

    def used() -> int:
        return sum(w + 1 for _, w in cols) + state_width

    for name in _DROP_ORDER:
        if used() <= width:
            break
        cols = [c for c in cols if c[0] != name]
    if used() > width:  # only the id is left: it gives way to the verdict
        cols = [("characteristic", max(MIN_ID_WIDTH, width - state_width - 1))]
    return tuple(cols)


def state_text(c: Characteristic, taken: Mapping[tuple[str, int], Taken], marker: str) -> Text:
    """The state cell: 'next', '-', or the latest value with the worst verdict, in colour."""
    samples = [taken[(c.id, s)] for s in range(1, c.samples + 1) if (c.id, s) in taken]
    if not samples:
        target = bool(marker.strip())
        return styled("next" if target else "-", "bold" if target else "")
    last = samples[-1]
    worst = _worst(t.verdict for t in samples)
    shown = fmt_value(last.value) if last.value is not None else ""
    count = f"{len(samples)}/{c.samples} " if c.samples > 1 else ""
    return styled(f"{count}{shown} {worst.upper()}".strip(), VERDICT_STYLE.get(worst, ""))


def _cell(c: Characteristic, name: str, marker: str) -> str:
    if name == "characteristic":
        return marker + c.id
    if name == "nominal":
        return fmt_value(c.nominal) if c.nominal is not None else ""
    if name == "limits":
        return fmt_limits(c.lsl, c.usl)
    if name == "unit":
        return c.unit or ""
    if name == "n":
        return str(c.samples)
    return c.instrument_type or ("^P/^F keys" if c.kind == "attribute" else "")


def table_lines(
    plan: Plan,
    taken: Mapping[tuple[str, int], Taken],
    target: str | None,
    width: int = 80,
) -> list[Text]:
    """The characteristics table at `width`: a header, then one line per characteristic.

    The state column is never cut: spec columns are dropped until the longest state (e.g.
    "3/3 12.346 INDETERMINATE") fits, so the verdict word is always whole.
    """
    marks = {c.id: ">" if c.id == target else " " for c in plan.characteristics}
    states = [state_text(c, taken, marks[c.id]) for c in plan.characteristics]
    cols = fit_columns(width, max([5, *(len(s.plain) for s in states)]))
    head = " ".join(f"{name:<{w}}" for name, w in cols) + " state"
    lines = [styled(head, "bold underline")]
    for c, state in zip(plan.characteristics, states, strict=True):
        cells = " ".join(f"{_cell(c, name, marks[c.id])[:w]:<{w}}" for name, w in cols)
        lines.append(Text(cells + " ") + state)
    return lines


def _worst(verdicts: Iterable[str]) -> str:
    order = {"fail": 0, "indeterminate": 1, "pass": 2}
    return min(verdicts, key=lambda v: order.get(v, 3), default="pass")


def plan_lines(plan: Plan) -> tuple[str, str]:
    """'plan P-1001 rev C: title' and the work instruction reference."""
    title = f"plan {plan.id} rev {plan.rev}" + (f": {plan.title}" if plan.title else "")
    return title, plan.instruction or "(no work instruction reference)"


__all__ = [
    "COLUMNS",
    "LEVEL_STYLE",
    "VERDICT_STYLE",
    "Taken",
    "bar_for_width",
    "big_text",
    "clip_rows",
    "fit_columns",
    "fmt_limits",
    "fmt_value",
    "notice_text",
    "plan_lines",
    "reading_text",
    "rows_needed",
    "state_text",
    "styled",
    "table_lines",
    "taken_from_bodies",
    "tolerance_bar",
]
