"""MT-SICS balances: reply parser (fuzzed, round-tripped), weight requests, zero and tare
against the pty simulator, byte for byte."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.base import (
    CommandError,
    DeviceBusy,
    DeviceStatusError,
    DeviceTimeout,
    OverloadError,
    ParseError,
    UnderloadError,
    UnstableReading,
)
from drivers.mtsics import MtsicsDriver, NotExecutable, parse_frame, parse_reply
from drivers.serial_line import LineParams
from sim.gauge_formats import format_mtsics, format_mtsics_tare


def test_public_vectors() -> None:
    stable = parse_frame(b"S S     100.00 g")  # official example, Atlantis test
    dynamic = parse_frame(b"S D     129.07 g")
    assert stable is not None and (stable.value, stable.unit, stable.stable) == (
        Decimal("100.00"),
        "g",
        True,
    )
    assert dynamic is not None and (dynamic.value, dynamic.stable) == (Decimal("129.07"), False)
    negative = parse_frame(b"S S    -12.345 kg")
    assert negative is not None and negative.value == Decimal("-12.345")
    assert parse_frame(b'I4 A "1234567"') is None  # power-up banner


@pytest.mark.parametrize(
    ("line", "error", "message"),
    [
        (b"S I", NotExecutable, "S I: weight not executable now"),
        (b"S +", OverloadError, r"S \+: weight: over the upper limit"),
        (b"S -", UnderloadError, "S -: weight: under the lower limit"),
        (b"S L", CommandError, "S L: weight: logical error"),
        (b"ES", CommandError, "MT-SICS ES: syntax error"),
        (b"ET", CommandError, "MT-SICS ET: transmission error"),
        (b"EL", CommandError, "MT-SICS EL: logical error"),
    ],
)
def test_status_replies(line: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_frame(line)


def test_not_executable_is_also_busy() -> None:
    with pytest.raises(DeviceBusy):
        parse_frame(b"S I")


def test_malformed_replies() -> None:
    with pytest.raises(ParseError, match="expected a weight reply"):
        parse_frame(b"Z A")
    with pytest.raises(ParseError, match="has no value and unit"):
        parse_frame(b"S S")
    with pytest.raises(ParseError, match="expected a reply like"):
        parse_frame(b"S S 100.00")
    with pytest.raises(ParseError, match="carries a value"):
        parse_frame(b"S A 1.234 g")  # InstrumentKit's non-standard vector


@given(st.binary(max_size=40))
def test_arbitrary_bytes_raise_only_driver_errors(data: bytes) -> None:
    with contextlib.suppress(ParseError, DeviceStatusError):
        parse_frame(data)
    with contextlib.suppress(ParseError, DeviceStatusError):
        parse_reply(data)


@given(st.from_regex(rb"\A[SZTIE][SDIAL+\- ]{0,3}[ 0-9.+\-]{0,14}[ a-z]{0,4}\Z"))
def test_near_replies_raise_only_driver_errors(data: bytes) -> None:
    with contextlib.suppress(ParseError, DeviceStatusError):
        parse_frame(data)


@given(
    st.integers(0, 5).flatmap(
        lambda p: st.decimals(min_value=-99999, max_value=99999, places=p, allow_nan=False)
    ),
    st.sampled_from(["g", "kg", "mg", "ct", "lb", "oz"]),
    st.booleans(),
)
def test_formatted_values_round_trip(value: Decimal, unit: str, stable: bool) -> None:
    frame = parse_frame(format_mtsics(value, unit, stable=stable).rstrip(b"\r\n"))
    assert frame is not None
    assert (frame.value, frame.unit, frame.stable) == (value, unit, stable)
    reply = parse_reply(format_mtsics_tare(value, unit).rstrip(b"\r\n"))
    assert reply is not None and reply.value == value


def test_poll_stable_weight(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mtsics", value="100.00")
    driver = open_driver(MtsicsDriver, sim, mode="poll")
    assert driver.line.params == LineParams(9600, 8, "N", 1)
    driver.request()
    reading = driver.read(2.0)
    assert sim.received == b"S\r\n"
    assert (reading.raw, reading.value, reading.unit) == ("S S     100.00 g", 100.0, "g")


def test_unstable_balance_answers_s_i(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mtsics", value="100.00")
    driver = open_driver(MtsicsDriver, sim, mode="poll")
    sim.stable = False
    driver.request()
    with pytest.raises(NotExecutable, match=r"^left: MT-SICS S I: weight not executable now"):
        driver.read(2.0)


def test_dynamic_weight_rejected_unless_accepted(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mtsics", value="129.07")
    sim.stable = False
    strict = open_driver(MtsicsDriver, sim, mode="push")
    sim.press_button()
    with pytest.raises(
        UnstableReading, match=r"dynamic \(not settled\) weight b'S D     129.07 g'"
    ):
        strict.read(2.0)
    strict.close()
    lenient = open_driver(MtsicsDriver, sim, mode="poll", accept_dynamic=True)
    lenient.request()
    assert lenient.read(2.0).value == 129.07
    assert sim.received == b"SI\r\n"


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (b"S +\r\n", OverloadError, "over the upper limit"),
        (b"S -\r\n", UnderloadError, "under the lower limit"),
        (b"ES\r\n", CommandError, "syntax error"),
        (b"ET\r\n", CommandError, "transmission error"),
        (b"EL\r\n", CommandError, "logical error"),
    ],
)
def test_weight_errors_from_the_balance(
    gauge_sim, open_driver, reply: bytes, error: type[Exception], message: str
) -> None:
    sim = gauge_sim("mtsics")
    driver = open_driver(MtsicsDriver, sim, mode="poll")
    sim.queue_reply(reply)
    driver.request()
    with pytest.raises(error, match=message):
        driver.read(2.0)


def test_zero_and_tare(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mtsics", value="2.486")
    driver = open_driver(MtsicsDriver, sim, mode="poll")
    tare = driver.tare()
    assert (tare.value, tare.unit, tare.raw) == (2.486, "g", "T S      2.486 g")
    driver.zero()
    assert sim.received == b"T\r\nZ\r\n"
    driver.request()
    assert driver.read(2.0).raw == "S S      0.000 g"


@pytest.mark.parametrize(
    ("command", "reply", "error", "message"),
    [
        ("zero", b"Z I\r\n", NotExecutable, "Z I: zero not executable now"),
        ("zero", b"Z +\r\n", OverloadError, r"Z \+: zero: over the upper limit"),
        ("zero", b"Z -\r\n", UnderloadError, "Z -: zero: under the lower limit"),
        ("tare", b"T I\r\n", NotExecutable, "T I: tare not executable now"),
        ("tare", b"T +\r\n", OverloadError, "tare: over the upper limit"),
        ("tare", b"ES\r\n", CommandError, "ES: syntax error"),
    ],
)
def test_zero_and_tare_errors(
    gauge_sim, open_driver, command: str, reply: bytes, error: type[Exception], message: str
) -> None:
    sim = gauge_sim("mtsics")
    driver = open_driver(MtsicsDriver, sim, mode="poll")
    sim.queue_reply(reply)
    with pytest.raises(error, match=f"^left: .*{message}"):
        getattr(driver, command)()


def test_zero_skips_a_pushed_weight_and_times_out_on_silence(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mtsics", value="5.00")
    driver = open_driver(MtsicsDriver, sim)
    sim.send_raw(b"S S       5.00 g\r\n", wait=True)
    driver.zero()
    sim.silent = True
    with pytest.raises(DeviceTimeout, match=r"no reply to tare \(b'T\\r\\n'\) in 0.2 s"):
        driver.tare(timeout=0.2)


def test_split_crlf_reply_and_power_up_banner(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mtsics", value="1.5")
    driver = open_driver(MtsicsDriver, sim)
    sim.send_raw(b'I4 A "0123456789"\r\n')
    sim.split, sim.split_delay_s = 5, 0.03
    sim.press_button()
    assert driver.read(2.0).raw == "S S        1.5 g"
