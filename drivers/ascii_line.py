"""A generic ASCII line device described by a regular expression (contract: `driver = "ascii"`).

Covers the many instruments that send one value per line in their own format (TESA, Mark-10,
ProScale, balances in print mode, protocols.md §2.3): the input's ``pattern`` must have a named
group ``value`` and may have a named group ``unit``; it is applied with `re.search` to the line
decoded as latin-1 (without terminator), so anchor it with ``^…$`` to match whole lines. A line
that does not match is garbage (logged and skipped); a matched ``value`` that is not a finite,
plausible number raises `ImplausibleValue`. The unit is the ``unit`` group when it matched,
else the input's ``unit`` setting.

In poll mode ``request`` is sent exactly as configured, encoded latin-1. Escapes are not
interpreted here: TOML already turns ``"?\\r"`` (a basic, double-quoted string) into ``?`` +
CR, while a literal single-quoted ``'?\\r'`` stays a backslash and an ``r``, which no device
understands, so write requests in double quotes. Line default 9600 8N1.
"""

from __future__ import annotations

import re

from drivers.base import ParseError
from drivers.frames import Frame, plausible_decimal, show
from drivers.line_driver import LineDriver
from drivers.serial_line import InvalidSettings, LineParams
from station.settings import InputSettings


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile an input's pattern, checking it has a ``value`` group.

    Raises:
        InvalidSettings (a ValueError): the pattern does not compile or lacks ``(?P<value>…)``.
    """
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise InvalidSettings(
            f"pattern {pattern!r} is not a valid regular expression: {exc}"
        ) from exc
    if "value" not in compiled.groupindex:
        raise InvalidSettings(f"pattern {pattern!r} has no named group (?P<value>…)")
    return compiled


def parse_line(pattern: re.Pattern[str], line: bytes) -> Frame:
    """Parse one line with `pattern` (contract in `drivers.frames`; never returns None).

    Raises:
        ParseError: the line does not match, or the ``value`` group did not participate.
        ImplausibleValue: the matched value is not a plausible number.
    """
    text = line.decode("latin-1")
    match = pattern.search(text)
    if match is None:
        raise ParseError(f"ascii: {show(line)} does not match pattern {pattern.pattern!r}")
    value = match.group("value")
    if value is None:
        raise ParseError(f"ascii: pattern matched {show(line)} without a value")
    unit = match.groupdict().get("unit") or None
    return Frame(plausible_decimal(value, f"ascii line {show(line)}"), unit)


class AsciiDriver(LineDriver):
    """A device sending one value per line, read with the input's ``pattern``."""

    PROTOCOL = "ascii"
    DEFAULT_LINE = LineParams(baudrate=9600, bytesize=8, parity="N", stopbits=1)

    def __init__(self, settings: InputSettings) -> None:
        if not settings.pattern:
            raise InvalidSettings(f"input {settings.name!r}: driver 'ascii' needs a pattern")
        try:
            self.pattern = compile_pattern(settings.pattern)
        except InvalidSettings as exc:
            raise InvalidSettings(f"input {settings.name!r}: {exc}") from exc
        if settings.mode == "poll" and not settings.request:
            raise InvalidSettings(
                f"input {settings.name!r}: driver 'ascii' in poll mode needs a request"
            )
        try:
            self._request = (settings.request or "").encode("latin-1")
        except UnicodeEncodeError as exc:
            raise InvalidSettings(
                f"input {settings.name!r}: request {settings.request!r} is not latin-1 text"
            ) from exc
        super().__init__(settings)

    def parse(self, line: bytes) -> Frame | None:
        return parse_line(self.pattern, line)

    def request_bytes(self) -> bytes:
        return self._request


__all__ = ["AsciiDriver", "compile_pattern", "parse_line"]
