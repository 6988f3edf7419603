"""HID keyboard devices read exclusively through Linux evdev: gauges and scanners that type.

A Mitutoyo USB-ITN cable in its default keyboard mode types the reading plus Return
(Mitutoyo USB-ITN manual); a keyboard-wedge scanner types the code plus a suffix, usually Return
(§5.1). Reading them through `/dev/input/event*` with `EVIOCGRAB` (§5.4) keeps their keystrokes
out of whatever window has the focus, and tells the station which device typed what. The
device is read with `drivers.linux_input` (standard library only, no C extension to build).

* `KeyDecoder` is pure: key events in, text lines out (US layout, Shift/Caps Lock, numpad,
  Ctrl+key control characters such as Ctrl+] = GS for GS1 scans, Alt+numpad ASCII codes).
  A line holding a key that has no character is rejected, never returned with a hole.
* `KeyLineReader` owns one grabbed device: waits for lines with a timeout, keeps lines that
  arrived together, and reopens an unplugged device with capped backoff.
* `KeyboardDriver` (driver "keyboard") parses a numeric line into a `Reading`, with the
  serial drivers' plausibility bound (`drivers.frames.plausible_decimal`);
  `EvdevScanner` returns raw scan text.
"""

from __future__ import annotations

import contextlib
import errno
import re
import select
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Protocol

from drivers.base import DeviceDisconnected, DeviceTimeout, DriverError, ParseError, Reading
from drivers.frames import plausible_decimal
from drivers.linux_input import InputDevice, InputEvent, key_name
from drivers.linux_input import codes as ecodes
from drivers.params import KeyboardParams

RECONNECT_MIN_S = 0.25
RECONNECT_MAX_S = 5.0

KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2

# US layout: key code -> (unshifted, shifted).
_US: dict[int, tuple[str, str]] = {
    getattr(ecodes, f"KEY_{c}"): (c.lower(), c) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
}
_DIGITS, _SHIFTED_DIGITS = "1234567890", "!@#$%^&*()"
_US.update(
    {getattr(ecodes, f"KEY_{d}"): (d, s) for d, s in zip(_DIGITS, _SHIFTED_DIGITS, strict=True)}
)
_US.update(
    {
        ecodes.KEY_MINUS: ("-", "_"),
        ecodes.KEY_EQUAL: ("=", "+"),
        ecodes.KEY_LEFTBRACE: ("[", "{"),
        ecodes.KEY_RIGHTBRACE: ("]", "}"),
        ecodes.KEY_BACKSLASH: ("\\", "|"),
        ecodes.KEY_SEMICOLON: (";", ":"),
        ecodes.KEY_APOSTROPHE: ("'", '"'),
        ecodes.KEY_GRAVE: ("`", "~"),
        ecodes.KEY_COMMA: (",", "<"),
        ecodes.KEY_DOT: (".", ">"),
        ecodes.KEY_SLASH: ("/", "?"),
        ecodes.KEY_SPACE: (" ", " "),
        ecodes.KEY_TAB: ("\t", "\t"),
    }
)
# The numpad types the same with or without Shift. Num Lock is assumed on: a wedge device
# that sends keypad codes means digits (the host's Num Lock LED is not ours to read).
_KEYPAD: dict[int, str] = {getattr(ecodes, f"KEY_KP{d}"): d for d in "0123456789"}
_KEYPAD.update(
    {
        ecodes.KEY_KPDOT: ".",
        ecodes.KEY_KPMINUS: "-",
        ecodes.KEY_KPPLUS: "+",
        ecodes.KEY_KPASTERISK: "*",
        ecodes.KEY_KPSLASH: "/",
        ecodes.KEY_KPCOMMA: ",",
    }
)
_ENTER = {ecodes.KEY_ENTER, ecodes.KEY_KPENTER}
_SHIFT = {ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT}
_CTRL = {ecodes.KEY_LEFTCTRL, ecodes.KEY_RIGHTCTRL}
_ALT = {ecodes.KEY_LEFTALT, ecodes.KEY_RIGHTALT}
_MODIFIERS = _SHIFT | _CTRL | _ALT
_IGNORED = {ecodes.KEY_LEFTMETA, ecodes.KEY_RIGHTMETA, ecodes.KEY_NUMLOCK}
# Ctrl+key gives the ASCII control character key & 0x1F for @ A-Z [ \ ] ^ _ (0x00-0x1F).
_CTRL_CHARS = "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_"


class KeyDecoder:
    """Turns EV_KEY events into text lines, as a US-layout keyboard would type them."""

    def __init__(self) -> None:
        self._held: set[int] = set()
        self._caps = False
        self._alt_digits = ""
        self._chars: list[str] = []
        self._unmapped: list[str] = []

    def reset(self) -> None:
        """Forget a partial line and held modifiers (e.g. after the device was reopened)."""
        self._held.clear()
        self._caps = False
        self._alt_digits = ""
        self._chars.clear()
        self._unmapped.clear()

    def feed(self, event: InputEvent) -> str | None:
        """Process one event; return the line when Enter completes it, else None.

        Raises:
            ParseError: the completed line contained keys without a character; the line is
                dropped as a whole.
        """
        if event.type != ecodes.EV_KEY:
            return None
        code, value = event.code, event.value
        if code in _MODIFIERS:
            if value == KEY_DOWN:
                self._held.add(code)
            elif value == KEY_UP:
                self._held.discard(code)
                if not self._held & _ALT and self._alt_digits:
                    self._alt_code()
            return None
        # Only presses type; releases do not, and a wedge never auto-repeats (a repeat would
        # be a stuck key, not data).
        if value != KEY_DOWN or code in _IGNORED:
            return None
        if code == ecodes.KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in _ENTER:
            return self._finish()
        if self._held & _ALT and code in _KEYPAD and _KEYPAD[code].isdigit():
            self._alt_digits += _KEYPAD[code]
            return None
        if code == ecodes.KEY_BACKSPACE:
            if self._chars:
                self._chars.pop()
            return None
        self._type(code)
        return None

    def feed_all(self, events: Iterable[InputEvent]) -> list[str]:
        """All lines completed by `events` (a convenience for tests and replays)."""
        return [line for e in events if (line := self.feed(e)) is not None]

    def _type(self, code: int) -> None:
        if code in _KEYPAD:
            self._chars.append(_KEYPAD[code])
            return
        alt = bool(self._held & _ALT)
        pair = _US.get(code)
        if pair is None or alt:
            self._unmapped.append(("Alt+" if alt else "") + key_name(code))
            return
        char = pair[1] if self._held & _SHIFT else pair[0]
        if self._caps and char.isalpha():
            char = char.swapcase()
        if self._held & _CTRL:
            upper = char.upper()
            if upper in _CTRL_CHARS:
                char = chr(ord(upper) & 0x1F)
            else:
                self._unmapped.append(f"Ctrl+{key_name(code)}")
                return
        self._chars.append(char)

    def _alt_code(self) -> None:
        """Alt + numpad digits (some scanners' way to send control characters)."""
        digits, self._alt_digits = self._alt_digits, ""
        number = int(digits)
        if number < 128:  # ASCII: the same under every code page
            self._chars.append(chr(number))
        else:
            self._unmapped.append(f"Alt+{digits}")

    def _finish(self) -> str:
        text, unmapped = "".join(self._chars), self._unmapped
        self._chars, self._unmapped = [], []
        if unmapped:
            raise ParseError(
                f"line {text!r} contained keys with no US-layout character: {', '.join(unmapped)}"
            )
        return text


class EventSource(Protocol):
    """What `KeyLineReader` needs from an opened, grabbed device (`linux_input.InputDevice`)."""

    def fileno(self) -> int: ...

    def read(self) -> Iterator[InputEvent]: ...

    def close(self) -> None: ...


def open_grabbed(path: str) -> EventSource:
    """Open `path` and take the exclusive grab.

    Raises:
        DeviceDisconnected: missing, not permitted, not an input device, or grabbed by
            another process — the message says which.
    """
    try:
        device = InputDevice(path)
    except FileNotFoundError:
        raise DeviceDisconnected(f"{path}: no such device (unplugged?)") from None
    except PermissionError:
        raise DeviceDisconnected(
            f"{path}: permission denied (the station user needs the 'input' group)"
        ) from None
    except OSError as exc:
        raise DeviceDisconnected(f"{path}: not an evdev input device ({exc})") from None
    try:
        device.grab()
    except OSError as exc:
        device.close()
        raise DeviceDisconnected(
            f"{path}: cannot grab exclusively; another process holds it ({exc})"
        ) from None
    return device


class KeyLineReader:
    """One grabbed keyboard-like device, read line by line."""

    def __init__(
        self, path: str, *, what: str, opener: Callable[[str], EventSource] = open_grabbed
    ) -> None:
        self.path = path
        self.what = what
        self._opener = opener
        self._source: EventSource | None = None
        self._decoder = KeyDecoder()
        self._lines: deque[tuple[str | ParseError, float, datetime]] = deque()
        self._opened = False
        self._delay_s = 0.0
        self._next_attempt = 0.0

    def open(self) -> None:
        """Open and grab. Raises DeviceDisconnected (with the reason) when it cannot."""
        self._opened = True
        self._reopen()

    def close(self) -> None:
        """Release the grab and close; safe to call twice."""
        self._opened = False
        self._drop()

    def read_line(self, timeout: float) -> tuple[str, float, datetime]:
        """The next non-empty line with the monotonic and UTC time its Enter arrived.

        Raises:
            DeviceTimeout: no complete line within `timeout`.
            DeviceDisconnected: the device vanished (reopened on later calls with backoff).
            ParseError: a line with untypeable keys.
        """
        if not self._opened:
            raise DriverError(f"{self.what}: read before open()")
        deadline = time.monotonic() + timeout
        while not self._lines:
            if self._source is None:
                self._reconnect(deadline)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeout(f"{self.what}: no line typed within {timeout:g} s")
            self._pump(remaining)
        line, monotonic, wall = self._lines.popleft()
        if isinstance(line, ParseError):
            raise line
        return line, monotonic, wall

    def _pump(self, wait: float) -> None:
        source = self._source
        assert source is not None
        try:
            ready, _, _ = select.select([source], [], [], wait)
            if not ready:
                return
            events = list(source.read())
        except BlockingIOError:
            return
        except OSError as exc:
            self._failed()
            reason = "unplugged" if exc.errno == errno.ENODEV else str(exc)
            raise DeviceDisconnected(f"{self.what}: device lost ({reason})") from None
        # Queue every line of the batch, bad ones as errors in their place: a rejected line
        # must not swallow the good one typed right after it. Lines of one batch share its
        # arrival time, as the serial drivers' lines of one read do (`Reading.monotonic`).
        monotonic, wall = time.monotonic(), datetime.now(UTC)
        for event in events:
            item: str | ParseError | None
            try:
                item = self._decoder.feed(event)
            except ParseError as exc:
                item = ParseError(f"{self.what}: {exc}")
            if item:  # a stray Enter is not data
                self._lines.append((item, monotonic, wall))

    def _reconnect(self, deadline: float) -> None:
        wait = self._next_attempt - time.monotonic()
        if wait > 0:
            if time.monotonic() + wait > deadline:
                raise DeviceDisconnected(f"{self.what}: not open; next attempt in {wait:.2f} s")
            time.sleep(wait)
        self._reopen()

    def _reopen(self) -> None:
        self._drop()
        try:
            self._source = self._opener(self.path)
        except DeviceDisconnected as exc:
            self._failed()
            raise DeviceDisconnected(f"{self.what}: {exc}") from None
        self._decoder.reset()
        self._delay_s = 0.0
        self._next_attempt = 0.0

    def _failed(self) -> None:
        self._drop()
        self._delay_s = min(max(self._delay_s * 2, RECONNECT_MIN_S), RECONNECT_MAX_S)
        self._next_attempt = time.monotonic() + self._delay_s

    def _drop(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            with contextlib.suppress(OSError):  # closing the fd releases the grab
                source.close()


_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")


class KeyboardDriver:
    """Driver "keyboard": a gauge interface that types numbers (USB-ITN in keyboard mode)."""

    def __init__(
        self,
        name: str,
        params: KeyboardParams,
        *,
        opener: Callable[[str], EventSource] = open_grabbed,
    ) -> None:
        # The type guarantees a string; an empty one is still no device.
        if not params.device:
            raise DriverError(
                f"input {name!r}: driver 'keyboard' needs device = "
                "'/dev/input/by-id/…-event-kbd' (got none)"
            )
        self.name = name
        self.params = params
        self._reader = KeyLineReader(
            params.device, what=f"input {name!r} ({params.device})", opener=opener
        )

    def open(self) -> None:
        self._reader.open()

    def close(self) -> None:
        self._reader.close()

    def request(self) -> None:
        """No-op: the device types when its DATA button or footswitch is pressed."""

    def read(self, timeout: float) -> Reading:
        """The next typed number.

        Raises:
            DeviceTimeout, DeviceDisconnected, ParseError (not a number, named with the text),
            ImplausibleValue (a number no gauge sends, as for the serial drivers).
        """
        line, monotonic, wall = self._reader.read_line(timeout)
        text = line.strip()
        if not _NUMBER.match(text):
            raise ParseError(
                f"{self._reader.what}: expected a number such as -12.345, got {line!r}"
            )
        value = plausible_decimal(text, self._reader.what)
        return Reading(
            value=float(value), unit=self.params.unit, raw=line, monotonic=monotonic, wall=wall
        )


class EvdevScanner:
    """A keyboard-wedge barcode scanner read exclusively; `read_scan()` returns raw text."""

    def __init__(self, path: str, *, opener: Callable[[str], EventSource] = open_grabbed) -> None:
        self.path = path
        self._reader = KeyLineReader(path, what=f"scanner ({path})", opener=opener)

    def open(self) -> None:
        self._reader.open()

    def close(self) -> None:
        self._reader.close()

    def read_scan(self, timeout: float) -> str:
        """The next scan as typed (GS as '\\x1d' when sent as Ctrl+]), without the Enter."""
        return self._reader.read_line(timeout)[0]


__all__ = [
    "EvdevScanner",
    "EventSource",
    "KeyDecoder",
    "KeyLineReader",
    "KeyboardDriver",
    "key_name",
    "open_grabbed",
]
