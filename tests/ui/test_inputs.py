"""The input reader threads against real pty simulators: values, errors, unplug, stop."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.net import wait_until
from sim.scanner import ScannerSim
from sim.serial_gauge import SerialGaugeSim
from station.bench.inputs import (
    InputEvent,
    InputLink,
    InputProblem,
    InputReader,
    InputValue,
    ScannerReader,
    ScanValue,
)
from station.settings import InputSettings, MtsicsParams, ScannerSettings, SerialParams


class Events:
    """The reader's callback: a queue the test waits on with a deadline."""

    def __init__(self) -> None:
        self.q: queue.Queue[InputEvent] = queue.Queue()

    def __call__(self, event: InputEvent) -> None:
        self.q.put(event)

    def next(self, kind: type, timeout: float = 5.0) -> InputEvent:
        """The next event of type `kind` (others are skipped)."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind.__name__} within {timeout} s")
            try:
                ev = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if isinstance(ev, kind):
                return ev


@pytest.fixture
def gauge(tmp_path: Path) -> Iterator[SerialGaugeSim]:
    sim = SerialGaugeSim("mitutoyo", tmp_path / "caliper", value="12.346")
    sim.start()
    yield sim
    sim.stop()


def test_push_values_arrive_and_unplug_is_reported_then_recovered(gauge: SerialGaugeSim) -> None:
    events = Events()
    reader = InputReader(InputSettings("caliper", "mitutoyo", SerialParams(port=gauge.path)))
    reader.start(events)
    try:
        assert events.next(InputLink) == InputLink("caliper", "connected")
        gauge.press_button()
        ev = events.next(InputValue)
        assert isinstance(ev, InputValue) and ev.input == "caliper"
        assert (ev.reading.value, ev.reading.raw) == (12.346, "01A+0012.346")
        gauge.unplug()
        lost = events.next(InputLink)
        assert isinstance(lost, InputLink) and lost.state == "disconnected"
        assert "caliper" in lost.detail
        gauge.replug()
        assert events.next(InputLink) == InputLink("caliper", "connected")
        gauge.value = "7.5"
        gauge.press_button()
        ev = events.next(InputValue)
        assert isinstance(ev, InputValue) and ev.reading.value == 7.5
    finally:
        assert reader.stop()
    assert not reader.running


def test_garbage_is_skipped_and_a_status_code_is_reported(gauge: SerialGaugeSim) -> None:
    events = Events()
    reader = InputReader(InputSettings("caliper", "mitutoyo", SerialParams(port=gauge.path)))
    reader.start(events)
    try:
        events.next(InputLink)
        gauge.send_raw(b"911\r")  # USB-ITN: no gauge connected
        problem = events.next(InputProblem)
        assert isinstance(problem, InputProblem) and problem.kind == "NoGauge"
        assert "status 911" in problem.message
        gauge.send_garbage()  # skipped by the driver: the next good frame still counts
        gauge.press_button()
        assert isinstance(events.next(InputValue), InputValue)
    finally:
        reader.stop()


def test_poll_sends_a_request_only_when_asked_and_reports_silence(tmp_path: Path) -> None:
    balance = SerialGaugeSim("mtsics", tmp_path / "balance", value="85.41", unit="g")
    balance.start()
    events = Events()
    settings = InputSettings(
        "balance", "mtsics", MtsicsParams(port=balance.path, mode="poll", timeout_s=0.3)
    )
    reader = InputReader(settings)
    reader.start(events)
    try:
        events.next(InputLink)
        time.sleep(0.3)  # a quiet interval (nothing to wait for): no request unless asked
        assert balance.requests == []
        reader.request()
        ev = events.next(InputValue)
        assert isinstance(ev, InputValue) and (ev.reading.value, ev.reading.unit) == (85.41, "g")
        assert balance.requests == [b"S"]
        balance.silent = True
        reader.request()
        problem = events.next(InputProblem)
        assert isinstance(problem, InputProblem) and problem.kind == "DeviceTimeout"
        t0 = time.monotonic()
        reader.request()
        balance.wait_for_requests(3)
        assert reader.stop()  # mid-request: returns within the read timeout
        assert time.monotonic() - t0 < 2.0
    finally:
        reader.stop()
        balance.stop()


def test_a_missing_port_is_retried_until_it_appears(tmp_path: Path) -> None:
    link = tmp_path / "late"
    events = Events()
    reader = InputReader(InputSettings("late", "mitutoyo", SerialParams(port=str(link))))
    reader.start(events)
    sim = SerialGaugeSim("mitutoyo", link, value="1.000")
    try:
        down = events.next(InputLink)
        assert isinstance(down, InputLink) and down.state == "disconnected"
        sim.start()
        assert events.next(InputLink) == InputLink("late", "connected")
        sim.press_button()
        assert isinstance(events.next(InputValue), InputValue)
    finally:
        reader.stop()
        sim.stop()


def test_a_config_the_driver_cannot_use_fails_once_without_retrying() -> None:
    events = Events()
    reader = InputReader(InputSettings("nowhere", "mitutoyo", SerialParams(port="")))  # no port
    reader.start(events)
    failed = events.next(InputLink)
    assert isinstance(failed, InputLink) and failed.state == "failed"
    assert "needs a port" in failed.detail
    wait_until("the reader thread ends by itself", lambda: not reader.running, 2.0)
    assert events.q.empty()  # no retry, no further link event


def test_serial_scanner_scans_become_scan_values(tmp_path: Path) -> None:
    sim = ScannerSim(tmp_path / "scanner")
    sim.start()
    events = Events()
    reader = ScannerReader(ScannerSettings(kind="serial", port=sim.path))
    reader.start(events)
    try:
        assert events.next(InputLink) == InputLink("scanner", "connected")
        sim.scan("]C10109506000134352" + "21SN-1\x1d10L42")
        ev = events.next(ScanValue)
        assert ev == ScanValue("scanner", "]C10109506000134352" + "21SN-1\x1d10L42")
    finally:
        reader.stop()
        sim.stop()
