"""Pure pieces shared by the line-oriented serial protocols: the parsed frame, the plausibility
bound and the line splitter.

Nothing here does I/O, so hypothesis can fuzz it and the benchmark can time it alone. Every
protocol parser (`drivers.mitutoyo.parse_frame`, …) has the same contract:

* it takes one line as received, without its terminator;
* it returns a `Frame`, or None for a line the protocol says to ignore (an identification
  banner, a command echo, a device-info reply);
* it raises `ParseError` for bytes that are not a frame of the protocol, `ImplausibleValue`
  (a `ParseError`) for a well-formed frame whose value is absurd, and a `DeviceStatusError`
  subclass for a well-formed status/error frame. It never raises anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from drivers.base import ImplausibleValue

MAX_ABS_VALUE = Decimal(10) ** 9
"""No bench gauge or balance reports more than 1e9 in any unit (1 km in µm is 1e9); a larger
value is line noise that happened to look numeric, so it is rejected, never clipped."""

MAX_SIGNIFICANT_DIGITS = 20
"""More digits than any instrument resolves (a 0.1 µm resolution over 1 m is 8); a float keeps
only ~17 anyway, so such a value could not be recorded faithfully."""

MAX_FRACTION_DIGITS = 12
"""At most 12 digits after the point: `1e-300` parses as a number but no gauge resolves it."""

MAX_LINE_BYTES = 256
"""The longest line a gauge protocol produces is ~40 bytes (Mahr C1202 with three features);
a longer run without a terminator is noise and is dropped up to the next terminator."""

_TERMINATOR = re.compile(rb"[\r\n]")


@dataclass(frozen=True)
class Frame:
    """One parsed value frame. `unit` is None when the frame does not carry one; `stable` is
    False for a reading the device flags as not settled (MT-SICS `S D`)."""

    value: Decimal
    unit: str | None = None
    stable: bool = True


def show(line: bytes, limit: int = 80) -> str:
    """`repr` of received bytes for messages and logs, shortened for very long garbage."""
    if len(line) <= limit:
        return repr(line)
    return f"{line[:limit]!r}… ({len(line)} bytes)"


def plausible_decimal(text: str, where: str) -> Decimal:
    """Convert the value text of a frame, rejecting what no instrument can mean.

    `where` names the frame for the message (e.g. ``"mitutoyo frame b'01A+…'"``).

    Raises:
        ImplausibleValue: not a number, NaN/inf, more than `MAX_SIGNIFICANT_DIGITS`
            significant digits, more than `MAX_FRACTION_DIGITS` after the point, or a
            magnitude above `MAX_ABS_VALUE`.
    """
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError) as exc:
        raise ImplausibleValue(f"{where}: value {text!r} is not a number") from exc
    if not value.is_finite():
        raise ImplausibleValue(f"{where}: value {text!r} is not a finite number")
    sign_digits_exp = value.as_tuple()
    assert isinstance(sign_digits_exp.exponent, int)  # finite, checked above
    if len(sign_digits_exp.digits) > MAX_SIGNIFICANT_DIGITS:
        raise ImplausibleValue(
            f"{where}: value {text!r} has {len(sign_digits_exp.digits)} significant digits"
            f" (at most {MAX_SIGNIFICANT_DIGITS} are plausible)"
        )
    if -sign_digits_exp.exponent > MAX_FRACTION_DIGITS:
        raise ImplausibleValue(
            f"{where}: value {text!r} has more than {MAX_FRACTION_DIGITS} digits after the point"
        )
    if value.copy_abs() > MAX_ABS_VALUE:
        raise ImplausibleValue(
            f"{where}: value {text!r} exceeds the plausibility bound 1e9 (rejected, not clipped)"
        )
    return value


class LineBuffer:
    """Split a byte stream into lines, keeping a partial line across reads.

    CR, LF and CRLF all end a line (Mitutoyo and Sylvac send CR, MT-SICS CR LF, Mahr either;
    the vendors' default line settings), so a CRLF yields one line and an empty one, and empty
    lines are dropped.
    A run longer than `max_line` without a terminator is rejected and everything up to the
    next terminator is dropped with it: the caller logs the rejected bytes.
    """

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self.max_line = max_line
        self._partial = bytearray()
        self._dropping = False

    @property
    def pending(self) -> bytes:
        """The partial line received so far (no terminator yet)."""
        return bytes(self._partial)

    def clear(self) -> bytes:
        """Forget the partial line and return it (for logging)."""
        dropped = bytes(self._partial)
        self._partial.clear()
        self._dropping = False
        return dropped

    def feed(self, data: bytes) -> tuple[list[bytes], list[bytes]]:
        """Add received bytes; return (complete lines, rejected overlong segments)."""
        lines: list[bytes] = []
        rejected: list[bytes] = []
        self._partial += data
        *complete, rest = _TERMINATOR.split(self._partial)
        for part in complete:
            if self._dropping:
                self._dropping = False
                if part:
                    rejected.append(part)
            elif len(part) > self.max_line:
                rejected.append(part)
            elif part:
                lines.append(part)
        self._partial = bytearray(rest)
        if len(self._partial) > self.max_line:
            rejected.append(bytes(self._partial))
            self._partial.clear()
            self._dropping = True
        return lines, rejected


__all__ = [
    "MAX_ABS_VALUE",
    "MAX_FRACTION_DIGITS",
    "MAX_LINE_BYTES",
    "MAX_SIGNIFICANT_DIGITS",
    "Frame",
    "LineBuffer",
    "plausible_decimal",
    "show",
]
