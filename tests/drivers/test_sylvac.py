"""Sylvac frames: parser (fuzzed, round-tripped) and driver against the pty simulator."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.base import CommandError, DeviceStatusError, DeviceTimeout, ParseError
from drivers.serial_line import LineParams
from drivers.sylvac import SylvacDriver, parse_frame
from sim.gauge_formats import format_sylvac


@pytest.mark.parametrize(
    ("line", "value"),
    [
        (b"+012.345", "12.345"),
        (b"-000.120", "-0.120"),
        (b" 012.345", "12.345"),  # the sign may be a space
        (b"+0.50000", "0.50000"),  # inch, 5 decimals
        (b"+012.345=", "12.345"),  # tolerance mode: in tolerance
        (b"-001.000<", "-1.000"),
        (b"+099.999 >", "99.999"),
    ],
)
def test_documented_frames_parse(line: bytes, value: str) -> None:
    frame = parse_frame(line)
    assert frame is not None and frame.value == Decimal(value) and frame.unit is None


@pytest.mark.parametrize(
    ("line", "meaning"),
    [
        (b"ERR0", "ERR0: sensor error"),
        (b"ERR1", "ERR1: incorrect command"),
        (b"ERR2", "ERR2: parity error"),
        (b"ERR3", "ERR3: measurement range exceeded"),
        (b"ERR23", "ERR23: unknown error code"),
    ],
)
def test_errors_name_their_number(line: bytes, meaning: str) -> None:
    with pytest.raises(CommandError, match=meaning):
        parse_frame(line)


def test_ident_and_echo_are_ignored() -> None:
    assert parse_frame(b"SY233.1.2") is None
    assert parse_frame(b"?") is None
    with pytest.raises(ParseError, match=r"sylvac: got b'\+12,345', expected a frame like"):
        parse_frame(b"+12,345")


@given(st.binary(max_size=40))
def test_arbitrary_bytes_raise_only_driver_errors(data: bytes) -> None:
    with contextlib.suppress(ParseError, DeviceStatusError):
        parse_frame(data)


@given(st.from_regex(rb"\A(ERR|SY)?[+\- ]?[0-9. ]{0,24}[<=> ]?\Z"))
def test_near_frames_raise_only_driver_errors(data: bytes) -> None:
    with contextlib.suppress(ParseError, DeviceStatusError):
        parse_frame(data)


@given(
    st.integers(0, 6).flatmap(
        lambda p: st.decimals(min_value=-9999, max_value=9999, places=p, allow_nan=False)
    ),
    st.sampled_from(["", "<", "=", ">"]),
)
def test_formatted_values_round_trip(value: Decimal, tolerance: str) -> None:
    frame = parse_frame(format_sylvac(value, tolerance=tolerance).rstrip(b"\r"))
    assert frame is not None
    assert frame.value == value
    assert frame.value.as_tuple().exponent == value.as_tuple().exponent


def test_line_defaults_are_4800_7e2(gauge_sim, open_driver) -> None:
    driver = open_driver(SylvacDriver, gauge_sim("sylvac"))
    assert driver.line.params == LineParams(4800, 7, "E", 2)


def test_poll_sends_question_mark_cr(gauge_sim, open_driver) -> None:
    sim = gauge_sim("sylvac", value="12.345")
    driver = open_driver(SylvacDriver, sim, mode="poll")
    driver.request()
    reading = driver.read(2.0)
    assert sim.received == b"?\r"
    assert (reading.raw, reading.value, reading.unit) == ("+012.345", 12.345, "mm")


def test_push_after_power_on_ident(gauge_sim, open_driver) -> None:
    sim = gauge_sim("sylvac", value="-0.500")
    driver = open_driver(SylvacDriver, sim)
    sim.send_raw(b"SY276.1\r")  # sent unsolicited when the instrument is switched on
    sim.press_button()
    assert driver.read(2.0).raw == "-000.500"


def test_error_reply(gauge_sim, open_driver) -> None:
    sim = gauge_sim("sylvac")
    driver = open_driver(SylvacDriver, sim, mode="poll")
    sim.queue_reply(b"ERR3\r")
    driver.request()
    with pytest.raises(CommandError, match=r"^left: sylvac error ERR3: measurement range exceeded"):
        driver.read(2.0)


def test_unknown_command_gets_err1_from_the_sim(gauge_sim, open_driver) -> None:
    sim = gauge_sim("sylvac")
    driver = open_driver(SylvacDriver, sim)
    driver.line.write(b"XYZ\r")
    with pytest.raises(CommandError, match="ERR1: incorrect command"):
        driver.read(2.0)


def test_split_frame_and_silence(gauge_sim, open_driver) -> None:
    sim = gauge_sim("sylvac", value="1.000")
    driver = open_driver(SylvacDriver, sim, mode="poll")
    sim.split, sim.split_delay_s = 4, 0.05
    driver.request()
    assert driver.read(2.0).raw == "+001.000"
    sim.silent = True
    driver.request()
    with pytest.raises(DeviceTimeout, match="no complete sylvac reply"):
        driver.read(0.2)
