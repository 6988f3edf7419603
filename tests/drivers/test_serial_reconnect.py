"""Unplug and replug: the simulator closes its pty and comes back behind the same link; the
driver reports DeviceDisconnected and resumes within 2 s of the device's return, in the same
process, reopening the port by path."""

from __future__ import annotations

import logging
import time

import pytest

from drivers.base import DeviceDisconnected, DeviceTimeout, Reading
from drivers.mitutoyo import MitutoyoDriver
from drivers.mtsics import MtsicsDriver
from drivers.params import SerialParams
from drivers.serial_line import BACKOFF_MAX_S
from sim.serial_gauge import SerialGaugeSim


def read_until_back(driver, sim, since: float, poll: bool) -> tuple[Reading, float]:
    """Keep asking (or pressing the button) until a value arrives; return it and the delay."""
    while True:
        assert time.monotonic() - since < 2.0, "no reading within 2 s of the replug"
        try:
            if poll:
                driver.request()
            else:
                sim.press_button()
            return driver.read(0.2), time.monotonic() - since
        except (DeviceDisconnected, DeviceTimeout):
            continue


def test_push_driver_survives_unplug_and_replug(gauge_sim, open_driver, caplog) -> None:
    caplog.set_level(logging.INFO, logger="drivers")
    sim = gauge_sim("mitutoyo", value="1.000")
    driver = open_driver(MitutoyoDriver, sim)
    sim.press_button()
    assert driver.read(2.0).value == 1.0

    sim.unplug()
    started = time.monotonic()
    with pytest.raises(DeviceDisconnected, match=r"left: .* disconnected while reading"):
        driver.read(2.0)
    assert time.monotonic() - started < 0.5  # reported at once, not after the timeout
    assert not driver.connected
    # While it is away, reads block for their timeout (no spinning) and say so.
    started = time.monotonic()
    with pytest.raises(DeviceDisconnected, match=r"still disconnected .*No such file"):
        driver.read(0.3)
    assert time.monotonic() - started >= 0.3
    outage_end = time.monotonic() + BACKOFF_MAX_S * 1.5  # long enough to reach the backoff cap
    while time.monotonic() < outage_end:
        with pytest.raises(DeviceDisconnected):
            driver.read(0.3)

    sim.value = "2.000"
    sim.replug()
    reading, delay = read_until_back(driver, sim, time.monotonic(), poll=False)
    assert reading.value == 2.0 and reading.raw == "01A+0002.000"
    assert delay < 2.0
    assert driver.connected
    assert "reopened" in caplog.text


def test_poll_driver_survives_unplug_and_replug(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mtsics", value="10.00")
    driver = open_driver(MtsicsDriver, sim, mode="poll")
    sim.unplug()
    with pytest.raises(
        DeviceDisconnected, match=r"disconnected while (flushing input|writing|reading)"
    ):
        driver.request()
        driver.read(1.0)
    with pytest.raises(DeviceDisconnected, match="is disconnected"):
        driver.request()
    sim.replug()
    reading, _ = read_until_back(driver, sim, time.monotonic(), poll=True)
    assert reading.raw == "S S      10.00 g"


def test_unplug_during_a_blocking_read(gauge_sim, open_driver) -> None:
    sim = gauge_sim("mitutoyo")
    driver = open_driver(MitutoyoDriver, sim)
    sim.send_raw(b"01A+00")  # half a frame, then the cable is pulled
    sim.flush()
    sim.unplug()
    with pytest.raises(DeviceDisconnected):
        driver.read(3.0)
    sim.replug()
    sim.value = "4.000"
    reading, _ = read_until_back(driver, sim, time.monotonic(), poll=False)
    assert reading.raw == "01A+0004.000"  # the half frame from before was not glued on


def test_device_absent_at_start_is_picked_up_later(tmp_path) -> None:
    sim = SerialGaugeSim("mitutoyo", tmp_path / "late", value="7.000")
    driver = MitutoyoDriver("late", SerialParams(port=sim.path))
    with pytest.raises(DeviceDisconnected, match=r"late: cannot open .* retrying with backoff"):
        driver.open()
    with sim:
        try:
            reading, _ = read_until_back(driver, sim, time.monotonic(), poll=False)
            assert reading.value == 7.0
        finally:
            driver.close()
