"""The driver Protocol, the `Reading` value and the drivers' exception tree.

Every instrument driver implements `Driver`. Poll-mode devices are asked with `request()`;
push-mode devices send by themselves (data button, footswitch). Either way a value comes back
from `read()` as a `Reading`, or a `DriverError` is raised.

Exception tree (library errors are translated at the boundary with ``raise … from exc``)::

    DriverError                    any failure reading an instrument
    ├── DeviceDisconnected         port vanished / refused / errored; reopen with backoff
    ├── DeviceTimeout              no (complete) reply within the read timeout
    ├── ParseError                 bytes that are not a valid frame of the protocol
    │   └── ImplausibleValue       a well-formed frame whose value is NaN, inf or absurd
    └── DeviceStatusError          the device answered with a status/error code
        ├── DeviceBusy             transient (e.g. Mitutoyo 918): retry after ~50 ms
        ├── NoGauge                Mitutoyo 911: no gauge connected to the interface
        ├── UnstableReading        MT-SICS `S D`, Sylvac/Mahr not settled
        ├── OverloadError          MT-SICS `S +`, over range
        ├── UnderloadError         MT-SICS `S -`, under range
        └── CommandError           MT-SICS `ES`/`ET`/`EL`, `S I`, Sylvac `ERRn`, Modbus exceptions
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Reading:
    """One value as the instrument sent it.

    `raw` is the frame exactly as received (decoded as latin-1 so every byte survives, without
    the line terminator); `monotonic` is `time.monotonic()` and `wall` a UTC-aware datetime,
    both taken when the frame completed.

    `monotonic` is the *arrival* time of the read that carried the frame: frames that came in
    one read (a bounced footswitch sending the same frame twice within a few ms) carry the
    identical `monotonic`, frames from separate reads distinct ones. The bench debounces on
    it (same `raw`, arrival times closer than its debounce window).
    """

    value: float
    unit: str | None
    raw: str
    monotonic: float
    wall: datetime

    @property
    def monotonic_ns(self) -> int:
        """`monotonic` in integer nanoseconds (for exact comparisons and differences)."""
        return round(self.monotonic * 1_000_000_000)


class DriverError(Exception):
    """Any failure reading an instrument."""


class DeviceDisconnected(DriverError):
    """The port vanished, refused to open or errored; the driver reopens it with backoff."""


class DeviceTimeout(DriverError):
    """No complete reply arrived within the read timeout."""


class ParseError(DriverError):
    """The bytes received are not a valid frame of the protocol."""


class ImplausibleValue(ParseError):
    """A well-formed frame whose value is NaN, infinite or absurd; never clipped."""


class DeviceStatusError(DriverError):
    """The device answered with a status or error code instead of a value."""


class DeviceBusy(DeviceStatusError):
    """The device is busy; a retry after a short pause may succeed."""


class NoGauge(DeviceStatusError):
    """The interface reports that no gauge is connected."""


class UnstableReading(DeviceStatusError):
    """The value is not settled (e.g. MT-SICS dynamic `S D`)."""


class OverloadError(DeviceStatusError):
    """The value is over the instrument's range."""


class UnderloadError(DeviceStatusError):
    """The value is under the instrument's range."""


class CommandError(DeviceStatusError):
    """The device rejected or could not execute a command."""


@runtime_checkable
class Driver(Protocol):
    """What the station needs from any instrument driver."""

    name: str
    """The configured input name, used in messages."""

    def open(self) -> None:
        """Open the port or connection. Raises DeviceDisconnected when it cannot."""

    def close(self) -> None:
        """Close it; safe to call twice."""

    def request(self) -> None:
        """Ask a poll-mode device for a value (no-op for push-only devices)."""

    def read(self, timeout: float) -> Reading:
        """Return the next value within `timeout` seconds.

        Raises:
            DeviceTimeout: nothing complete arrived in time.
            DriverError: any other failure, as in the tree above.
        """
        ...


__all__ = [
    "CommandError",
    "DeviceBusy",
    "DeviceDisconnected",
    "DeviceStatusError",
    "DeviceTimeout",
    "Driver",
    "DriverError",
    "ImplausibleValue",
    "NoGauge",
    "OverloadError",
    "ParseError",
    "Reading",
    "UnderloadError",
    "UnstableReading",
]
