"""The generic ASCII line driver: pattern handling (fuzzed, round-tripped) and the driver
against the pty simulator."""

from __future__ import annotations

import contextlib
import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.ascii_line import AsciiDriver, compile_pattern, parse_line, pattern_problem
from drivers.base import DeviceTimeout, ImplausibleValue, ParseError
from drivers.params import AsciiParams
from sim.gauge_formats import format_ascii

# The contract's example pattern (docs/contract/station.md).
CONTRACT_PATTERN = r"^(?P<value>[+-]?\d+(\.\d+)?)\s*(?P<unit>\w+)?$"
LOOSE_PATTERN = r"^(?P<value>\S+) (?P<unit>\S+)$"


def test_contract_pattern() -> None:
    pattern = compile_pattern(CONTRACT_PATTERN)
    frame = parse_line(pattern, b"+12.346 mm")
    assert (frame.value, frame.unit) == (Decimal("12.346"), "mm")
    bare = parse_line(pattern, b"-18.78")
    assert (bare.value, bare.unit) == (Decimal("-18.78"), None)
    with pytest.raises(ParseError, match="does not match pattern"):
        parse_line(pattern, b"ERR 23")


@pytest.mark.parametrize("text", [b"nan mm", b"inf mm", b"-Infinity mm", b"1e12 mm", b"abc mm"])
def test_non_numeric_or_absurd_captures_are_implausible(text: bytes) -> None:
    with pytest.raises(ImplausibleValue, match="ascii line"):
        parse_line(compile_pattern(LOOSE_PATTERN), text)


def test_bad_patterns_are_config_errors() -> None:
    with pytest.raises(ValueError, match=r"must have a named group \(\?P<value>"):
        compile_pattern(r"^(\d+)$")
    with pytest.raises(ValueError, match="not a valid regular expression"):
        compile_pattern(r"^(?P<value>\d+")
    with pytest.raises(ValueError, match="input 'f': driver 'ascii' in poll mode needs a request"):
        AsciiDriver("f", AsciiParams(port="loop://", mode="poll", pattern="(?P<value>.)"))


@pytest.mark.parametrize(
    "pattern",
    [
        r"^(?P<value>(a+)+)$",
        r"^(?P<value>(?:\d+\.?)*)$",
        r"^(?P<value>(\d{1,3},)+\d+)$",
        r"^(?P<value>(?:[0-9]|[0-9.])+)*$",
        r"^(?P<value>(?>(a+)+))$",
        r"^(?P<value>(a|b+)*)$",
    ],
)
def test_nested_quantifiers_are_refused_at_config_time(pattern: str) -> None:
    assert pattern_problem(pattern) is not None
    with pytest.raises(ValueError, match=r"repeated group that itself repeats \(like \(a\+\)\+\)"):
        compile_pattern(pattern)
    with pytest.raises(ValueError, match=r"^input 'f': pattern .*repeated group"):
        AsciiDriver("f", AsciiParams(port="loop://", pattern=pattern))


@pytest.mark.parametrize(
    "pattern",
    [
        CONTRACT_PATTERN,
        LOOSE_PATTERN,
        r"^\s*(?P<value>[+-]?\d+(?:\.\d+)?)\s*(?P<unit>mm|in|um)?\s*[<=>]?$",
        r"^(?P<value>-?\d{1,6}\.\d{3})$",
        r"^(?P<value>\d+)(?:,\d+)?$",
    ],
)
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    assert pattern_problem(pattern) is None


def test_worst_lines_are_matched_in_bounded_time() -> None:
    """Every line the driver hands the regex is at most 256 bytes; with nested quantifiers
    refused, the worst noise line costs milliseconds, and a longer one is not matched."""
    pattern = compile_pattern(CONTRACT_PATTERN)
    started = time.monotonic()
    for noise in (b"1" * 255 + b"x", b"1." + b"1" * 253 + b"x", b" " * 255 + b"1", b"a" * 256):
        with pytest.raises(ParseError):
            parse_line(pattern, noise)
    assert time.monotonic() - started < 0.5
    with pytest.raises(ParseError, match=r"line of 257 bytes is longer than 256, not matched"):
        parse_line(pattern, b"1" * 257)


@given(st.binary(max_size=40), st.sampled_from([CONTRACT_PATTERN, LOOSE_PATTERN]))
def test_arbitrary_bytes_raise_only_parse_errors(data: bytes, pattern: str) -> None:
    with contextlib.suppress(ParseError):
        parse_line(compile_pattern(pattern), data)


@given(
    st.integers(0, 6).flatmap(
        lambda p: st.decimals(min_value=-99999, max_value=99999, places=p, allow_nan=False)
    )
)
def test_formatted_values_round_trip(value: Decimal) -> None:
    frame = parse_line(compile_pattern(CONTRACT_PATTERN), format_ascii(value).rstrip(b"\r\n"))
    assert frame.value == value and frame.unit == "mm"


def test_poll_sends_the_configured_request(gauge_sim, open_driver) -> None:
    sim = gauge_sim("ascii", value="12.346", ascii_request=b"?")
    driver = open_driver(
        AsciiDriver, sim, mode="poll", pattern=CONTRACT_PATTERN, request="?\r", unit="in"
    )
    driver.request()
    reading = driver.read(2.0)
    assert sim.received == b"?\r"
    assert (reading.raw, reading.value, reading.unit) == ("+12.346 mm", 12.346, "mm")


def test_configured_unit_when_the_line_has_none(gauge_sim, open_driver) -> None:
    sim = gauge_sim("ascii")
    driver = open_driver(AsciiDriver, sim, pattern=CONTRACT_PATTERN, unit="N")
    sim.send_raw(b"what?\r\n-18.78\r\n")
    reading = driver.read(2.0)
    assert (reading.value, reading.unit) == (-18.78, "N")


def test_literal_backslash_request_is_sent_as_written(gauge_sim, open_driver) -> None:
    # A single-quoted TOML string keeps the backslash: the driver does not guess.
    sim = gauge_sim("ascii")
    driver = open_driver(AsciiDriver, sim, mode="poll", pattern=CONTRACT_PATTERN, request="?\\r")
    driver.request()
    with pytest.raises(DeviceTimeout):
        driver.read(0.2)
    assert sim.received == b"?\\r"
