"""Mahr Millimar frames: the C1202 duplex interface / DK-U1 USB data cable and the C1208/C1216
"OPTORS" protocol.

Wire formats (Mahr MarConnect interface manual):

* C1202 (manual p.82): ``?<CR>`` returns every feature, ``;``-separated, each
  ``<n> ±XXX.XX <unit>`` with the tolerance status ``=``/``<``/``>`` (plus an optional
  warning-limit symbol) appended; a deactivated feature answers ``ERR6``. ``M1?<CR>`` returns
  feature 1 alone. This driver reads the first feature of the line (the one a single-gauge
  bench wires) and ignores the others.
* OPTORS (C1216 p.70): ``?<CR>`` → ``xxx.xxx<unit><CR><LF>``; the M1240 variant answers
  ``M<CR>`` with ``M1, xxx.xxx``.

Units seen: mm, um/µm, inch, deg, rad, dms; the frame's unit wins over the input's ``unit``
setting (which applies only to frames without one), and is passed on as sent. ``ERR<n>`` →
`CommandError`; ``I,MAHRGMBH,…`` identification lines are ignored. Line default 9600 7E2
(C1202 manual, DK-U1 notes); terminator CR or CRLF.
"""

from __future__ import annotations

import re

from drivers.base import CommandError, ParseError
from drivers.frames import Frame, plausible_decimal, show
from drivers.line_driver import LineDriver
from drivers.serial_line import LineParams

REQUEST = b"?\r"

UNITS = ("mm", "um", "µm", "inch", "in", "deg", "rad", "dms")
"""In alternation order: "inch" must come before its prefix "in"."""

_FEATURE = re.compile(
    r" *(?:M?([0-9]{1,2}),? +)?([+-])? *([0-9]+(?:\.[0-9]+)?) *"
    rf"({'|'.join(UNITS)})? *([<=>]{{1,2}})? *",
    re.ASCII,
)
_ERROR = re.compile(r"ERR([0-9]{1,3})", re.ASCII)
_IDENT = re.compile(r"I,[ -~]*", re.ASCII)


def parse_frame(line: bytes) -> Frame | None:
    """Parse one Mahr line (contract in `drivers.frames`), taking its first feature.

    Raises:
        ParseError: the first feature is not ``[n ]±value[ unit][tolerance]``.
        ImplausibleValue: the value is absurd.
        CommandError: ``ERRn`` (ERR6: feature deactivated).
    """
    text = line.decode("latin-1")
    first = text.split(";", 1)[0]
    match = _FEATURE.fullmatch(first)
    if match is not None:
        sign, digits, unit = match.group(2, 3, 4)
        value = plausible_decimal((sign or "+") + digits, f"mahr frame {show(line)}")
        return Frame(value, unit)
    error = _ERROR.fullmatch(first.strip(" "))
    if error is not None:
        n = error.group(1)
        meaning = "feature deactivated" if n == "6" else "device error"
        raise CommandError(f"mahr error ERR{n}: {meaning}")
    if _IDENT.fullmatch(text):
        return None
    raise ParseError(f"mahr: got {show(line)}, expected a frame like b'1 +012.345 mm'")


class MahrDriver(LineDriver):
    """A Mahr Millimar / DK-U1 in push or poll (``?<CR>``) mode."""

    PROTOCOL = "mahr"
    DEFAULT_LINE = LineParams(baudrate=9600, bytesize=7, parity="E", stopbits=2)
    REQUEST = REQUEST
    DEFAULT_UNIT = "mm"

    def parse(self, line: bytes) -> Frame | None:
        return parse_frame(line)


__all__ = ["REQUEST", "UNITS", "MahrDriver", "parse_frame"]
