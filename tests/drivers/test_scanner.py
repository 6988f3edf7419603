"""The serial (CDC-ACM) barcode scanner against the pty scanner simulator: raw scans with AIM
prefix and GS kept, suffixes, partial scans, unplug/replug."""

from __future__ import annotations

import contextlib
import time

import pytest

from drivers.base import DeviceDisconnected, DeviceTimeout
from drivers.serial_scanner import SerialScanner

# GS1 General Specifications §7.8 (element strings, FNC1/GS) example + serial
GS1 = "]d201095212345432131725010110ABC123\x1d21XYZ"


@pytest.fixture
def scanner(scanner_sim):
    def make(**kw):
        sim = scanner_sim(**kw)
        reader = SerialScanner(sim.path)
        reader.open()
        return sim, reader

    made = []

    def factory(**kw):
        pair = make(**kw)
        made.append(pair[1])
        return pair

    yield factory
    for reader in made:
        reader.close()


def test_gs1_scan_is_returned_raw(scanner) -> None:
    sim, reader = scanner()
    sim.scan(GS1)
    sim.scan("PN-4711")
    assert reader.read_scan(2.0) == GS1
    assert reader.read_scan(2.0) == "PN-4711"


def test_crlf_suffix_gives_one_scan(scanner) -> None:
    sim, reader = scanner(suffix=b"\r\n")
    sim.scan("A1")
    sim.scan("B2")
    assert [reader.read_scan(2.0), reader.read_scan(2.0)] == ["A1", "B2"]
    with pytest.raises(DeviceTimeout, match=r"scanner: no scan within 0.1 s"):
        reader.read_scan(0.1)


def test_partial_scan_is_completed_across_reads(scanner) -> None:
    sim, reader = scanner()
    sim.send_raw(b"]C1010952")
    with pytest.raises(DeviceTimeout):
        reader.read_scan(0.1)
    sim.send_raw(b"1234543213\r")
    assert reader.read_scan(2.0) == "]C10109521234543213"


def test_scanner_unplug_and_replug(scanner) -> None:
    sim, reader = scanner()
    sim.unplug()
    with pytest.raises(DeviceDisconnected, match=r"scanner: .* disconnected"):
        reader.read_scan(1.0)
    sim.replug()
    back = time.monotonic()
    while True:
        assert time.monotonic() - back < 2.0
        with contextlib.suppress(DeviceTimeout, DeviceDisconnected):
            reader.read_scan(0.05)  # lets the reader reopen
        if reader.connected:
            break
    sim.scan("BADGE-7")
    assert reader.read_scan(2.0) == "BADGE-7"
