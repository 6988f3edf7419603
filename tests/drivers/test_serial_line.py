"""The shared serial layer: line splitting (fuzzed), the plausibility bound, URL ports
(loop://, socket://), exclusive access, closed ports and line defaults."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.ascii_line import AsciiDriver
from drivers.base import DeviceDisconnected, ImplausibleValue
from drivers.frames import LineBuffer, plausible_decimal
from drivers.line_driver import LineDriver
from drivers.mahr import MahrDriver
from drivers.mitutoyo import MitutoyoDriver
from drivers.mtsics import MtsicsDriver
from drivers.params import AsciiParams, MtsicsParams, SerialParams
from drivers.serial_line import LineParams, SerialLine
from drivers.sylvac import SylvacDriver

# --- LineBuffer -------------------------------------------------------------------------------


@given(
    st.lists(
        st.binary(min_size=1, max_size=30).filter(lambda b: b"\r" not in b and b"\n" not in b)
    ),
    st.sampled_from([b"\r", b"\n", b"\r\n"]),
    st.lists(st.integers(1, 40), min_size=1),
)
def test_any_chunking_yields_the_same_lines(
    lines: list[bytes], end: bytes, cuts: list[int]
) -> None:
    stream = b"".join(line + end for line in lines)
    buffer = LineBuffer()
    got: list[bytes] = []
    pos, i = 0, 0
    while pos < len(stream):
        size = cuts[i % len(cuts)]
        out, rejected = buffer.feed(stream[pos : pos + size])
        assert rejected == []
        got += out
        pos, i = pos + size, i + 1
    assert got == lines
    assert buffer.pending == b""


@given(st.binary(max_size=600), st.integers(1, 64))
def test_lines_never_hold_terminators_or_exceed_the_limit(data: bytes, chunk: int) -> None:
    buffer = LineBuffer(max_line=50)
    for start in range(0, len(data), chunk):
        lines, _ = buffer.feed(data[start : start + chunk])
        for line in lines:
            assert line and b"\r" not in line and b"\n" not in line and len(line) <= 50
    assert len(buffer.pending) <= 50


def test_overlong_run_is_dropped_up_to_the_next_terminator() -> None:
    buffer = LineBuffer(max_line=8)
    lines, rejected = buffer.feed(b"0123456789")
    assert (lines, rejected) == ([], [b"0123456789"])
    lines, rejected = buffer.feed(b"abc\rok\r")
    assert (lines, rejected) == ([b"ok"], [b"abc"])


# --- plausibility -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NaN", "not a finite number"),
        ("-inf", "not a finite number"),
        ("12,5", "not a number"),
        ("1000000000.1", "exceeds the plausibility bound 1e9"),
        ("-1E+10", "exceeds the plausibility bound 1e9"),
        ("1.23456789012345678901", "21 significant digits"),
        ("1E-13", "more than 12 digits after the point"),
    ],
)
def test_implausible_values(text: str, message: str) -> None:
    with pytest.raises(ImplausibleValue, match=f"^frame X: .*{message}"):
        plausible_decimal(text, "frame X")


def test_bounds_are_inclusive() -> None:
    assert plausible_decimal("-1000000000", "x") == Decimal("-1E9")
    assert plausible_decimal("0.000000000001", "x") == Decimal("1E-12")


# --- line settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (MitutoyoDriver, LineParams(9600, 8, "N", 1)),
        (SylvacDriver, LineParams(4800, 7, "E", 2)),
        (MahrDriver, LineParams(9600, 7, "E", 2)),
        (MtsicsDriver, LineParams(9600, 8, "N", 1)),
        (AsciiDriver, LineParams(9600, 8, "N", 1)),
    ],
)
def test_driver_defaults_and_overrides(cls: type[LineDriver], expected: LineParams) -> None:
    params = SerialParams(port="loop://")
    if cls is AsciiDriver:
        params = AsciiParams(port="loop://", pattern="(?P<value>.+)")
    elif cls is MtsicsDriver:
        params = MtsicsParams(port="loop://")
    assert cls("x", params).line.params == expected
    override = replace(params, baudrate=19200, parity="O")
    assert cls("x", override).line.params == replace(expected, baudrate=19200, parity="O")


def test_line_settings_read_as_written_on_a_device_label() -> None:
    assert LineParams(4800, 7, "E", 2).describe() == "4800 7E2"
    assert LineParams(9600, 8, "N", 1.5).describe() == "9600 8N1.5"


def test_invalid_url_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="left: invalid port 'bogus://x'"):
        SerialLine("left", "bogus://x", LineParams(9600, 8, "N", 1))


# --- URL ports ----------------------------------------------------------------------------------


def test_loop_url_round_trip() -> None:
    line = SerialLine("loop", "loop://", LineParams(9600, 8, "N", 1))
    line.open()
    try:
        line.write(b"01A+00")
        assert line.read_line(time.monotonic() + 0.1) is None  # partial line kept
        line.write(b"12.346\r")
        got = line.read_line(time.monotonic() + 1)
        assert got is not None and got[0] == b"01A+0012.346"
    finally:
        line.close()


def test_socket_url_and_peer_close() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    requests: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            requests.append(conn.recv(16))  # pyserial flushes input on open: answer requests
            conn.sendall(b"01A+0001.500\r")
            requests.append(conn.recv(16))  # the second request: hang up instead

    thread = threading.Thread(target=serve)
    thread.start()
    driver = MitutoyoDriver("net", SerialParams(mode="poll", port=f"socket://127.0.0.1:{port}"))
    driver.open()
    try:
        driver.request()
        assert driver.read(2.0).value == 1.5
        driver.request()
        with pytest.raises(DeviceDisconnected, match=r"net: socket://127.0.0.1:.* disconnected"):
            driver.read(2.0)
        assert not driver.connected
        assert requests == [b"1\r", b"1\r"]
    finally:
        driver.close()
        thread.join()
        server.close()


def test_second_opener_is_refused(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo")
    open_driver(MitutoyoDriver, sim)
    other = MitutoyoDriver("right", SerialParams(port=sim.path))
    with pytest.raises(DeviceDisconnected, match=r"right: cannot open .*exclusively lock"):
        other.open()
    other.close()


def test_closed_port_is_not_reopened(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo")
    driver = open_driver(MitutoyoDriver, sim, mode="poll")
    driver.close()
    driver.close()  # twice is fine
    with pytest.raises(DeviceDisconnected, match="is closed"):
        driver.read(0.1)
    with pytest.raises(DeviceDisconnected, match="is closed"):
        driver.request()


def test_overlong_garbage_is_logged(gauge_sim, open_driver, caplog) -> None:
    sim = gauge_sim("mitutoyo", value="1.000")
    driver = open_driver(MitutoyoDriver, sim)
    with caplog.at_level(logging.WARNING):
        sim.send_raw(b"\xaa" * 300 + b"\r")
        sim.press_button()
        assert driver.read(2.0).value == 1.0
    assert "no line terminator within 256 bytes" in caplog.text
    assert "b'\\xaa\\xaa" in caplog.text
