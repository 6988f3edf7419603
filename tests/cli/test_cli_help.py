"""Every command exists, has help, and its help carries an example (contract: station.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from station.cli import main

COMMANDS = ["demo", "bench", "sync", "check-config", "read", "verify", "status"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_contract_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    assert f"station {command}" in result.output


def test_config_option_reads_station_config_env(tmp_path: object) -> None:
    result = CliRunner().invoke(main, ["status", "--help"])
    assert "STATION_CONFIG" in result.output


def test_installed_console_script_starts() -> None:
    # The console script, not CliRunner: proves the entry point in pyproject is wired.
    bindir = __import__("pathlib").Path(sys.executable).parent
    out = subprocess.run(
        [str(bindir / "station"), "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("station, version ")
