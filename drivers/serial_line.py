"""A reconnecting, line-oriented serial port: what every serial gauge driver and the serial
scanner stand on.

Shop-floor facts it is built for (pyserial 3.5 docs, the vendors' default line settings):

* ports are opened with `serial.serial_for_url`, so a config may name a device path, a pty,
  ``socket://host:port`` or ``loop://``; the path is reopened by name each time, so a
  ``/dev/serial/by-id/…`` symlink recreated by udev on replug (or a simulator's link) is
  followed to the new device;
* an unplugged USB adapter makes the fd readable with no data, and pyserial raises
  `SerialException`; the port is then closed at once (never spun on), `DeviceDisconnected` is
  raised by the read or write that met the failure, and later calls reopen with capped
  exponential backoff (`BACKOFF_INITIAL_S` doubling up to `BACKOFF_MAX_S`);
* frames arrive in pieces: a partial line is kept across reads, and overlong garbage is
  dropped up to the next terminator with the rejected bytes logged (`LineBuffer`).

Not thread-safe: one owner (the input's worker) calls it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import serial

from drivers.base import DeviceDisconnected, DeviceTimeout, DriverError
from drivers.frames import MAX_LINE_BYTES, LineBuffer, show
from drivers.params import ModbusParams, SerialParams

log = logging.getLogger(__name__)

BACKOFF_INITIAL_S = 0.05
BACKOFF_MAX_S = 1.0
"""Capped at 1 s: a replugged gauge is read again within ~1 s, and one failed open() per
second costs nothing on a Pi."""

POLL_S = 0.05
"""Granularity of a blocking read: a read(timeout) may overrun its deadline by this much."""

WRITE_TIMEOUT_S = 1.0


class InvalidSettings(DriverError, ValueError):
    """Input settings a driver cannot use (bad URL, empty port, bad pattern). A `DriverError`
    so that `station read` and the factory report it like any driver failure, and a
    `ValueError` because it is bad input, not a device problem: it is never retried."""


@dataclass(frozen=True)
class LineParams:
    """Serial line settings (ignored by ptys, sockets and loop://)."""

    baudrate: int
    bytesize: int
    parity: str
    stopbits: float

    def describe(self) -> str:
        """Like ``9600 8N1``."""
        stop = int(self.stopbits) if self.stopbits == int(self.stopbits) else self.stopbits
        return f"{self.baudrate} {self.bytesize}{self.parity}{stop}"


def resolve_line(params: SerialParams | ModbusParams, default: LineParams) -> LineParams:
    """The configured line settings, each one falling back to the driver's default."""
    return LineParams(
        baudrate=params.baudrate if params.baudrate is not None else default.baudrate,
        bytesize=params.bytesize if params.bytesize is not None else default.bytesize,
        parity=params.parity if params.parity is not None else default.parity,
        stopbits=params.stopbits if params.stopbits is not None else default.stopbits,
    )


class SerialLine:
    """A serial port read as CR/LF-terminated lines, reopened by path after a failure.

    States: closed (before `open()` / after `close()`: reads raise `DeviceDisconnected`
    without reopening), open, and lost (after a failure: reads and writes reopen with backoff).
    """

    def __init__(
        self,
        name: str,
        url: str,
        params: LineParams,
        *,
        max_line: int = MAX_LINE_BYTES,
        backoff_initial_s: float = BACKOFF_INITIAL_S,
        backoff_max_s: float = BACKOFF_MAX_S,
    ) -> None:
        self.name = name
        self.url = url
        self.params = params
        # Validate the URL scheme now: a typo is a config error, not a disconnect to retry.
        try:
            self._make_port()
        except (ValueError, serial.SerialException) as exc:
            raise InvalidSettings(f"{name}: invalid port {url!r}: {exc}") from exc
        self._port: Any = None
        self._buffer = LineBuffer(max_line)
        self._lines: deque[tuple[bytes, float]] = deque()
        self._wanted_open = False
        self._backoff_initial = backoff_initial_s
        self._backoff_max = backoff_max_s
        self._delay = backoff_initial_s
        self._next_attempt = 0.0
        self._last_error = ""
        self._failed_since_open = False
        self.received = 0
        """Bytes received since construction (lets a caller tell silence from noise)."""

    def _make_port(self) -> Any:
        stop = self.params.stopbits
        return serial.serial_for_url(
            self.url,
            do_not_open=True,
            baudrate=self.params.baudrate,
            bytesize=self.params.bytesize,
            parity=self.params.parity,
            stopbits=int(stop) if stop == int(stop) else stop,
            timeout=POLL_S,
            write_timeout=WRITE_TIMEOUT_S,
            exclusive=True,  # advisory flock: a second station process cannot steal frames
        )

    @property
    def connected(self) -> bool:
        """True while the port is open and has not failed."""
        return self._port is not None

    @property
    def waiting(self) -> int:
        """Bytes the OS has received and nobody has read yet (0 while not open)."""
        if self._port is None:
            return 0
        try:
            return int(self._port.in_waiting)
        except (serial.SerialException, OSError):
            return 0

    @property
    def pending(self) -> bytes:
        """The partial line received so far (bytes without a terminator yet)."""
        return self._buffer.pending

    def open(self) -> None:
        """Open the port now.

        Raises:
            DeviceDisconnected: it cannot be opened; later reads keep retrying with backoff.
        """
        self._wanted_open = True
        if self._port is None:
            self._attempt_open(raise_on_failure=True)

    def close(self) -> None:
        """Close the port; safe to call twice. Reads no longer reopen it."""
        self._wanted_open = False
        self._drop_port()
        self._discard_buffers("closing")

    def write(self, data: bytes) -> None:
        """Send bytes (a request). Reopens first if the port was lost and a retry is due.

        Raises:
            DeviceDisconnected: the port is (still) unavailable or failed while writing.
            DeviceTimeout: the device did not accept the bytes within the write timeout.
        """
        port = self._port
        if port is None:
            port = self._reopen_if_due()
        try:
            port.write(data)
        except serial.SerialTimeoutException as exc:
            raise DeviceTimeout(
                f"{self.name}: writing {show(data)} to {self.url} timed out"
            ) from exc
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc, "writing") from exc

    def discard_input(self) -> bytes:
        """Drop buffered lines, the partial line and bytes waiting in the OS; return them.

        Used before a poll request so that a stale reply cannot answer the new request.
        """
        dropped = b"".join(line + b"\r" for line, _ in self._lines) + self._buffer.clear()
        self._lines.clear()
        if self._port is not None:
            try:
                waiting = self._port.in_waiting
                if waiting:
                    dropped += self._port.read(waiting)
            except (serial.SerialException, OSError) as exc:
                raise self._lost(exc, "flushing input") from exc
        return dropped

    def read_line(self, deadline: float) -> tuple[bytes, float] | None:
        """Return the next complete line (without terminator) and the monotonic time it
        completed, or None when `deadline` (a `time.monotonic()` value) passes first.

        Raises:
            DeviceDisconnected: the port failed now (raised once per failure, the fd is closed),
                or it is still unavailable when the deadline passes.
        """
        while True:
            if self._lines:
                return self._lines.popleft()
            if time.monotonic() >= deadline:
                return None
            port = self._port if self._port is not None else self._wait_reopen(deadline)
            try:
                chunk = port.read(1)
                waiting = port.in_waiting if chunk else 0
                if waiting:
                    chunk += port.read(waiting)
            except (serial.SerialException, OSError) as exc:
                raise self._lost(exc, "reading") from exc
            if chunk:
                self._take(chunk, time.monotonic())

    def _take(self, chunk: bytes, at: float) -> None:
        self.received += len(chunk)
        lines, rejected = self._buffer.feed(chunk)
        for junk in rejected:
            log.warning(
                "%s: dropped %s: no line terminator within %d bytes",
                self.name,
                show(junk),
                self._buffer.max_line,
            )
        self._lines.extend((line, at) for line in lines)

    # --- connection state -------------------------------------------------------------------

    def _attempt_open(self, *, raise_on_failure: bool) -> bool:
        port = self._make_port()
        try:
            port.open()
        except (serial.SerialException, OSError) as exc:
            self._last_error = str(exc)
            self._failed_since_open = True
            self._next_attempt = time.monotonic() + self._delay
            self._delay = min(self._delay * 2, self._backoff_max)
            if raise_on_failure:
                raise DeviceDisconnected(
                    f"{self.name}: cannot open {self.url} ({exc}); retrying with backoff"
                ) from exc
            return False
        self._port = port
        self._delay = self._backoff_initial
        self._last_error = ""
        if self._failed_since_open:
            self._failed_since_open = False
            log.info("%s: reopened %s", self.name, self.url)
        return True

    def _reopen_if_due(self) -> Any:
        """Reopen before a write: wait for the next backoff slot (at most `BACKOFF_MAX_S`, so
        a caller retrying requests in a loop cannot spin), try once, raise if it failed."""
        if not self._wanted_open:
            raise DeviceDisconnected(f"{self.name}: {self.url} is closed")
        time.sleep(max(0.0, self._next_attempt - time.monotonic()))
        if self._attempt_open(raise_on_failure=False):
            return self._port
        raise DeviceDisconnected(f"{self.name}: {self.url} is disconnected ({self._last_error})")

    def _wait_reopen(self, deadline: float) -> Any:
        """Retry opening at the backoff times until it works or `deadline` passes."""
        if not self._wanted_open:
            raise DeviceDisconnected(f"{self.name}: {self.url} is closed")
        while True:
            now = time.monotonic()
            if now >= self._next_attempt and self._attempt_open(raise_on_failure=False):
                return self._port
            if now >= deadline:
                raise DeviceDisconnected(
                    f"{self.name}: {self.url} is still disconnected ({self._last_error})"
                )
            time.sleep(max(0.0, min(self._next_attempt, deadline) - now))

    def _lost(self, exc: BaseException, doing: str) -> DeviceDisconnected:
        """Close the failed port, arm the backoff, and build the exception to raise once."""
        self._drop_port()
        self._discard_buffers("port lost")
        self._failed_since_open = True
        self._last_error = str(exc)
        self._delay = self._backoff_initial
        self._next_attempt = time.monotonic() + self._delay
        log.warning("%s: %s failed while %s: %s", self.name, self.url, doing, exc)
        return DeviceDisconnected(
            f"{self.name}: {self.url} disconnected while {doing} ({exc}); reopening with backoff"
        )

    def _drop_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError) as exc:
                log.debug("%s: closing %s: %s", self.name, self.url, exc)

    def _discard_buffers(self, why: str) -> None:
        dropped = b"".join(line + b"\r" for line, _ in self._lines) + self._buffer.clear()
        self._lines.clear()
        if dropped:
            log.warning("%s: %s, discarded unread %s", self.name, why, show(dropped))


__all__ = [
    "BACKOFF_INITIAL_S",
    "BACKOFF_MAX_S",
    "POLL_S",
    "InvalidSettings",
    "LineParams",
    "SerialLine",
    "resolve_line",
]
