"""Mitutoyo 01A± frames: the parser (fuzzed, round-tripped) and the driver against the pty
simulator through the real pyserial, byte for byte."""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import UTC
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.base import (
    DeviceBusy,
    DeviceStatusError,
    DeviceTimeout,
    ImplausibleValue,
    NoGauge,
    ParseError,
)
from drivers.mitutoyo import BUSY_RETRIES, MitutoyoDriver, parse_frame
from sim.gauge_formats import format_mitutoyo

# --- parser -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "value"),
    [
        (b"01A+0000.123", "0.123"),  # QM-Height manual, mm 0.001
        (b"01A+00.12345", "0.12345"),  # inch 0.00005
        (b"01A+000.1234", "0.1234"),
        (b"01A+00012.345", "12.345"),  # 9-character variant
        (b"01A-001.2340", "-1.2340"),  # GageMux MUX-10 format
        (b"03A+0012.346", "12.346"),  # channel 3 of a multiplexer
        (b"01A+  12.5", "12.5"),  # blank padded
        (b"01A+17", "17"),
    ],
)
def test_documented_frames_parse(line: bytes, value: str) -> None:
    frame = parse_frame(line)
    assert frame is not None
    assert frame.value == Decimal(value)
    assert frame.value.as_tuple().exponent == Decimal(value).as_tuple().exponent
    assert frame.unit is None


def test_status_codes_raise_their_class() -> None:
    with pytest.raises(NoGauge, match="911: no gauge"):
        parse_frame(b"911")
    with pytest.raises(DeviceBusy, match="918: interface busy"):
        parse_frame(b"918")
    with pytest.raises(DeviceStatusError, match="status 913: the interface could not read"):
        parse_frame(b"913")


def test_info_reply_is_ignored_and_garbage_rejected() -> None:
    assert parse_frame(b"1USB-ITN") is None
    with pytest.raises(ParseError, match=r"got b'01B\+0012.346', expected a frame like"):
        parse_frame(b"01B+0012.346")
    with pytest.raises(ParseError, match="expected a frame"):
        parse_frame(b"01A+12.3.4")


def test_absurd_values_are_rejected_not_clipped() -> None:
    with pytest.raises(ImplausibleValue, match="exceeds the plausibility bound 1e9"):
        parse_frame(b"01A+9999999999.9")
    with pytest.raises(ImplausibleValue, match="21 significant digits"):
        parse_frame(b"01A+1.23456789012345678901")
    with pytest.raises(ImplausibleValue, match="more than 12 digits after the point"):
        parse_frame(b"01A+0.0000000000001")


@given(st.binary(max_size=40))
def test_arbitrary_bytes_raise_only_driver_errors(data: bytes) -> None:
    with contextlib.suppress(ParseError, DeviceStatusError):
        parse_frame(data)


@given(st.from_regex(rb"\A[019][0-9][A ][+\- ][0-9. ]{0,24}\Z"))
def test_near_frames_raise_only_driver_errors(data: bytes) -> None:
    with contextlib.suppress(ParseError, DeviceStatusError):
        parse_frame(data)


@given(
    st.integers(0, 6).flatmap(
        lambda places: st.decimals(
            min_value=-99999, max_value=99999, places=places, allow_nan=False
        )
    ),
    st.integers(1, 12),
)
def test_formatted_values_round_trip(value: Decimal, width: int) -> None:
    frame = parse_frame(format_mitutoyo(value, width=width).rstrip(b"\r"))
    assert frame is not None
    assert frame.value == value
    assert frame.value.as_tuple().exponent == value.as_tuple().exponent


# --- driver against the simulator ---------------------------------------------------------------


def test_poll_sends_1cr_and_reads_the_reply(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo", value="12.346")
    driver = open_driver(MitutoyoDriver, sim, mode="poll")
    before = time.monotonic()
    driver.request()
    reading = driver.read(2.0)
    assert sim.received == b"1\r"
    assert (reading.value, reading.unit, reading.raw) == (12.346, "mm", "01A+0012.346")
    assert before <= reading.monotonic <= time.monotonic()
    assert reading.wall.tzinfo is UTC


def test_push_reads_button_frames_in_order(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo", value="-0.005")
    driver = open_driver(MitutoyoDriver, sim, unit="in")
    sim.press_button()
    sim.value = "1.2500"
    sim.press_button()
    first, second = driver.read(2.0), driver.read(2.0)
    assert (first.raw, first.value, first.unit) == ("01A-0000.005", -0.005, "in")
    assert (second.raw, second.value) == ("01A+001.2500", 1.25)
    assert sim.received == b""  # push mode never writes to the gauge


def test_no_gauge_status(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo")
    driver = open_driver(MitutoyoDriver, sim, mode="poll")
    sim.queue_reply(b"911\r")
    driver.request()
    with pytest.raises(NoGauge, match=r"^left: status 911: no gauge answered"):
        driver.read(2.0)


def test_busy_is_retried_then_the_value_is_returned(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo", value="3.000")
    driver = open_driver(MitutoyoDriver, sim, mode="poll")
    sim.queue_reply(b"918\r", times=2)
    driver.request()
    assert driver.read(2.0).value == 3.0
    assert sim.received == b"1\r" * 3


def test_busy_retries_are_bounded(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo")
    driver = open_driver(MitutoyoDriver, sim, mode="poll")
    sim.queue_reply(b"918\r", times=BUSY_RETRIES + 5)
    driver.request()
    with pytest.raises(DeviceBusy, match=f"still busy after {BUSY_RETRIES} retries"):
        driver.read(3.0)
    assert sim.received == b"1\r" * (BUSY_RETRIES + 1)


def test_unsolicited_busy_in_push_mode_is_not_retried(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo")
    driver = open_driver(MitutoyoDriver, sim)
    sim.send_raw(b"918\r")
    with pytest.raises(DeviceBusy, match="918"):
        driver.read(2.0)
    assert sim.received == b""


def test_other_status_code(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo")
    driver = open_driver(MitutoyoDriver, sim, mode="poll")
    sim.queue_reply(b"915\r")
    driver.request()
    with pytest.raises(DeviceStatusError, match="status 915"):
        driver.read(2.0)


def test_garbage_is_skipped_and_logged(gauge_sim, open_driver, caplog) -> None:
    sim = gauge_sim("mitutoyo", value="5.500")
    driver = open_driver(MitutoyoDriver, sim)
    sim.send_garbage(b"\x00\xff#~noise")
    sim.send_raw(b"1USB-ITN-A\r")  # device info: ignored
    sim.press_button()
    with caplog.at_level(logging.INFO):
        assert driver.read(2.0).value == 5.5
    assert "skipped b'\\x00\\xff#~noise'" in caplog.text
    assert "ignored non-value line b'1USB-ITN-A'" in caplog.text


def test_only_garbage_fails_naming_it(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo")
    driver = open_driver(MitutoyoDriver, sim)
    sim.send_garbage(b"zz")
    with pytest.raises(ParseError, match=r"no valid mitutoyo frame within 0.4 s; .*b'zz'"):
        driver.read(0.4)


def test_frame_split_across_writes_is_assembled(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo", value="12.346")
    driver = open_driver(MitutoyoDriver, sim)
    sim.split, sim.split_delay_s = 3, 0.25
    sim.press_button()
    with pytest.raises(DeviceTimeout):
        driver.read(0.1)  # only the first piece has arrived
    reading = driver.read(2.0)
    assert reading.raw == "01A+0012.346"


def test_silence_times_out(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo")
    driver = open_driver(MitutoyoDriver, sim, mode="poll")
    sim.silent = True
    driver.request()
    started = time.monotonic()
    with pytest.raises(DeviceTimeout, match="no complete mitutoyo reply to the request within"):
        driver.read(0.3)
    assert 0.3 <= time.monotonic() - started < 1.0


def test_push_mode_silence_tells_the_operator_to_press(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo")
    driver = open_driver(MitutoyoDriver, sim)  # push mode: the default
    with pytest.raises(
        DeviceTimeout,
        match=r"^no value from left within 0\.2 s \(push mode: press the gauge's data button"
        r" or footswitch\)$",
    ):
        driver.read(0.2)


def test_push_mode_partial_frame_says_incomplete(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo")
    driver = open_driver(MitutoyoDriver, sim)
    sim.send_raw(b"01A+00", wait=True)  # the rest of the frame never comes
    with pytest.raises(DeviceTimeout, match=r"^left: no complete mitutoyo reply within 0\.5 s$"):
        driver.read(0.5)
    assert driver.line.pending == b"01A+00"


def test_frames_of_one_read_share_their_arrival_time(gauge_sim, open_driver) -> None:
    """A bounced footswitch: the same frame twice in one burst; the bench debounces on it."""
    sim = gauge_sim("mitutoyo")
    driver = open_driver(MitutoyoDriver, sim)
    sim.send_raw(b"01A+0001.500\r01A+0001.500\r", wait=True)
    first, second = driver.read(2.0), driver.read(2.0)
    assert first.raw == second.raw == "01A+0001.500"
    assert first.monotonic_ns == second.monotonic_ns
    sim.send_raw(b"01A+0001.500\r", wait=True)  # a second press, read separately
    third = driver.read(2.0)
    assert third.monotonic_ns > second.monotonic_ns
    assert third.monotonic_ns == round(third.monotonic * 1e9)


def test_implausible_frame_raises(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo")
    driver = open_driver(MitutoyoDriver, sim)
    sim.send_raw(b"01A+99999999999.9\r")
    with pytest.raises(ImplausibleValue, match=r"^left: .*exceeds the plausibility bound"):
        driver.read(2.0)


def test_stale_reply_is_dropped_before_a_new_request(gauge_sim, open_driver, caplog) -> None:
    sim = gauge_sim("mitutoyo", value="2.000")
    driver = open_driver(MitutoyoDriver, sim, mode="poll")
    sim.send_raw(b"01A+0001.000\r", wait=True)  # a late reply to an earlier request
    deadline = time.monotonic() + 2
    while driver.line.waiting < 13:  # the pty delivers asynchronously: poll, no fixed sleep
        assert time.monotonic() < deadline
        time.sleep(0.005)
    driver.request()
    assert driver.read(2.0).value == 2.0
    assert "dropped unread input before the request: b'01A+0001.000\\r'" in caplog.text


def test_missing_port_is_a_config_error() -> None:
    from drivers.base import DriverError
    from drivers.params import SerialParams

    with pytest.raises(DriverError, match="input 'left': driver 'mitutoyo' needs a port"):
        MitutoyoDriver("left", SerialParams(port=""))
    with pytest.raises(ValueError, match="input 'left': driver 'mitutoyo' needs a port"):
        MitutoyoDriver("left", SerialParams(port=""))


def test_a_drifted_gauge_reads_high_by_its_bias_and_scatters_by_its_noise(
    gauge_sim, open_driver
) -> None:
    # The calibration and study demos (issues 15, 17) need a caliper that is wrong in a
    # known way: bias shifts every frame, noise scatters it, both in the display's digits.
    sim = gauge_sim("mitutoyo", value="25.000")
    driver = open_driver(MitutoyoDriver, sim)
    sim.bias = Decimal("0.030")
    sim.press_button()
    assert (driver.read(2.0).raw, sim.value) == ("01A+0025.030", Decimal("25.000"))
    sim.bias, sim.noise = Decimal(0), Decimal("0.002")
    sim.seed(1)
    values = []
    for _ in range(20):
        sim.press_button()
        values.append(driver.read(2.0).value)
    assert len(set(values)) > 3 and all(abs(v - 25.0) < 0.012 for v in values)
    assert all(round(v, 3) == v for v in values)  # still three decimals, as displayed
