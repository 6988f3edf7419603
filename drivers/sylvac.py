"""Sylvac OPTO-RS / Duplex / USB "Power" cable frames (also Trimos, same family).

Wire format (Sylvac Opto-RS/Duplex cable manual, Bowers/Sylvac Opto manual pp.13–14): sign (``+``,
``-`` or a
space), integer digits, ``.``, fraction digits, CR; e.g. ``+012.345<CR>``. The digit counts
depend on unit and resolution and the unit is not in the frame (it comes from the input's
``unit`` setting, else mm). In tolerance mode a ``<``, ``=`` or ``>`` follows the value
(UniCal manual p.65). Errors are ``ERR<n><CR>``: 0 sensor error, 1 incorrect command, 2 parity
error, 3 measurement range exceeded → `CommandError` naming n. Ignored lines: the
``SY<instr>…`` identification sent at power-on, and the echo of the ``?`` request that
half-duplex adapters return (UniCal).

Push mode: a footswitch/automat impulse sends the same frame as a request (S_Mike PRO p.21).
Poll mode: ``?<CR>`` (Duplex cable). Line default 4800 7E2 (the vendors' default line settings).
"""

from __future__ import annotations

import re

from drivers.base import CommandError, ParseError
from drivers.frames import Frame, plausible_decimal, show
from drivers.line_driver import LineDriver
from drivers.serial_line import LineParams

REQUEST = b"?\r"

ERRORS = {
    "0": "sensor error (e.g. moving too fast, scale distance)",
    "1": "incorrect command",
    "2": "parity error",
    "3": "measurement range exceeded",
}

_FRAME = re.compile(rb" *([+-])? *([0-9]+(?:\.[0-9]+)?) *([<=>])? *")
_ERROR = re.compile(rb"ERR([0-9]{1,3})")
_IDENT = re.compile(rb"SY[ -~]*")
_ECHO = re.compile(rb"\?|PRI", re.IGNORECASE)


def parse_frame(line: bytes) -> Frame | None:
    """Parse one Sylvac line (contract in `drivers.frames`).

    Raises:
        ParseError: not a ``±value`` frame, an ``ERRn`` error, an ``SY…`` ident or an echo.
        ImplausibleValue: the value is absurd.
        CommandError: ``ERRn``, naming n and its meaning.
    """
    match = _FRAME.fullmatch(line)
    if match is not None:
        sign, digits = match.group(1, 2)
        text = ((sign or b"+") + digits).decode("ascii")
        return Frame(plausible_decimal(text, f"sylvac frame {show(line)}"))
    error = _ERROR.fullmatch(line)
    if error is not None:
        n = error.group(1).decode("ascii")
        meaning = ERRORS.get(n, "unknown error code")
        raise CommandError(f"sylvac error ERR{n}: {meaning}")
    if _IDENT.fullmatch(line) or _ECHO.fullmatch(line):
        return None
    raise ParseError(f"sylvac: got {show(line)}, expected a frame like b'+012.345'")


class SylvacDriver(LineDriver):
    """A Sylvac instrument in push (footswitch) or poll (``?<CR>``) mode."""

    PROTOCOL = "sylvac"
    DEFAULT_LINE = LineParams(baudrate=4800, bytesize=7, parity="E", stopbits=2)
    REQUEST = REQUEST
    DEFAULT_UNIT = "mm"

    def parse(self, line: bytes) -> Frame | None:
        return parse_frame(line)


__all__ = ["ERRORS", "REQUEST", "SylvacDriver", "parse_frame"]
