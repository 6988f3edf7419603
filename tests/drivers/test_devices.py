"""Driver and scanner factory (`station.devices`): contract driver names map to working classes."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from drivers.base import DeviceDisconnected, Driver, DriverError
from drivers.evdev_input import EvdevScanner, KeyboardDriver
from drivers.modbus import ModbusDriver
from drivers.params import AsciiParams, KeyboardParams, ModbusParams, MtsicsParams, SerialParams
from sim.modbus_instrument import ModbusInstrument
from station.devices import (
    DRIVER_CLASSES,
    Scanner,
    make_driver,
    make_scanner,
    open_driver,
    open_scanner,
)
from station.settings import DRIVER_NAMES, PARAMS_OF, DriverName, InputSettings, ScannerSettings


def test_every_contract_driver_name_is_mapped() -> None:
    assert set(DRIVER_CLASSES) == set(DRIVER_NAMES) == set(PARAMS_OF)


def test_settings_refuse_parameters_of_another_driver() -> None:
    with pytest.raises(TypeError, match="driver 'mitutoyo' takes SerialParams, got AsciiParams"):
        InputSettings("left", "mitutoyo", AsciiParams(port="/dev/ttyUSB0", pattern="(?P<value>.)"))
    with pytest.raises(TypeError, match="driver 'mtsics' takes MtsicsParams, got SerialParams"):
        InputSettings("scale", "mtsics", SerialParams(port="/dev/ttyUSB0"))
    assert (
        InputSettings("scale", "mtsics", MtsicsParams(port="/dev/ttyUSB0")).key("port")
        == "/dev/ttyUSB0"
    )


@pytest.mark.parametrize("name", ["mitutoyo", "sylvac", "mahr", "mtsics", "ascii"])
def test_serial_drivers_construct_without_opening(name: DriverName, tmp_path: Path) -> None:
    port = str(tmp_path / "ttyX")
    params = SerialParams(port=port)
    if name == "ascii":
        params = AsciiParams(port=port, pattern=r"^(?P<value>\d+)$")
    elif name == "mtsics":
        params = MtsicsParams(port=port)
    settings = InputSettings(name="left", driver=name, params=params)
    driver = make_driver(settings)
    assert isinstance(driver, Driver)
    assert type(driver).__name__ == DRIVER_CLASSES[name][1]
    assert driver.name == "left"
    driver.close()


def test_modbus_and_keyboard_classes() -> None:
    modbus = make_driver(InputSettings("t", "modbus", ModbusParams(url="tcp://127.0.0.1:1")))
    keyboard = make_driver(
        InputSettings("k", "keyboard", KeyboardParams(device="/dev/input/event3"))
    )
    assert isinstance(modbus, ModbusDriver)
    assert isinstance(keyboard, KeyboardDriver)


def test_unknown_driver_name_lists_the_known_ones() -> None:
    settings = InputSettings("x", cast(DriverName, "vernier"), SerialParams(port="/dev/ttyS0"))
    with pytest.raises(DriverError, match=r"input 'x': unknown driver 'vernier' \(expected one of"):
        make_driver(settings)


def test_open_driver_opens_and_reads() -> None:
    with ModbusInstrument(value=4.5) as sim:
        driver = open_driver(InputSettings("t", "modbus", ModbusParams(url=sim.url)))
        try:
            assert driver.read(2.0).value == 4.5
        finally:
            driver.close()


def test_open_driver_failure_names_the_input(tmp_path: Path) -> None:
    settings = InputSettings("left", "mitutoyo", SerialParams(port=str(tmp_path / "gone")))
    with pytest.raises(DeviceDisconnected, match="gone"):
        open_driver(settings)


def test_keyboard_scanner_kind_has_no_object() -> None:
    assert make_scanner(ScannerSettings(kind="keyboard")) is None
    assert open_scanner(ScannerSettings(kind="keyboard", port="/dev/ttyACM0")) is None


def test_evdev_scanner_kind() -> None:
    scanner = make_scanner(ScannerSettings(kind="evdev", port="/dev/input/event5"))
    assert isinstance(scanner, EvdevScanner)
    assert isinstance(scanner, Scanner)


def test_serial_scanner_kind(tmp_path: Path) -> None:
    scanner = make_scanner(ScannerSettings(kind="serial", port=str(tmp_path / "ttyACM0")))
    assert scanner is not None
    assert type(scanner).__name__ == "SerialScanner"
    assert isinstance(scanner, Scanner)


def test_open_scanner_failure_is_disconnected(tmp_path: Path) -> None:
    with pytest.raises(DeviceDisconnected, match="event42"):
        open_scanner(ScannerSettings(kind="evdev", port=str(tmp_path / "event42")))


def test_scanner_without_port() -> None:
    with pytest.raises(DriverError, match=r"\[scanner\] kind 'serial' needs port"):
        make_scanner(ScannerSettings(kind="serial"))
