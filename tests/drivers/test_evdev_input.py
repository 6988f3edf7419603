"""Key-event decoding and the evdev line reader.

The decoder is fed `drivers.linux_input.InputEvent`s with the kernel's key codes (the code
table itself is checked against the kernel header in test_linux_input.py). No input device
exists in this environment: `/dev/uinput` is absent (the kernel has no uinput misc device), so
there is no virtual-keyboard test here. The line reader is exercised through a pipe carrying
kernel-format `struct input_event` records (a stand-in for the event *stream*, not a device);
device opening is tested against real paths that are not input devices.
"""

from __future__ import annotations

import errno
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.base import (
    DeviceDisconnected,
    DeviceTimeout,
    DriverError,
    ImplausibleValue,
    ParseError,
)
from drivers.evdev_input import (
    EvdevScanner,
    EventSource,
    KeyboardDriver,
    KeyDecoder,
    KeyLineReader,
    open_grabbed,
)
from drivers.linux_input import InputEvent, parse_events
from drivers.linux_input import codes as ecodes
from drivers.params import KeyboardParams

E = ecodes


def ev(code: int, value: int, etype: int = E.EV_KEY) -> InputEvent:
    return InputEvent(1_700_000_000, 0, etype, code, value)


def tap(*codes: int) -> list[InputEvent]:
    """Press and release each key in turn, each followed by a SYN_REPORT like the kernel."""
    out: list[InputEvent] = []
    for code in codes:
        out += [ev(code, 1), ev(E.SYN_REPORT, 0, E.EV_SYN), ev(code, 0)]
    return out


def with_mod(mod: int, *codes: int) -> list[InputEvent]:
    return [ev(mod, 1), *tap(*codes), ev(mod, 0)]


def decode(events: list[InputEvent]) -> list[str]:
    return KeyDecoder().feed_all(events)


# -- decoder ---------------------------------------------------------------------------------


def test_digits_minus_and_period_then_enter() -> None:
    events = tap(E.KEY_MINUS, E.KEY_1, E.KEY_2, E.KEY_DOT, E.KEY_3, E.KEY_4, E.KEY_5, E.KEY_ENTER)
    assert decode(events) == ["-12.345"]


def test_numpad_keys_type_digits_and_signs() -> None:
    events = tap(E.KEY_KPMINUS, E.KEY_KP0, E.KEY_KPDOT, E.KEY_KP7, E.KEY_KP5, E.KEY_KPENTER)
    assert decode(events) == ["-0.75"]
    assert decode(tap(E.KEY_KPPLUS, E.KEY_KP9, E.KEY_KPENTER)) == ["+9"]


def test_shift_gives_capitals_and_symbols_on_a_us_layout() -> None:
    events = [
        *with_mod(E.KEY_LEFTSHIFT, E.KEY_A, E.KEY_B),
        *tap(E.KEY_C),
        *with_mod(E.KEY_RIGHTSHIFT, E.KEY_1, E.KEY_MINUS, E.KEY_SLASH, E.KEY_APOSTROPHE),
        *tap(E.KEY_ENTER),
    ]
    assert decode(events) == ['ABc!_?"']


def test_caps_lock_inverts_letters_only() -> None:
    events = [*tap(E.KEY_CAPSLOCK, E.KEY_P, E.KEY_1), *with_mod(E.KEY_LEFTSHIFT, E.KEY_N)]
    assert decode([*events, *tap(E.KEY_ENTER)]) == ["P1n"]


def test_several_lines_in_one_stream_and_release_events_type_nothing() -> None:
    events = tap(E.KEY_1, E.KEY_ENTER, E.KEY_2, E.KEY_ENTER)
    assert decode(events) == ["1", "2"]


def test_autorepeat_is_ignored() -> None:
    events = [ev(E.KEY_5, 1), ev(E.KEY_5, 2), ev(E.KEY_5, 2), ev(E.KEY_5, 0), *tap(E.KEY_ENTER)]
    assert decode(events) == ["5"]


def test_ctrl_right_bracket_is_group_separator_for_gs1() -> None:
    # ]d2 01 09521234543213 10 ABC <GS> 21 XYZ  (GS1 General Specifications §7.8 (element strings,
    # FNC1/GS))
    aim = [*tap(E.KEY_RIGHTBRACE, E.KEY_D, E.KEY_2)]
    gs = with_mod(E.KEY_LEFTCTRL, E.KEY_RIGHTBRACE)
    lot = [*tap(E.KEY_1, E.KEY_0), *with_mod(E.KEY_LEFTSHIFT, E.KEY_A, E.KEY_B, E.KEY_C)]
    serial = [*tap(E.KEY_2, E.KEY_1), *with_mod(E.KEY_LEFTSHIFT, E.KEY_X)]
    assert decode([*aim, *lot, *gs, *serial, *tap(E.KEY_ENTER)]) == ["]d210ABC\x1d21X"]


def test_alt_numpad_code_types_an_ascii_control_character() -> None:
    events = [
        *tap(E.KEY_1),
        ev(E.KEY_LEFTALT, 1),
        *tap(E.KEY_KP0, E.KEY_KP2, E.KEY_KP9),
        ev(E.KEY_LEFTALT, 0),
        *tap(E.KEY_2, E.KEY_ENTER),
    ]
    assert decode(events) == ["1\x1d2"]


def test_backspace_removes_the_last_character() -> None:
    assert decode(tap(E.KEY_1, E.KEY_2, E.KEY_BACKSPACE, E.KEY_3, E.KEY_ENTER)) == ["13"]


def test_key_without_a_character_rejects_the_whole_line_then_recovers() -> None:
    decoder = KeyDecoder()
    with pytest.raises(
        ParseError, match=r"line '12' contained keys with no US-layout character: KEY_F1"
    ):
        decoder.feed_all(tap(E.KEY_1, E.KEY_F1, E.KEY_2, E.KEY_ENTER))
    assert decoder.feed_all(tap(E.KEY_3, E.KEY_ENTER)) == ["3"]


def test_ctrl_with_a_digit_is_rejected_not_guessed() -> None:
    with pytest.raises(ParseError, match=r"Ctrl\+KEY_5"):
        decode([*with_mod(E.KEY_LEFTCTRL, E.KEY_5), *tap(E.KEY_ENTER)])


def test_non_key_events_are_ignored() -> None:
    events = [ev(E.MSC_SCAN, 458782, E.EV_MSC), *tap(E.KEY_7), ev(0, 0, E.EV_SYN)]
    assert decode([*events, *tap(E.KEY_ENTER)]) == ["7"]


# -- line reader over a pipe -----------------------------------------------------------------

_EVENT = struct.Struct("llHHi")  # struct input_event on 64-bit Linux (timeval, type, code, value)


class PipeSource:
    """Reads kernel-format input_event records from a pipe; EOF stands for an unplug."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def read(self) -> Iterator[InputEvent]:
        data = os.read(self.fd, _EVENT.size * 64)
        if not data:
            raise OSError(errno.ENODEV, "No such device")
        # The driver's own parser, fed records packed independently below (_EVENT).
        yield from parse_events(data)

    def close(self) -> None:
        os.close(self.fd)


class Pipes:
    """Each open() gets a fresh pipe; tests write events to the newest one."""

    def __init__(self) -> None:
        self.writers: list[int] = []
        self.opens = 0

    def opener(self, path: str) -> EventSource:
        self.opens += 1
        r, w = os.pipe()
        self.writers.append(w)
        return PipeSource(r)

    def type(self, events: list[InputEvent]) -> None:
        payload = b"".join(_EVENT.pack(e.sec, e.usec, e.type, e.code, e.value) for e in events)
        os.write(self.writers[-1], payload)

    def unplug(self) -> None:
        os.close(self.writers.pop())

    def close(self) -> None:
        for w in self.writers:
            os.close(w)


@pytest.fixture
def pipes() -> Iterator[Pipes]:
    p = Pipes()
    yield p
    p.close()


def keyboard(pipes: Pipes, **kw: object) -> KeyboardDriver:
    params = KeyboardParams(device="/dev/input/event7", unit="mm", **kw)  # type: ignore[arg-type]
    driver = KeyboardDriver("caliper", params, opener=pipes.opener)
    driver.open()
    return driver


def test_keyboard_driver_reads_numbers_typed_by_the_cable(pipes: Pipes) -> None:
    driver = keyboard(pipes)
    try:
        pipes.type(tap(E.KEY_KPMINUS, E.KEY_KP1, E.KEY_KPDOT, E.KEY_KP2, E.KEY_KPENTER))
        pipes.type(tap(E.KEY_0, E.KEY_DOT, E.KEY_5, E.KEY_ENTER))
        driver.request()  # push-only: a no-op
        first, second = driver.read(1.0), driver.read(1.0)
        assert (first.value, first.unit, first.raw) == (-1.2, "mm", "-1.2")
        assert second.value == 0.5
        assert first.wall.tzinfo is not None
        assert first.monotonic <= second.monotonic
    finally:
        driver.close()


def test_keyboard_driver_times_out_with_the_input_named(pipes: Pipes) -> None:
    driver = keyboard(pipes)
    try:
        start = time.monotonic()
        with pytest.raises(
            DeviceTimeout,
            match=r"^input 'caliper' \(/dev/input/event7\): no line typed within 0\.2 s$",
        ):
            driver.read(0.2)
        assert 0.15 < time.monotonic() - start < 1.2
        pipes.type(tap(E.KEY_4))  # a partial line is not a value either
        with pytest.raises(DeviceTimeout):
            driver.read(0.1)
        pipes.type(tap(E.KEY_2, E.KEY_ENTER))
        assert driver.read(1.0).value == 42
    finally:
        driver.close()


def test_a_bad_line_does_not_swallow_the_good_one_after_it(pipes: Pipes) -> None:
    driver = keyboard(pipes)
    try:
        pipes.type(
            [
                *tap(E.KEY_E, E.KEY_R, E.KEY_R, E.KEY_ENTER),
                *tap(E.KEY_1, E.KEY_F2, E.KEY_ENTER),
                *tap(E.KEY_3, E.KEY_ENTER),
            ]
        )
        with pytest.raises(
            ParseError,
            match=r"^input 'caliper' \(/dev/input/event7\): "
            r"expected a number such as -12\.345, got 'err'$",
        ):
            driver.read(1.0)
        with pytest.raises(ParseError, match=r"caliper.*no US-layout character: KEY_F2"):
            driver.read(1.0)
        assert driver.read(1.0).value == 3
    finally:
        driver.close()


def test_a_number_no_gauge_sends_is_implausible_not_recorded(pipes: Pipes) -> None:
    driver = keyboard(pipes)
    try:
        pipes.type(tap(E.KEY_1, *[E.KEY_0] * 10, E.KEY_ENTER))  # 1e10: line noise, not a size
        with pytest.raises(
            ImplausibleValue,
            match=r"^input 'caliper' \(/dev/input/event7\): value '10000000000' exceeds the "
            r"plausibility bound 1e9 \(rejected, not clipped\)$",
        ):
            driver.read(1.0)
    finally:
        driver.close()


def test_unplug_is_disconnected_then_reopened_with_backoff(pipes: Pipes) -> None:
    driver = keyboard(pipes)
    try:
        pipes.unplug()
        with pytest.raises(DeviceDisconnected, match=r"caliper.*device lost \(unplugged\)"):
            driver.read(1.0)
        # Within the backoff and a shorter budget: fails fast without reopening.
        with pytest.raises(DeviceDisconnected, match="next attempt in"):
            driver.read(0.01)
        assert pipes.opens == 1
        start = time.monotonic()
        with pytest.raises(DeviceTimeout):  # reopened after the backoff, then nothing typed
            driver.read(1.0)
        assert pipes.opens == 2
        assert time.monotonic() - start < 1.5
        pipes.type(tap(E.KEY_8, E.KEY_ENTER))
        assert driver.read(1.0).value == 8
    finally:
        driver.close()


def test_scanner_returns_raw_text(pipes: Pipes) -> None:
    scanner = EvdevScanner("/dev/input/by-id/usb-scanner-event-kbd", opener=pipes.opener)
    scanner.open()
    try:
        pipes.type([*tap(E.KEY_P, E.KEY_N, E.KEY_MINUS, E.KEY_4, E.KEY_2), *tap(E.KEY_ENTER)])
        assert scanner.read_scan(1.0) == "pn-42"
        with pytest.raises(DeviceTimeout, match=r"^scanner \(/dev/input/by-id/usb-scanner"):
            scanner.read_scan(0.05)
    finally:
        scanner.close()
        scanner.close()


def test_read_before_open() -> None:
    reader = KeyLineReader("/dev/input/event0", what="scanner (/dev/input/event0)")
    with pytest.raises(DriverError, match=r"read before open\(\)"):
        reader.read_line(0.1)


# -- opening real paths ----------------------------------------------------------------------


def test_missing_device_path(tmp_path: Path) -> None:
    path = str(tmp_path / "event99")
    with pytest.raises(DeviceDisconnected, match=r"event99: no such device \(unplugged\?\)"):
        open_grabbed(path)


def test_a_path_that_is_not_an_input_device() -> None:
    with pytest.raises(DeviceDisconnected, match=r"^/dev/null: not an evdev input device"):
        open_grabbed("/dev/null")


def test_keyboard_driver_open_names_the_input(tmp_path: Path) -> None:
    driver = KeyboardDriver("height", KeyboardParams(device=str(tmp_path / "nope")))
    with pytest.raises(DeviceDisconnected, match=r"^input 'height' \(.*nope\): .*no such device"):
        driver.open()
    driver.close()


def test_keyboard_driver_needs_a_device() -> None:
    with pytest.raises(DriverError, match="driver 'keyboard' needs device ="):
        KeyboardDriver("height", KeyboardParams(device=""))
