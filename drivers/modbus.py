"""Modbus TCP and RTU instruments through pymodbus 3.16 synchronous clients.

Modbus is poll-only: `request()` is a no-op and `read(timeout)` performs one register read
(function 0x03 "read holding registers" or 0x04 "read input registers", Modbus Application
Protocol Specification V1.1b3 §6.3/§6.4) and decodes it (`decode_registers`).

Design decisions that matter on a shop floor:

* **retries=0.** pymodbus retries a silent request `retries` times (default 3), each waiting
  the full timeout, while it holds the client's lock. On a shared RTU bus that would stall
  every other unit for 4 x timeout behind one switched-off instrument. With retries=0 a
  silent unit costs exactly one `timeout_s`; the caller decides whether to ask again.
* **One client per RTU port, one per TCP input.** A serial port can be opened once
  (pymodbus opens it with `exclusive=True`), so inputs on the same RS-485 bus share one
  client, serialised by a lock: a silent unit delays the others by at most its own timeout.
  TCP inputs each get their own connection, so a silent unit id behind a gateway does not
  delay the others at all.
* **Reconnect with capped backoff.** A refused/closed connection raises `DeviceDisconnected`
  and schedules the next attempt 0.25 s later, doubling up to 5 s. A `read()` during the
  backoff waits for the next attempt if it fits in its timeout, else fails fast without
  touching the network.
* **Half-open TCP.** After 3 timeouts in a row a TCP input drops its connection and the next
  read reconnects: after a gateway or switch reboot the old connection may never answer.
* **Word order.** Modbus fixes the byte order inside a register (big-endian) but not the
  order of registers in a 32-bit value (Modbus Application Protocol v1.1b3 §4.2 and vendors' 32-bit
  register maps): "big" = ABCD (high word first),
  "little" = CDAB (word swap, e.g. Vaisala). Decoding uses `struct` directly so that it does
  not depend on pymodbus' `convert_from_registers`, whose semantics changed across 3.x.
* **Float32 without binary noise.** A float32 register holding 50.123 decodes to
  50.12300109863281; the value recorded is the shortest decimal that is the same float32
  (50.123, what the instrument displays), and `scale` is applied in exact decimal arithmetic
  (`drivers.float32`). `raw` keeps the registers exactly as received.
"""

from __future__ import annotations

import logging
import math
import os
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast
from urllib.parse import urlsplit

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ExceptionResponse, ModbusPDU

from drivers.base import (
    CommandError,
    DeviceBusy,
    DeviceDisconnected,
    DeviceTimeout,
    DriverError,
    ImplausibleValue,
    ParseError,
    Reading,
)
from drivers.float32 import scaled, shortest_decimal
from drivers.params import DataType, ModbusParams, WordOrder
from drivers.serial_line import LineParams, resolve_line

# Every pymodbus failure becomes a DriverError with full context; without a handler the
# library's own error lines would reach Python's last-resort stderr handler and duplicate
# (less precisely) what the caller already reports. Configured handlers still receive them.
logging.getLogger("pymodbus").addHandler(logging.NullHandler())

TCP_DEFAULT_PORT = 502
RTU_LINE = LineParams(baudrate=19200, bytesize=8, parity="N", stopbits=1)
RECONNECT_MIN_S = 0.25
RECONNECT_MAX_S = 5.0
TCP_TIMEOUTS_BEFORE_RECONNECT = 3

# (struct format of the value, number of 16-bit registers)
_LAYOUT: dict[DataType, tuple[str, int]] = {
    "int16": (">h", 1),
    "uint16": (">H", 1),
    "int32": (">i", 2),
    "uint32": (">I", 2),
    "float32": (">f", 2),
}

# Modbus Application Protocol Specification V1.1b3 §7 (exception codes).
EXCEPTION_NAMES = {
    0x01: "illegal function",
    0x02: "illegal data address",
    0x03: "illegal data value",
    0x04: "server device failure",
    0x05: "acknowledge",
    0x06: "server device busy",
    0x07: "negative acknowledge",
    0x08: "memory parity error",
    0x0A: "gateway path unavailable",
    0x0B: "gateway target device failed to respond",
}


def register_count(data_type: DataType) -> int:
    """How many 16-bit registers a value of `data_type` occupies."""
    return _LAYOUT[data_type][1]


def decode_registers(
    registers: Sequence[int], data_type: DataType, word_order: WordOrder = "big"
) -> int | float:
    """Decode registers as the wire carried them into one number.

    "big" = ABCD: register N holds the high word. "little" = CDAB: register N holds the low
    word. Bytes inside each register are always big-endian (Modbus spec §4.2).

    Raises:
        ParseError: the number of registers does not fit `data_type`.
    """
    fmt, count = _LAYOUT[data_type]
    if len(registers) != count:
        raise ParseError(f"{data_type} needs {count} registers, got {len(registers)}")
    words = list(registers) if word_order == "big" else list(reversed(registers))
    number: int | float = struct.unpack(fmt, struct.pack(f">{count}H", *words))[0]
    return number


def format_registers(registers: Sequence[int]) -> str:
    """The `raw` text of a Modbus reading: registers as hex words, "0x4145 0x8106"."""
    return " ".join(map("0x{:04X}".format, registers))


@dataclass
class _Link:
    """One pymodbus client and what all inputs using it share: a lock and the backoff."""

    key: str
    client: ModbusTcpClient | ModbusSerialClient
    line: LineParams | None  # None for TCP
    lock: threading.Lock
    users: int = 0
    timeouts: int = 0  # consecutive, on this link
    delay_s: float = 0.0
    next_attempt: float = 0.0
    last_error: str = ""

    def failed(self, reason: str) -> float:
        """Close the client and schedule the next connection attempt; return the delay."""
        self.client.close()  # type: ignore[no-untyped-call]
        self.delay_s = min(max(self.delay_s * 2, RECONNECT_MIN_S), RECONNECT_MAX_S)
        self.next_attempt = time.monotonic() + self.delay_s
        self.last_error = reason
        return self.delay_s

    def succeeded(self) -> None:
        self.delay_s = 0.0
        self.next_attempt = 0.0
        self.last_error = ""


_links: dict[str, _Link] = {}
_links_lock = threading.Lock()


class ModbusDriver:
    """A Modbus register (holding or input) read as one value, scaled, in `params.unit`."""

    def __init__(self, name: str, params: ModbusParams) -> None:
        self.name = name
        self.params = params
        self._tcp: tuple[str, int] | None = None
        if params.url is not None:
            self._tcp = _parse_tcp_url(name, params.url)
            self.where = params.url
        elif params.port is not None:
            self.where = params.port
        else:
            raise DriverError(
                f"input {name!r}: modbus needs url = 'tcp://host:port' "
                "or port = serial device for RTU (got neither)"
            )
        self.function = (
            "read_holding_registers"
            if params.register_type == "holding"
            else "read_input_registers"
        )
        self.count = register_count(params.data_type)
        self._link: _Link | None = None

    # -- Driver protocol -------------------------------------------------------------------

    def open(self) -> None:
        """Attach to the connection (shared per RTU port) and connect.

        Raises:
            DeviceDisconnected: the server refused or the port cannot be opened (the next
                `read()` retries after the backoff).
        """
        if self._link is None:
            self._link = self._attach()
        link = self._link
        with link.lock:
            if link.client.connected:
                return
            link.client.comm_params.timeout_connect = self.params.timeout_s
            if not link.client.connect():
                reason = self._why_not_connected()
                link.failed(reason)
                raise DeviceDisconnected(f"{self._context()}: {reason}")
            link.succeeded()

    def close(self) -> None:
        """Detach; the client closes when its last input detaches. Safe to call twice."""
        link, self._link = self._link, None
        if link is None:
            return
        with _links_lock:
            link.users -= 1
            if link.users <= 0:
                _links.pop(link.key, None)
                with link.lock:
                    link.client.close()  # type: ignore[no-untyped-call]

    def request(self) -> None:
        """No-op: the register read in `read()` is the request (Modbus is poll-only)."""

    def read(self, timeout: float) -> Reading:
        """Read the register(s) now, waiting at most min(`timeout`, params.timeout_s).

        Raises:
            DeviceTimeout: the unit did not answer in time.
            DeviceDisconnected: connection refused, closed or in reconnect backoff.
            CommandError / DeviceBusy: the unit answered with a Modbus exception code.
            ImplausibleValue: a float32 that is NaN or infinite.
            ParseError: a malformed or mismatched answer.
        """
        link = self._link
        if link is None:
            raise DriverError(f"{self._context()}: read() before open()")
        deadline = time.monotonic() + timeout
        self._wait_backoff(link, deadline)
        with link.lock:
            # A floor keeps a zero budget from turning into a failed non-blocking connect.
            wait = max(0.01, min(deadline - time.monotonic(), self.params.timeout_s))
            link.client.comm_params.timeout_connect = wait
            if not link.client.connected and not link.client.connect():
                reason = self._why_not_connected()
                delay = link.failed(reason)
                raise DeviceDisconnected(
                    f"{self._context()}: {reason}; next attempt in {delay:.2f} s"
                )
            try:
                response = self._execute(link)
            except ConnectionException as exc:
                delay = link.failed(_reason(exc))
                raise DeviceDisconnected(
                    f"{self._context()}: {self._call()}: disconnected ({_reason(exc)}); "
                    f"next attempt in {delay:.2f} s"
                ) from exc
            except ModbusIOException as exc:
                if "No response received" in exc.string:
                    self._timed_out(link)
                    raise DeviceTimeout(
                        f"{self._context()}: {self._call()}: no answer within {wait:.3g} s"
                    ) from exc
                raise ParseError(f"{self._context()}: {self._call()}: {_reason(exc)}") from exc
            except ModbusException as exc:
                raise DriverError(f"{self._context()}: {self._call()}: {_reason(exc)}") from exc
            except OSError as exc:  # pyserial/termios errors pymodbus lets through
                delay = link.failed(str(exc))
                raise DeviceDisconnected(
                    f"{self._context()}: {self._call()}: {exc}; next attempt in {delay:.2f} s"
                ) from exc
            link.succeeded()
            link.timeouts = 0
        return self._to_reading(response)

    @property
    def reconnect_delay_s(self) -> float:
        """Current backoff after connection failures (0 while connected)."""
        return 0.0 if self._link is None else self._link.delay_s

    # -- internals -------------------------------------------------------------------------

    def _context(self) -> str:
        return f"input {self.name!r} ({self.where}, unit {self.params.unit_id})"

    def _call(self) -> str:
        return f"{self.function}(address={self.params.register}, count={self.count})"

    def _timed_out(self, link: _Link) -> None:
        """After TCP_TIMEOUTS_BEFORE_RECONNECT timeouts in a row, drop the TCP connection.

        A TCP connection can stay half-open for hours after a switch or gateway reboot: sends
        succeed into the void and every read times out. A fresh connection costs one
        handshake, so the next read reconnects (without backoff: nothing refused us).
        """
        link.timeouts += 1
        if self._tcp is not None and link.timeouts >= TCP_TIMEOUTS_BEFORE_RECONNECT:
            link.client.close()  # type: ignore[no-untyped-call]
            link.timeouts = 0

    def _why_not_connected(self) -> str:
        """pymodbus only logs why connect() failed; say what a technician can check."""
        if self._tcp is not None:
            return (
                f"cannot connect to {self.where} (refused, unreachable or no answer "
                f"within {self.params.timeout_s:g} s)"
            )
        if "://" not in self.where:
            if not os.path.exists(self.where):
                return f"cannot open {self.where}: no such device (unplugged?)"
            if not os.access(self.where, os.R_OK | os.W_OK):
                return f"cannot open {self.where}: permission denied (needs the dialout group)"
        return f"cannot open {self.where} (in use by another program, or not a serial port)"

    def _attach(self) -> _Link:
        s = self.params
        with _links_lock:
            if self._tcp is not None:
                host, port = self._tcp
                # A TCP link per input: a silent unit id must not hold up the others.
                key = f"tcp:{id(self)}"
                client: ModbusTcpClient | ModbusSerialClient = ModbusTcpClient(
                    host, port=port, timeout=s.timeout_s, retries=0, name=self.name
                )
                link = _Link(key, client, None, threading.Lock())
                _links[key] = link
            else:
                key = f"rtu:{self.where}"
                line = resolve_line(s, RTU_LINE)
                existing = _links.get(key)
                if existing is not None:
                    assert existing.line is not None  # an "rtu:" link always has its line
                    if existing.line != line:
                        raise DriverError(
                            f"{self._context()}: line settings {line.describe()} differ from "
                            f"{existing.line.describe()} already used on {self.where} "
                            "(inputs on one RTU bus must share baudrate/bytesize/parity/stopbits)"
                        )
                    link = existing
                else:
                    client = ModbusSerialClient(
                        self.where,
                        framer=FramerType.RTU,
                        baudrate=line.baudrate,
                        bytesize=line.bytesize,
                        parity=line.parity,
                        # pyserial accepts 1, 1.5 and 2; pymodbus only annotates int.
                        stopbits=cast(int, line.stopbits),
                        timeout=s.timeout_s,
                        retries=0,
                        name=self.name,
                    )
                    link = _Link(key, client, line, threading.Lock())
                    _links[key] = link
            link.users += 1
            return link

    def _wait_backoff(self, link: _Link, deadline: float) -> None:
        wait = link.next_attempt - time.monotonic()
        if wait <= 0:
            return
        if time.monotonic() + wait > deadline:
            raise DeviceDisconnected(
                f"{self._context()}: not connected ({link.last_error}); "
                f"next attempt in {wait:.2f} s"
            )
        time.sleep(wait)

    def _execute(self, link: _Link) -> ModbusPDU:
        s = self.params
        if s.register_type == "holding":
            return link.client.read_holding_registers(
                s.register, count=self.count, device_id=s.unit_id
            )
        return link.client.read_input_registers(s.register, count=self.count, device_id=s.unit_id)

    def _to_reading(self, response: ModbusPDU) -> Reading:
        monotonic = time.monotonic()
        wall = datetime.now(UTC)
        if response.isError():
            code = response.exception_code if isinstance(response, ExceptionResponse) else -1
            what = EXCEPTION_NAMES.get(code, "unknown exception")
            error = DeviceBusy if code == 0x06 else CommandError
            raise error(
                f"{self._context()}: {self._call()}: Modbus exception 0x{code:02X} ({what})"
            )
        registers = list(response.registers)
        raw = format_registers(registers)
        try:
            number = decode_registers(registers, self.params.data_type, self.params.word_order)
        except ParseError as exc:
            raise ParseError(f"{self._context()}: {self._call()}: {exc} ({raw})") from None
        value = _value(number, self.params.scale)
        if not math.isfinite(value):
            raise ImplausibleValue(
                f"{self._context()}: {self._call()}: {self.params.data_type} "
                f"{self.params.word_order} registers {raw} decode to {number} "
                "(not a measurement)"
            )
        return Reading(value=value, unit=self.params.unit, raw=raw, monotonic=monotonic, wall=wall)


def _value(number: int | float, scale: float) -> float:
    """The measured value: a float32 as the shortest decimal that is the same float32 (what
    the instrument's display shows, `drivers.float32`), times `scale` in exact decimal."""
    if isinstance(number, float):
        if not math.isfinite(number):
            return number  # NaN/inf: rejected by the caller as ImplausibleValue
        return scaled(shortest_decimal(number), scale)
    return scaled(number, scale)


def _parse_tcp_url(name: str, url: str) -> tuple[str, int]:
    """`tcp://host:port` → (host, port); the port defaults to 502 (Modbus/TCP)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme != "tcp" or not parts.hostname or port == -1 or parts.path not in ("", "/"):
        raise DriverError(f"input {name!r}: url must look like 'tcp://host:port' (got {url!r})")
    return parts.hostname, port if port is not None else TCP_DEFAULT_PORT


def _reason(exc: ModbusException) -> str:
    """pymodbus messages without their "Modbus Error: [Connection]" prefix."""
    text = exc.string
    for prefix in ("[Connection] ", "[Input/Output] "):
        text = text.removeprefix(prefix)
    return text


__all__ = [
    "EXCEPTION_NAMES",
    "RECONNECT_MAX_S",
    "RECONNECT_MIN_S",
    "TCP_TIMEOUTS_BEFORE_RECONNECT",
    "ModbusDriver",
    "decode_registers",
    "format_registers",
    "register_count",
]
