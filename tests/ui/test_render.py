"""The bench's text pieces: tolerance bar, big digits, limits (pure functions)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from station.core.inspection import measure_variable
from station.core.model import Characteristic, Instrument, Plan
from station.ui.header import key_bar
from station.ui.render import (
    Taken,
    big_text,
    fmt_limits,
    fmt_value,
    reading_text,
    table_lines,
    tolerance_bar,
)


def test_tolerance_bar_places_the_value_and_the_nominal() -> None:
    assert tolerance_bar(12.35, 12.3, 12.4, 12.35, width=13) == "12.3  |-----*-----|  12.4"
    assert tolerance_bar(12.3, 12.3, 12.4, 12.35, width=13) == "12.3  |*----:-----|  12.4"
    assert tolerance_bar(12.4, 12.3, 12.4, None, width=13) == "12.3  |----------*|  12.4"


def test_tolerance_bar_puts_an_out_of_tolerance_value_outside_the_bars() -> None:
    assert tolerance_bar(12.29, 12.3, 12.4, 12.35, width=13) == "12.3 *|-----:-----|  12.4"
    assert tolerance_bar(12.5, 12.3, 12.4, 12.35, width=13) == "12.3  |-----:-----|* 12.4"


def test_one_sided_tolerance_names_its_limit_instead_of_a_bar() -> None:
    assert tolerance_bar(0.4, None, 0.8) == "limit <= 0.8"
    assert tolerance_bar(5.0, 2.0, None) == "limit >= 2"
    assert tolerance_bar(5.0, None, None) == ""


def test_big_digits_are_three_rows_of_console_safe_blocks() -> None:
    rows = big_text("-12.5")
    assert rows == [
        "    ▀█  ▀▀█   █▀▀",
        "▀▀▀  █  █▀▀   ▀▀█",
        "    ▄█▄ █▄▄ ▄ ▄▄█",
    ]
    assert set("".join(rows)) <= set("█▀▄ ")


def test_values_and_limits_print_without_float_noise() -> None:
    assert fmt_value(0.1 + 0.2) == "0.3"
    assert fmt_value(None) == "-"
    assert fmt_limits(24.95, 25.05) == "24.95 .. 25.05"
    assert fmt_limits(None, 0.8) == "<= 0.8"


def _plan_with_an_indeterminate_reading() -> tuple[Plan, dict[tuple[str, int], Taken]]:
    plan = Plan(
        id="P-1",
        rev="A",
        status="released",
        title="t",
        part_numbers=("PN-1",),
        characteristics=(
            Characteristic(
                id="seat-dia",
                kind="variable",
                nominal=25.0,
                lsl=24.95,
                usl=25.05,
                unit="mm",
                instrument_type="caliper",
                samples=3,
            ),
        ),
    )
    taken = {("seat-dia", s): Taken(25.0444, "mm", "indeterminate") for s in (1, 2, 3)}
    return plan, taken


def test_the_table_never_cuts_the_verdict_word_it_drops_spec_columns() -> None:
    plan, taken = _plan_with_an_indeterminate_reading()
    for width in (100, 80, 60, 40, 30):
        head, row = table_lines(plan, taken, None, width)
        assert row.plain.rstrip().endswith("3/3 25.0444 INDETERMINATE"), (width, row.plain)
        assert len(row.plain.rstrip()) <= max(width, 10 + 1 + 25), (width, row.plain)
        assert head.plain.rstrip().endswith("state")
    assert "limits" in table_lines(plan, taken, None, 80)[0].plain  # kept while it fits
    assert "instrument" in table_lines(plan, {}, None, 80)[0].plain  # all columns when short


def test_the_key_bar_wraps_between_keys_and_keeps_quit() -> None:
    keys = [
        ("ctrl+p", "Pass", "judge"),
        ("ctrl+f", "Fail", "judge"),
        ("ctrl+r", "Redo", "redo"),
        ("space", "Poll", "poll"),
        ("f8", "Abandon", "abandon"),
        ("f1", "Details", "details"),
        ("f2", "History", "history"),
        ("ctrl+l", "Logout", "logout"),
        ("ctrl+q", "Quit", "quit"),
    ]
    for width in (80, 60):
        lines = key_bar(keys, lambda _: True, width).plain.split("\n")
        assert len(lines) == 2 and all(len(x) <= width for x in lines), lines
        assert "^Q  Quit" in lines[-1]
        for _, label, _ in keys:  # no key is cut from its label
            assert sum(line.count(f" {label} ") for line in lines) == 1, (label, lines)


def test_a_reading_too_wide_for_big_digits_is_shown_on_one_line() -> None:
    m = measure_variable(
        _plan_with_an_indeterminate_reading()[0].characteristics[0],
        1,
        25.0444,
        "mm",
        instrument=Instrument("CAL-1", "caliper", "active", date(2027, 1, 1), "mm", 0.0001),
        ts=datetime(2026, 11, 21, tzinfo=UTC),
        raw="x",
    )
    wide = reading_text(m, 40, 6).plain.split("\n")
    assert wide[1:4] == [
        r.rstrip() + ("  mm" if i == 1 else "") for i, r in enumerate(big_text("25.0444"))
    ]
    narrow = reading_text(m, 20, 6).plain.split("\n")
    assert narrow[1] == "25.0444  mm" and narrow[2].startswith(f" {m.verdict.upper()} ")
    assert all(len(line) <= 20 for line in narrow), narrow  # the bar too
