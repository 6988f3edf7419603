"""The simulators' command lines, as a demo uses them: a gauge served until `q`, driven from
stdin, and read by the real driver in this process; the scanner fed from stdin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from drivers.mitutoyo import MitutoyoDriver
from drivers.params import SerialParams
from drivers.serial_scanner import SerialScanner


def start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    banner = proc.stdout.readline()  # readiness: the simulator prints once it serves
    return proc, banner


def stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            stream.close()


def send(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def test_gauge_cli_serves_button_presses_and_values(tmp_path: Path) -> None:
    link = tmp_path / "caliper"
    proc, banner = start(["sim.serial_gauge", "mitutoyo", "--link", str(link), "--value", "12.346"])
    try:
        assert banner.startswith("mitutoyo gauge on /dev/pts/")
        assert f"via {link}" in banner
        driver = MitutoyoDriver("cli", SerialParams(port=str(link)))
        driver.open()
        try:
            send(proc, "p")
            assert driver.read(5.0).raw == "01A+0012.346"
            send(proc, "v -1.5")
            send(proc, "p")
            assert driver.read(5.0).value == -1.5
        finally:
            driver.close()
        send(proc, "q")
        assert proc.wait(timeout=10) == 0
        assert not link.exists()
    finally:
        stop(proc)


def test_scanner_cli_turns_gs_markers_into_gs(tmp_path: Path) -> None:
    link = tmp_path / "scanner"
    proc, banner = start(["sim.scanner", "--link", str(link)])
    try:
        assert "scanner on /dev/pts/" in banner
        scanner = SerialScanner(str(link))
        scanner.open()
        try:
            send(proc, "]C10109521234543213<GS>10LOT7")
            assert scanner.read_scan(5.0) == "]C10109521234543213\x1d10LOT7"
        finally:
            scanner.close()
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
    finally:
        stop(proc)
