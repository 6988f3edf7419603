"""Plain-text pieces of the bench screen: big digits, the tolerance bar, table rows.

Pure functions over the workflow's state, so they are tested without a terminal and every
screen formats a value the same way. Everything here must survive a Linux console (TERM=linux:
16 colours, a 512-glyph font): only ASCII plus the CP437 block elements "█ ▀ ▄", which every
VGA-derived console font carries (tech.md §5: braille and most box glyphs render as boxes).
Colours are the eight ANSI names, so they map 1:1 onto the console palette.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from station.bench.notice import Level, Notice
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


def table_header() -> Text:
    """The characteristics table's header line."""
    head = " ".join(f"{name:<{w}}" for name, w in COLUMNS) + " state"
    return styled(head, "bold underline")


def characteristic_row(
    c: Characteristic, taken: Mapping[tuple[str, int], Taken], *, marker: str = " "
) -> Text:
    """One table line: the spec columns, then the state with the latest value and verdict."""
    samples = [taken[(c.id, s)] for s in range(1, c.samples + 1) if (c.id, s) in taken]
    instrument = c.instrument_type or ("^P/^F keys" if c.kind == "attribute" else "")
    cells = (
        (marker + c.id)[:18],
        fmt_value(c.nominal) if c.nominal is not None else "",
        fmt_limits(c.lsl, c.usl)[:15],
        (c.unit or "")[:4],
        str(c.samples),
        instrument[:10],
    )
    line = Text(" ".join(f"{v:<{w}}" for v, (_, w) in zip(cells, COLUMNS, strict=True)) + " ")
    if not samples:
        line.append("next" if marker.strip() else "-", style="bold" if marker.strip() else "")
        return line
    last = samples[-1]
    worst = _worst(t.verdict for t in samples)
    shown = fmt_value(last.value) if last.value is not None else ""
    count = f"{len(samples)}/{c.samples} " if c.samples > 1 else ""
    line.append(f"{count}{shown} {worst.upper()}".strip(), style=VERDICT_STYLE.get(worst, ""))
    return line


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
    "big_text",
    "characteristic_row",
    "fmt_limits",
    "fmt_value",
    "notice_text",
    "plan_lines",
    "styled",
    "table_header",
    "taken_from_bodies",
    "tolerance_bar",
]
