"""The device's systemd units pass `.ci/systemd-check`, and the check really catches problems.

`systemd-analyze verify` exits 0 on a misspelt key (it only warns), so the check fails on any
output; these tests prove that by feeding it broken copies of the units. systemd-analyze is a
hard requirement: `.ci/test` installs it (Debian package `systemd`); without it these tests
fail, they never skip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECK = REPO / ".ci" / "systemd-check"
SYNC_LIMIT = 2.5


def run_check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert shutil.which("systemd-analyze"), (
        "systemd-analyze is missing: install the Debian package `systemd` (bash .ci/test does)"
    )
    return subprocess.run(
        ["bash", str(CHECK), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "STATION_BIN": str(Path(sys.executable).parent / "station"),
            **(env or {}),
        },
        check=False,
    )


def exposure(output: str, unit: str) -> float:
    match = re.search(rf"exposure {re.escape(unit)}: (\d+\.\d+)", output)
    assert match, output
    return float(match.group(1))


@pytest.fixture
def units_copy(tmp_path: Path) -> Path:
    """A scratch copy of systemd/ to break."""
    dst = tmp_path / "systemd"
    shutil.copytree(REPO / "systemd", dst)
    return dst


def test_shipped_units_pass_the_check() -> None:
    result = run_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "systemd-check: PASS" in result.stdout
    for unit in ("station-sync.service", "station-bench@tty1.service"):
        assert f"verify {unit}: ok" in result.stdout
    sync = exposure(result.stdout, "station-sync.service")
    bench = exposure(result.stdout, "station-bench@tty1.service")
    assert sync <= SYNC_LIMIT
    # Reported figures (docs/operations.md quotes them): visible with `pytest -s`.
    print(f"exposure: station-sync.service {sync}, station-bench@tty1.service {bench}")


def test_a_misspelt_key_fails_although_verify_exits_0(units_copy: Path) -> None:
    unit = units_copy / "station-sync.service"
    text = unit.read_text()
    assert "\nWatchdogSec=" in text
    unit.write_text(text.replace("\nWatchdogSec=", "\nWatchDogSec="))
    result = run_check(str(units_copy))
    assert result.returncode == 1
    assert "Unknown key 'WatchDogSec'" in result.stderr
    assert "FAIL: systemd-analyze verify station-sync.service (exit 0" in result.stderr


def test_a_missing_exec_binary_fails(units_copy: Path) -> None:
    unit = units_copy / "station-bench@.service"
    text = unit.read_text()
    unit.write_text(text.replace("ExecStart=/opt/station/venv/bin/station", "ExecStart=/opt/x/st"))
    result = run_check(str(units_copy))
    assert result.returncode == 1
    assert "/opt/x/st is not executable" in result.stderr


def test_dropping_the_hardening_fails_the_exposure_limit(units_copy: Path) -> None:
    unit = units_copy / "station-sync.service"
    kept = [
        line
        for line in unit.read_text().splitlines()
        if not re.match(r"(Protect|Private|Restrict|SystemCall|Capability|NoNew)", line)
    ]
    unit.write_text("\n".join(kept) + "\n")
    result = run_check(str(units_copy))
    assert result.returncode == 1
    assert exposure(result.stdout, "station-sync.service") > SYNC_LIMIT
    assert re.search(r"station-sync.service exposure \d+\.\d+ is above 2\.5", result.stderr)


@pytest.mark.parametrize(
    ("line", "messages"),
    [
        ('SUBSYSTEM=="tty", SYMLINK+=station/oops', ["not a udev rule", "SYMLINK+=station/oops"]),
        ('SUBSYTEM=="tty", SYMLINK+="station/x"', ["unknown udev key SUBSYTEM"]),
    ],
    ids=["unquoted-value", "misspelt-key"],
)
def test_a_bad_udev_rule_fails(units_copy: Path, line: str, messages: list[str]) -> None:
    rules = units_copy / "99-station.rules"
    rules.write_text(rules.read_text() + line + "\n")
    result = run_check(str(units_copy))
    assert result.returncode == 1
    for message in messages:
        assert message in result.stderr


def test_the_check_says_what_is_missing_without_systemd_analyze(tmp_path: Path) -> None:
    # A PATH with bash and the few tools the script needs before its first check.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("bash", "dirname"):
        found = shutil.which(tool)
        assert found, tool
        (bindir / tool).symlink_to(found)
    result = subprocess.run(
        [str(bindir / "bash"), str(CHECK)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(bindir)},
        check=False,
    )
    assert result.returncode == 1
    assert "systemd-analyze is missing" in result.stderr
