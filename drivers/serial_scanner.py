"""A barcode scanner in USB CDC-ACM ("USB COM") mode: one scan per line, raw.

In serial mode the scanner sends the raw byte stream: the AIM symbology identifier (``]d2``,
``]C1``, … when enabled), the data with GS (0x1D) for each separator FNC1, then the configured
suffix, commonly CR (GS1 General Specifications §5, scanner programming guides). `read_scan`
returns exactly that text minus the
terminator, AIM prefix and GS kept, so the scan parser (`station.core`) sees what was encoded.
Bytes are decoded as latin-1 so that every byte survives (GS1 data is ASCII anyway).

Baud settings are irrelevant for CDC but kept for real RS-232 scanners. Unplug/replug is
handled like the gauges (`drivers.serial_line`): `DeviceDisconnected` once, then reopen by
path with backoff.
"""

from __future__ import annotations

import time

from drivers.base import DeviceTimeout
from drivers.serial_line import LineParams, SerialLine

MAX_SCAN_BYTES = 8192
"""A QR code holds at most ~7000 numeric characters; anything longer is noise."""


class SerialScanner:
    """A serial barcode scanner: `open()`, then `read_scan(timeout)` per scan, `close()`."""

    def __init__(self, port: str, baudrate: int = 9600, *, name: str = "scanner") -> None:
        self.name = name
        self.line = SerialLine(
            name,
            port,
            LineParams(baudrate=baudrate, bytesize=8, parity="N", stopbits=1),
            max_line=MAX_SCAN_BYTES,
        )

    @property
    def connected(self) -> bool:
        """True while the port is open."""
        return self.line.connected

    def open(self) -> None:
        """Open the port. Raises DeviceDisconnected when it cannot (reads keep retrying)."""
        self.line.open()

    def close(self) -> None:
        """Close the port; safe to call twice."""
        self.line.close()

    def read_scan(self, timeout: float) -> str:
        """Return the next scan's text (terminator stripped, AIM prefix and GS kept).

        Raises:
            DeviceTimeout: no complete scan within `timeout` seconds.
            DeviceDisconnected: the scanner was unplugged (or is still away).
        """
        got = self.line.read_line(time.monotonic() + timeout)
        if got is None:
            raise DeviceTimeout(f"{self.name}: no scan within {timeout:g} s")
        return got[0].decode("latin-1")


__all__ = ["MAX_SCAN_BYTES", "SerialScanner"]
