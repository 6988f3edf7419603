"""Every command exists, has help, and its help carries an example (contract: station.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from station.cli import main

COMMANDS = [
    *("demo", "bench", "sync", "check-config", "read", "verify", "status", "export"),
    *("pin-hash", "central"),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_contract_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output or "Examples:" in result.output
    assert f"station {command}" in result.output


def test_config_option_reads_station_config_env(tmp_path: Path) -> None:
    assert "STATION_CONFIG" in CliRunner().invoke(main, ["status", "--help"]).output
    cfg = tmp_path / "station.toml"
    cfg.write_text('[station]\nid = "b1"\nsite = "s1"\ndata_dir = "nowhere"\n')
    result = CliRunner().invoke(main, ["verify"], env={"STATION_CONFIG": str(cfg)})
    assert result.exit_code == 1, result.output
    assert f"(station.data_dir in {cfg})" in result.output


def test_without_config_option_or_env_the_command_says_what_is_missing() -> None:
    result = CliRunner().invoke(main, ["status"], env={"STATION_CONFIG": None})
    assert result.exit_code == 2
    assert "Missing option '-c' / '--config'" in result.output


def test_installed_console_script_starts() -> None:
    # The console script, not CliRunner: proves the entry point in pyproject is wired.
    bindir = Path(sys.executable).parent
    out = subprocess.run(
        [str(bindir / "station"), "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("station, version ")


def test_verify_refuses_a_missing_store_instead_of_creating_an_empty_one(tmp_path: Path) -> None:
    cfg = tmp_path / "station.toml"
    cfg.write_text('[station]\nid = "b1"\nsite = "s1"\ndata_dir = "nowhere"\n')
    result = CliRunner().invoke(main, ["verify", "-c", str(cfg)])
    assert result.exit_code == 1
    assert "no record store at" in result.output
    assert "only `station bench` and `station sync` create one" in result.output
    assert not (tmp_path / "nowhere").exists()
    assert not (tmp_path / "nowhere").exists()
