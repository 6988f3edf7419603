"""The read loop shared by every line-oriented serial gauge driver.

A protocol module supplies only its parser, its request bytes and its default line settings;
this class turns lines from a `SerialLine` into `Reading`s with the house rules:

* a line that is not a frame of the protocol is logged (with the bytes' repr) and skipped, so
  noise at plug-in does not cost the operator the next good value; if nothing valid arrives
  before the deadline the read fails with `ParseError` naming the last rejected line (more
  useful at the bench than a bare timeout);
* a well-formed frame with an absurd value (`ImplausibleValue`) and a status frame
  (`DeviceStatusError`) are raised at once: the device did answer, the operator must know;
* in poll mode `request()` first drops unread input, so a late reply to an earlier request can
  never be taken as the answer to this one.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import ClassVar, TypeVar

from drivers.base import (
    DeviceDisconnected,
    DeviceStatusError,
    DeviceTimeout,
    ImplausibleValue,
    ParseError,
    Reading,
)
from drivers.frames import Frame, show
from drivers.params import DriverName, SerialParams
from drivers.serial_line import InvalidSettings, LineParams, SerialLine, resolve_line

log = logging.getLogger(__name__)


E = TypeVar("E", bound=Exception)


def renamed(exc: E, name: str) -> E:
    """The same exception type with the input's name in front of the message."""
    return type(exc)(f"{name}: {exc}")


class LineDriver:
    """Base of the serial gauge drivers (implements `drivers.base.Driver`)."""

    PROTOCOL: ClassVar[DriverName]
    DEFAULT_LINE: ClassVar[LineParams]
    REQUEST: ClassVar[bytes] = b""
    DEFAULT_UNIT: ClassVar[str | None] = None

    def __init__(self, name: str, params: SerialParams) -> None:
        # The type guarantees a string; an empty one is still no port.
        if not params.port:
            raise InvalidSettings(
                f"input {name!r}: driver {self.PROTOCOL!r} needs a port"
                " (device path or pyserial URL), got none"
            )
        self.name = name
        self.params = params
        self.line = SerialLine(name, params.port, resolve_line(params, self.DEFAULT_LINE))
        self._request_pending = False

    # --- Driver protocol ---------------------------------------------------------------------

    def open(self) -> None:
        """Open the port. Raises DeviceDisconnected when it cannot (reads keep retrying)."""
        self.line.open()

    def close(self) -> None:
        """Close the port; safe to call twice."""
        self.line.close()

    @property
    def connected(self) -> bool:
        """True while the port is open (for the UI's status line)."""
        return self.line.connected

    def request(self) -> None:
        """Poll mode: drop stale input and send the protocol's request. Push mode: no-op."""
        if self.params.mode != "poll":
            return
        self._send_request(self.request_bytes())

    def read(self, timeout: float) -> Reading:
        """Return the next value frame within `timeout` seconds (see module doc)."""
        deadline = time.monotonic() + timeout
        received_before = self.line.received
        rejected: ParseError | None = None
        while True:
            try:
                got = self.line.read_line(deadline)
            except DeviceDisconnected:
                self._request_pending = False  # the request died with the port
                raise
            if got is None:
                if rejected is not None:
                    raise ParseError(
                        f"{self.name}: no valid {self.PROTOCOL} frame within {timeout:g} s;"
                        f" last rejected: {rejected}"
                    )
                silent = self.line.received == received_before and not self.line.pending
                if self.params.mode != "poll" and silent:
                    # Nothing at all arrived: at a push-mode gauge that means nobody pressed.
                    raise DeviceTimeout(
                        f"no value from {self.name} within {timeout:g} s (push mode: press"
                        " the gauge's data button or footswitch)"
                    )
                waiting = " to the request" if self._request_pending else ""
                raise DeviceTimeout(
                    f"{self.name}: no complete {self.PROTOCOL} reply{waiting} within {timeout:g} s"
                )
            line, at = got
            try:
                frame = self.parse(line)
            except ImplausibleValue as exc:
                self._request_pending = False
                raise renamed(exc, self.name) from None
            except ParseError as exc:
                log.warning("%s: skipped %s: %s", self.name, show(line), exc)
                rejected = exc
                continue
            except DeviceStatusError as exc:
                if self.retry_after_status(exc, deadline):
                    continue
                self._request_pending = False
                raise renamed(exc, self.name) from None
            if frame is None:
                log.info("%s: ignored non-value line %s", self.name, show(line))
                continue
            self._request_pending = False
            return self.reading(frame, line, at)

    # --- hooks for the protocol modules ------------------------------------------------------

    def parse(self, line: bytes) -> Frame | None:
        """Parse one line (see `drivers.frames` for the contract)."""
        raise NotImplementedError

    def request_bytes(self) -> bytes:
        """What `request()` sends in poll mode."""
        return self.REQUEST

    def retry_after_status(self, exc: DeviceStatusError, deadline: float) -> bool:
        """Return True to keep reading after a status frame (e.g. re-sent a request)."""
        return False

    def reading(self, frame: Frame, line: bytes, at: float) -> Reading:
        """Build the `Reading`; raises UnstableReading etc. in subclasses that need it."""
        return Reading(
            value=float(frame.value),
            unit=frame.unit or self.params.unit or self.DEFAULT_UNIT,
            raw=line.decode("latin-1"),
            monotonic=at,
            wall=datetime.now(UTC),
        )

    def _send_request(self, data: bytes) -> None:
        stale = self.line.discard_input()
        if stale:
            log.warning("%s: dropped unread input before the request: %s", self.name, show(stale))
        self.line.write(data)
        self._request_pending = True


__all__ = ["LineDriver", "renamed"]
