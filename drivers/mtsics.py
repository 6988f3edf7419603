"""Mettler Toledo MT-SICS level 0 balances: weight (``S``/``SI``), zero (``Z``), tare (``T``).

Wire format (Mettler Toledo MT-SICS reference manual): upper-case commands ending CR LF;
every reply is ``<ID> <status> [params]`` ending CR LF; parsed by splitting on spaces, never
by columns (the value field is padded, ``S S     100.00 g``).

* ``S`` sends the stable net weight: ``S S <value> <unit>``; ``SI`` sends immediately and may
  answer ``S D <value> <unit>`` (dynamic, not settled). The reply ID to ``SI`` is ``S``.
  Accepting ``S D`` as final is a common bug (§6), so it raises `UnstableReading` unless the
  input sets ``accept_dynamic``; `request()` sends ``S`` by default and ``SI`` when dynamic
  values are accepted.
* ``<ID> I``: understood but not executable now (busy, e.g. taring, or stability not reached in
  time) → `NotExecutable`, which is both a `CommandError` and a `DeviceBusy` (retry later).
* ``<ID> +`` / ``<ID> -``: over / under range → `OverloadError` / `UnderloadError` (for ``Z``
  and ``T``: the zero/tare range). ``<ID> L``: logical error (parameter) → `CommandError`.
* ``ES``, ``ET``, ``EL`` (general errors, on a line by themselves) → `CommandError` with the
  meaning. ``I<n> A …`` lines (e.g. ``I4 A "<serial>"`` some balances send at power-up) are
  ignored.
* ``Z`` → ``Z A`` when zeroed. ``T`` → ``T S <tare weight> <unit>`` (MT-SICS reference);
  ``T A …`` is accepted too because InstrumentKit's test vectors use it (the response ID is
  UNCERTAIN per Mettler Toledo MT-SICS reference manual).

Line default 9600 8N1 (the de-facto default of the client libraries and the vendor's own).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from decimal import Decimal

from drivers.base import (
    CommandError,
    DeviceBusy,
    DeviceTimeout,
    ImplausibleValue,
    OverloadError,
    ParseError,
    Reading,
    UnderloadError,
    UnstableReading,
)
from drivers.frames import Frame, plausible_decimal, show
from drivers.line_driver import LineDriver, renamed
from drivers.params import MtsicsParams
from drivers.serial_line import LineParams

log = logging.getLogger(__name__)

STABLE_REQUEST = b"S\r\n"
IMMEDIATE_REQUEST = b"SI\r\n"
ZERO_COMMAND = b"Z\r\n"
TARE_COMMAND = b"T\r\n"

COMMAND_TIMEOUT_S = 5.0
"""Default wait for ``Z``/``T``: both wait for stability first, which takes seconds."""

GENERAL_ERRORS = {
    "ES": "syntax error: the balance did not recognise the command",
    "ET": "transmission error: the balance received a faulty command (parity, interface break)",
    "EL": "logical error: the balance cannot execute the command",
}


class NotExecutable(CommandError, DeviceBusy):
    """``<ID> I``: the balance understood the command but cannot execute it now."""


_REPLY = re.compile(
    r"([A-Z][A-Z0-9]{0,3})(?: +([A-Z+-]))?(?: +([+-]?[0-9]+(?:\.[0-9]+)?) +"
    r"([A-Za-z%/µ°][A-Za-z0-9%/µ°]{0,5}))?",
    re.ASCII,
)
_INFO = re.compile(r"I[0-9]{1,2} [AB](?: [ -~]*)?", re.ASCII)


@dataclass(frozen=True)
class Reply:
    """One MT-SICS response line, split into its fields."""

    id: str
    status: str
    value: Decimal | None
    unit: str | None


def parse_reply(line: bytes) -> Reply | None:
    """Split one response line; general errors raise. None for ignored ``I<n>`` lines.

    Raises:
        ParseError: not an MT-SICS response; ImplausibleValue: absurd weight;
        CommandError: ``ES``/``ET``/``EL``.
    """
    text = line.decode("latin-1").rstrip(" ")
    if text in GENERAL_ERRORS:
        raise CommandError(f"MT-SICS {text}: {GENERAL_ERRORS[text]}")
    if _INFO.fullmatch(text):
        return None
    match = _REPLY.fullmatch(text)
    if match is None or match.group(2) is None:
        raise ParseError(f"mtsics: got {show(line)}, expected a reply like b'S S     100.00 g'")
    ident, status, number, unit = match.groups()
    value = None if number is None else plausible_decimal(number, f"mtsics reply {show(line)}")
    return Reply(ident, status, value, unit)


def _status_error(reply: Reply, what: str, line: bytes) -> Exception:
    if reply.status == "I":
        return NotExecutable(
            f"MT-SICS {reply.id} I: {what} not executable now (balance busy, e.g. taring,"
            " or stability not reached in time)"
        )
    if reply.status == "+":
        return OverloadError(f"MT-SICS {reply.id} +: {what}: over the upper limit of the range")
    if reply.status == "-":
        return UnderloadError(f"MT-SICS {reply.id} -: {what}: under the lower limit of the range")
    if reply.status == "L":
        return CommandError(f"MT-SICS {reply.id} L: {what}: logical error (parameter)")
    return ParseError(f"mtsics: unexpected {what} reply {show(line)}")


def parse_frame(line: bytes) -> Frame | None:
    """Parse one weight response (contract in `drivers.frames`); ``S D`` → stable=False.

    Raises:
        ParseError: not a weight response; ImplausibleValue: absurd weight;
        NotExecutable, OverloadError, UnderloadError, CommandError: see module doc.
    """
    reply = parse_reply(line)
    if reply is None:
        return None
    if reply.id != "S":
        raise ParseError(f"mtsics: got {show(line)}, expected a weight reply (ID S)")
    if reply.status in ("S", "D"):
        if reply.value is None:
            raise ParseError(f"mtsics: weight reply {show(line)} has no value and unit")
        return Frame(reply.value, reply.unit, stable=reply.status == "S")
    if reply.value is not None:
        raise ParseError(f"mtsics: status reply {show(line)} carries a value")
    raise _status_error(reply, "weight", line)


class MtsicsDriver(LineDriver):
    """A Mettler Toledo balance speaking MT-SICS (push: print key; poll: ``S``/``SI``)."""

    PROTOCOL = "mtsics"
    DEFAULT_LINE = LineParams(baudrate=9600, bytesize=8, parity="N", stopbits=1)
    REQUEST = STABLE_REQUEST
    DEFAULT_UNIT = None

    def __init__(self, name: str, params: MtsicsParams) -> None:
        super().__init__(name, params)
        self.accept_dynamic = params.accept_dynamic

    def parse(self, line: bytes) -> Frame | None:
        return parse_frame(line)

    def request_bytes(self) -> bytes:
        return IMMEDIATE_REQUEST if self.accept_dynamic else STABLE_REQUEST

    def reading(self, frame: Frame, line: bytes, at: float) -> Reading:
        if not frame.stable and not self.accept_dynamic:
            raise UnstableReading(
                f"{self.name}: dynamic (not settled) weight {show(line)} rejected;"
                " wait for the balance to settle"
            )
        return super().reading(frame, line, at)

    def zero(self, timeout: float | None = None) -> None:
        """Send ``Z`` and wait for ``Z A`` (`timeout` default: the input's, at least 5 s).

        Raises:
            NotExecutable (``Z I``), OverloadError (``Z +``), UnderloadError (``Z -``),
            CommandError (``ES``/``ET``/``EL``), DeviceTimeout, DeviceDisconnected.
        """
        self._command(ZERO_COMMAND, "Z", ("A",), "zero", timeout)

    def tare(self, timeout: float | None = None) -> Reading:
        """Send ``T`` and return the stored tare weight from ``T S <value> <unit>``.

        Raises:
            NotExecutable (``T I``), OverloadError (``T +``), UnderloadError (``T -``),
            CommandError (``ES``/``ET``/``EL``), DeviceTimeout, DeviceDisconnected.
        """
        reply, line, at = self._command(TARE_COMMAND, "T", ("S", "A"), "tare", timeout)
        if reply.value is None:
            raise ParseError(f"{self.name}: tare reply {show(line)} has no weight")
        return super().reading(Frame(reply.value, reply.unit), line, at)

    def _command(
        self, command: bytes, ident: str, done: tuple[str, ...], what: str, timeout: float | None
    ) -> tuple[Reply, bytes, float]:
        """Send a command and wait for its reply: `done` statuses return, others raise."""
        wait = max(self.params.timeout_s, COMMAND_TIMEOUT_S) if timeout is None else timeout
        deadline = time.monotonic() + wait
        self._send_request(command)
        try:
            while True:
                got = self.line.read_line(deadline)
                if got is None:
                    raise DeviceTimeout(
                        f"{self.name}: no reply to {what} ({command!r}) in {wait:g} s"
                    )
                line, at = got
                try:
                    reply = parse_reply(line)
                except (CommandError, ImplausibleValue) as exc:
                    raise renamed(exc, self.name) from None
                except ParseError as exc:
                    log.warning(
                        "%s: skipped %s while waiting for %s: %s", self.name, show(line), what, exc
                    )
                    continue
                if reply is None or reply.id != ident:
                    log.warning(
                        "%s: dropped %s while waiting for the %s reply", self.name, show(line), what
                    )
                    continue
                if reply.status in done:
                    return reply, line, at
                raise renamed(_status_error(reply, what, line), self.name)
        finally:
            self._request_pending = False


__all__ = [
    "COMMAND_TIMEOUT_S",
    "GENERAL_ERRORS",
    "IMMEDIATE_REQUEST",
    "STABLE_REQUEST",
    "TARE_COMMAND",
    "ZERO_COMMAND",
    "MtsicsDriver",
    "NotExecutable",
    "Reply",
    "parse_frame",
    "parse_reply",
]
