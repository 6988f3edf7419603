"""Mahr Millimar frames (C1202 and OPTORS): parser and driver against the pty simulator."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.base import CommandError, DeviceStatusError, ParseError
from drivers.mahr import UNITS, MahrDriver, parse_frame
from drivers.serial_line import LineParams
from sim.gauge_formats import format_mahr, format_mahr_optors


@pytest.mark.parametrize(
    ("line", "value", "unit"),
    [
        (b"1 +012.34 mm", "12.34", "mm"),  # C1202 single feature
        (b"1 -000.52 mm =", "-0.52", "mm"),  # with tolerance status
        (b"1 +001.20 mm >>;2 -000.10 mm =", "1.20", "mm"),  # first of several features
        (b"1 +12.5 um <", "12.5", "um"),
        (b"12.345mm", "12.345", "mm"),  # OPTORS
        (b"-0.12345inch", "-0.12345", "inch"),
        (b"M1, 12.345", "12.345", None),  # M1240 reply to M
        (b"1 +012.345 \xb5m", "12.345", "µm"),  # latin-1 micro sign
    ],
)
def test_documented_frames_parse(line: bytes, value: str, unit: str | None) -> None:
    frame = parse_frame(line)
    assert frame is not None
    assert (frame.value, frame.unit) == (Decimal(value), unit)


def test_errors_and_ident() -> None:
    with pytest.raises(CommandError, match="mahr error ERR6: feature deactivated"):
        parse_frame(b"ERR6;2 +001.000 mm")
    with pytest.raises(CommandError, match="ERR2: device error"):
        parse_frame(b"ERR2")
    assert parse_frame(b"I,MAHRGMBH,C1208,V1.02") is None
    with pytest.raises(ParseError, match=r"expected a frame like b'1 \+012.345 mm'"):
        parse_frame(b"1 +012.345 furlong")


@given(st.binary(max_size=48))
def test_arbitrary_bytes_raise_only_driver_errors(data: bytes) -> None:
    with contextlib.suppress(ParseError, DeviceStatusError):
        parse_frame(data)


@given(st.from_regex(rb"\A(M?[0-9],? )?[+\-]?[0-9. ]{0,12}(mm|um|inch)?[ <=>;]{0,4}\Z"))
def test_near_frames_raise_only_driver_errors(data: bytes) -> None:
    with contextlib.suppress(ParseError, DeviceStatusError):
        parse_frame(data)


values = st.integers(0, 6).flatmap(
    lambda p: st.decimals(min_value=-9999, max_value=9999, places=p, allow_nan=False)
)


@given(values, st.sampled_from(UNITS), st.sampled_from(["", "=", "<", ">", ">>"]))
def test_c1202_round_trip(value: Decimal, unit: str, tolerance: str) -> None:
    frame = parse_frame(format_mahr(value, unit, tolerance=tolerance).rstrip(b"\r"))
    assert frame is not None and frame.value == value and frame.unit == unit
    assert frame.value.as_tuple().exponent == value.as_tuple().exponent


@given(values, st.sampled_from(UNITS))
def test_optors_round_trip(value: Decimal, unit: str) -> None:
    frame = parse_frame(format_mahr_optors(value, unit).rstrip(b"\r\n"))
    assert frame is not None and frame.value == value and frame.unit == unit


def test_poll_c1202(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mahr", value="12.345")
    driver = open_driver(MahrDriver, sim, mode="poll")
    assert driver.line.params == LineParams(9600, 7, "E", 2)
    driver.request()
    reading = driver.read(2.0)
    assert sim.received == b"?\r"
    assert (reading.raw, reading.value, reading.unit) == ("1 +012.345 mm =", 12.345, "mm")


def test_poll_optors_crlf(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mahr", value="-0.0125", unit="inch", style="optors")
    driver = open_driver(MahrDriver, sim, mode="poll", unit="mm")
    driver.request()
    first = driver.read(2.0)
    driver.request()
    second = driver.read(2.0)
    assert sim.received == b"?\r?\r"
    # the frame's unit wins over the configured one; the CRLF leaves no empty reading behind
    assert (first.raw, first.value, first.unit) == ("-0.0125inch", -0.0125, "inch")
    assert second.raw == "-0.0125inch"


def test_deactivated_feature(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mahr")
    driver = open_driver(MahrDriver, sim, mode="poll")
    sim.queue_reply(b"ERR6\r")
    driver.request()
    with pytest.raises(CommandError, match=r"^left: mahr error ERR6: feature deactivated"):
        driver.read(2.0)
