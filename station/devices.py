"""Build the driver or scanner a config entry names: the one place config meets drivers.

Contract driver names map to classes here (`DRIVER_CLASSES`); each class takes the input's
name and its family's parameters (`drivers.params`), which `station.config` already built, so
nothing is translated here. Driver modules are imported by path only when an input uses them:
a station with one Modbus torque wrench never imports pyserial-based gauge code, and
`drivers.evdev_input` (Linux input devices) is imported only for "keyboard" inputs and evdev
scanners.
"""

from __future__ import annotations

import importlib
from typing import Protocol, runtime_checkable

from drivers.base import Driver, DriverError
from station.settings import DriverName, InputSettings, ScannerSettings

# Contract driver name -> (module, class). Every class takes `__init__(name, params)` with
# `params` of the type `station.settings.PARAMS_OF` names for it.
DRIVER_CLASSES: dict[DriverName, tuple[str, str]] = {
    "mitutoyo": ("drivers.mitutoyo", "MitutoyoDriver"),
    "sylvac": ("drivers.sylvac", "SylvacDriver"),
    "mahr": ("drivers.mahr", "MahrDriver"),
    "mtsics": ("drivers.mtsics", "MtsicsDriver"),
    "ascii": ("drivers.ascii_line", "AsciiDriver"),
    "modbus": ("drivers.modbus", "ModbusDriver"),
    "keyboard": ("drivers.evdev_input", "KeyboardDriver"),
}


@runtime_checkable
class Scanner(Protocol):
    """A barcode scanner the station reads itself (serial/CDC-ACM or a grabbed evdev device).

    A keyboard-wedge scanner that is *not* grabbed types into the UI and has no object.
    """

    def open(self) -> None:
        """Open the port or device. Raises DeviceDisconnected when it cannot."""

    def close(self) -> None:
        """Close it; safe to call twice."""

    def read_scan(self, timeout: float) -> str:
        """The next scan's text without its suffix (GS1 separators kept as '\\x1d').

        Raises:
            DeviceTimeout: nothing scanned within `timeout`.
            DriverError: any other failure.
        """
        ...


def _load(module: str, attr: str) -> type:
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise DriverError(f"driver class {module}.{attr} is not available: {exc}") from exc
    if not isinstance(cls, type):
        raise DriverError(f"{module}.{attr} is not a class")
    return cls


def make_driver(settings: InputSettings) -> Driver:
    """The driver for one `[[inputs]]` entry, constructed but not opened.

    Raises:
        DriverError: unknown driver name, or parameters the driver cannot use (named).
    """
    entry = DRIVER_CLASSES.get(settings.driver)
    if entry is None:
        known = ", ".join(DRIVER_CLASSES)
        raise DriverError(
            f"input {settings.name!r}: unknown driver {settings.driver!r} (expected one of {known})"
        )
    driver = _load(*entry)(settings.name, settings.params)
    if not isinstance(driver, Driver):
        raise DriverError(f"{entry[0]}.{entry[1]} does not implement drivers.base.Driver")
    return driver


def open_driver(settings: InputSettings) -> Driver:
    """`make_driver()` then `open()`; the driver is closed again if opening fails.

    Raises:
        DeviceDisconnected: the port/connection cannot be opened (the message says why).
        DriverError: as `make_driver()`.
    """
    driver = make_driver(settings)
    try:
        driver.open()
    except BaseException:
        driver.close()
        raise
    return driver


def make_scanner(settings: ScannerSettings) -> Scanner | None:
    """The scanner `[scanner]` describes, not opened; None for kind "keyboard" (typed into
    the UI).

    Raises:
        DriverError: serial/evdev without `port`, or an unknown kind.
    """
    if settings.kind == "keyboard":
        return None
    if settings.port is None:
        raise DriverError(f"[scanner] kind {settings.kind!r} needs port = device path (got none)")
    scanner: object
    if settings.kind == "evdev":
        scanner = _load("drivers.evdev_input", "EvdevScanner")(settings.port)
    elif settings.kind == "serial":
        scanner = _load("drivers.serial_scanner", "SerialScanner")(settings.port, settings.baudrate)
    else:
        raise DriverError(
            f"[scanner] unknown kind {settings.kind!r} (expected keyboard, serial or evdev)"
        )
    if not isinstance(scanner, Scanner):
        raise DriverError(f"[scanner] {type(scanner).__name__} does not implement Scanner")
    return scanner


def open_scanner(settings: ScannerSettings) -> Scanner | None:
    """`make_scanner()` then `open()` (closed again if opening fails); None for "keyboard"."""
    scanner = make_scanner(settings)
    if scanner is None:
        return None
    try:
        scanner.open()
    except BaseException:
        scanner.close()
        raise
    return scanner


__all__ = [
    "DRIVER_CLASSES",
    "Scanner",
    "make_driver",
    "make_scanner",
    "open_driver",
    "open_scanner",
]
