"""A generic ASCII line device described by a regular expression (contract: `driver = "ascii"`).

Covers the many instruments that send one value per line in their own format (TESA, Mark-10,
ProScale, balances in print mode, the vendors' ASCII print formats (Mark-10, ProScale)): the
input's ``pattern`` must have a named
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

import importlib
import re
from collections.abc import Iterable
from typing import Any

from drivers.base import ParseError
from drivers.frames import MAX_LINE_BYTES, Frame, plausible_decimal, show
from drivers.line_driver import LineDriver
from drivers.params import AsciiParams
from drivers.serial_line import InvalidSettings, LineParams

MAX_PATTERN_LINE = MAX_LINE_BYTES
"""The longest line a pattern is ever applied to (the serial layer already splits longer runs
off as noise); a longer line is a `ParseError` before the regex sees it."""

# CPython's own regex parser (the module `re` compiles with; `sre_parse` is its deprecated
# alias). Private, but stable in shape since 3.11 and only used for this check.
_re_parser: Any = importlib.import_module("re._parser")

_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


def _nested_repeat(items: Iterable[tuple[Any, Any]], inside: bool) -> bool:
    """True if a repeat allowing more than one iteration holds another one (`(a+)+`,
    `(\\d{1,3},)*`): the shape whose backtracking is exponential in the line length."""
    for op, arg in items:
        name = str(op)
        if name in _REPEATS:
            _low, high, body = arg
            many = high > 1
            if (many and inside) or _nested_repeat(body, inside or many):
                return True
            continue
        children: list[Any] = []
        if name == "SUBPATTERN":
            children = [arg[3]]
        elif name == "BRANCH":
            children = list(arg[1])
        elif name in ("ASSERT", "ASSERT_NOT"):
            children = [arg[1]]
        elif name == "ATOMIC_GROUP":
            children = [arg]
        elif name == "GROUPREF_EXISTS":
            children = [b for b in arg[1:] if b is not None]
        if any(_nested_repeat(child, inside) for child in children):
            return True
    return False


def pattern_problem(pattern: str) -> str | None:
    """What is wrong with an input's ``pattern``, or None (for config checks and the driver).

    Rejects what does not compile, a pattern without ``(?P<value>…)``, and nested quantifiers
    such as ``^(a+)+$``: Python's backtracking matcher takes time exponential in the line
    length on those (``"a" * 30 + "b"`` already takes minutes), which would stall the
    input's reader on one noisy line.
    """
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        return f"not a valid regular expression: {exc}"
    if "value" not in compiled.groupindex:
        return "must have a named group (?P<value>...) for the number"
    if _nested_repeat(_re_parser.parse(pattern), inside=False):
        return (
            "has a repeated group that itself repeats (like (a+)+): matching a noisy line "
            "could take minutes; repeat the characters once, e.g. (?P<value>[0-9.+-]+)"
        )
    return None


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile an input's pattern after `pattern_problem` found nothing wrong.

    Raises:
        InvalidSettings (a ValueError): the problem, with the pattern.
    """
    problem = pattern_problem(pattern)
    if problem is not None:
        raise InvalidSettings(f"pattern {pattern!r}: {problem}")
    return re.compile(pattern)


def parse_line(pattern: re.Pattern[str], line: bytes) -> Frame:
    """Parse one line with `pattern` (contract in `drivers.frames`; never returns None).

    Raises:
        ParseError: the line does not match or is longer than `MAX_PATTERN_LINE`, or the
            ``value`` group did not participate.
        ImplausibleValue: the matched value is not a plausible number.
    """
    if len(line) > MAX_PATTERN_LINE:
        raise ParseError(
            f"ascii: line of {len(line)} bytes is longer than {MAX_PATTERN_LINE}, not matched:"
            f" {show(line)}"
        )
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

    def __init__(self, name: str, params: AsciiParams) -> None:
        try:
            self.pattern = compile_pattern(params.pattern)
        except InvalidSettings as exc:
            raise InvalidSettings(f"input {name!r}: {exc}") from exc
        if params.mode == "poll" and not params.request:
            raise InvalidSettings(f"input {name!r}: driver 'ascii' in poll mode needs a request")
        try:
            self._request = (params.request or "").encode("latin-1")
        except UnicodeEncodeError as exc:
            raise InvalidSettings(
                f"input {name!r}: request {params.request!r} is not latin-1 text"
            ) from exc
        super().__init__(name, params)

    def parse(self, line: bytes) -> Frame | None:
        return parse_line(self.pattern, line)

    def request_bytes(self) -> bytes:
        return self._request


__all__ = ["MAX_PATTERN_LINE", "AsciiDriver", "compile_pattern", "parse_line", "pattern_problem"]
