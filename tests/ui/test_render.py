"""The bench's text pieces: tolerance bar, big digits, limits (pure functions)."""

from __future__ import annotations

from station.ui.render import big_text, fmt_limits, fmt_value, tolerance_bar


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
