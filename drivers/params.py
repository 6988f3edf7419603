"""What each driver family is given: one frozen parameter type per family, no station types.

The config parser (`station.config`) builds the right one for each `[[inputs]]` entry and
`station.settings.InputSettings` carries it; a driver takes its own type (plus the input's
name, for messages), so it can be read and tested without the station. The field names are
the contract's `[[inputs]]` keys (`docs/contract/station.md`); a line setting left at None
means "the driver's default" (each protocol module states its vendor's default line).

A type says what an entry *can* hold, so a driver does not re-check it: a serial gauge has a
port, an ascii device a pattern, a Modbus input is always polled, a keyboard always pushes.
What a type cannot say (a pattern that compiles, a URL that parses) the driver still checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

DriverName = Literal["mitutoyo", "sylvac", "mahr", "mtsics", "ascii", "modbus", "keyboard"]
InputMode = Literal["push", "poll"]
Parity = Literal["N", "E", "O", "M", "S"]  # pyserial's PARITY_* letters
RegisterType = Literal["holding", "input"]
DataType = Literal["int16", "uint16", "int32", "uint32", "float32"]
WordOrder = Literal["big", "little"]

DRIVER_NAMES: tuple[DriverName, ...] = get_args(DriverName)

DEFAULT_TIMEOUT_S = 1.0
"""Extension: seconds to wait for a reply to a request / for a frame to complete."""


@dataclass(frozen=True, kw_only=True)
class SerialParams:
    """A line-oriented serial gauge: drivers "mitutoyo", "sylvac" and "mahr"."""

    port: str  # a device path or a pyserial URL (socket://, rfc2217://, loop://)
    baudrate: int | None = None
    bytesize: int | None = None
    parity: Parity | None = None
    stopbits: float | None = None
    mode: InputMode = "push"
    timeout_s: float = DEFAULT_TIMEOUT_S
    unit: str | None = None  # the unit when the frame carries none


@dataclass(frozen=True, kw_only=True)
class AsciiParams(SerialParams):
    """Driver "ascii": a serial line read with a regular expression."""

    pattern: str  # with a named group "value", optionally "unit" (`drivers.ascii_line`)
    request: str | None = None  # sent in poll mode, exactly as configured (latin-1)


@dataclass(frozen=True, kw_only=True)
class MtsicsParams(SerialParams):
    """Driver "mtsics": a Mettler Toledo balance on a serial line."""

    accept_dynamic: bool = False  # extension: take `S D` (not settled) weights as values


@dataclass(frozen=True, kw_only=True)
class ModbusParams:
    """Driver "modbus": one register of a Modbus TCP (`url`) or RTU (`port`) unit.

    Exactly one of `url` and `port` is set (the config parser refuses both and neither; the
    driver names the input if a hand-built one has neither). Modbus is request/response, so
    the mode is always "poll".
    """

    url: str | None = None  # tcp://host:port
    port: str | None = None  # RTU: a serial device path or pyserial URL
    baudrate: int | None = None
    bytesize: int | None = None
    parity: Parity | None = None
    stopbits: float | None = None
    unit_id: int = 1
    register: int = 0
    register_type: RegisterType = "holding"
    data_type: DataType = "float32"
    word_order: WordOrder = "big"
    scale: float = 1.0
    mode: Literal["poll"] = "poll"
    timeout_s: float = DEFAULT_TIMEOUT_S
    unit: str | None = None


@dataclass(frozen=True, kw_only=True)
class KeyboardParams:
    """Driver "keyboard": a gauge interface that types numbers on an evdev device.

    A keyboard only sends, so the mode is always "push" (`timeout_s` is the station's wait
    for a polled read, which never happens here; kept so that every input has one).
    """

    device: str  # /dev/input/by-id/...-event-kbd
    mode: Literal["push"] = "push"
    timeout_s: float = DEFAULT_TIMEOUT_S
    unit: str | None = None


DriverParams = SerialParams | AsciiParams | MtsicsParams | ModbusParams | KeyboardParams
"""Any family's parameters: the union an input carries, tagged by the input's driver name
(`station.settings.PARAMS_OF` says which type each name takes)."""


__all__ = [
    "DEFAULT_TIMEOUT_S",
    "DRIVER_NAMES",
    "AsciiParams",
    "DataType",
    "DriverName",
    "DriverParams",
    "InputMode",
    "KeyboardParams",
    "ModbusParams",
    "MtsicsParams",
    "Parity",
    "RegisterType",
    "SerialParams",
    "WordOrder",
]
