"""`[station] timezone` (contract 1.1) and inputs fixed to an instrument the master data
lacks (issue 12.9), as `check-config` and `load_config` report them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from station.config import ConfigError, load_config, system_zone
from station.config_check import check_config_file
from tests.config.test_master import INSTRUMENT, with_

BASE = '[station]\nid = "bench-01"\nsite = "plant-a"\ndata_dir = "data"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "station.toml"
    path.write_text(text, "utf-8")
    return path


def test_timezone_is_parsed(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, BASE + 'timezone = "America/Chicago"\n'))
    assert str(cfg.station.timezone) == "America/Chicago"


@pytest.mark.parametrize("name", ["Mars/Olympus", "Europe/Berln", "../etc/passwd", "UTC+2"])
def test_a_bad_timezone_is_reported_with_file_key_and_value(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, BASE + f'timezone = "{name}"\n')
    expected = (
        f"{path}: station.timezone: must be an IANA time zone name such as "
        f'"Europe/Berlin" or "America/Chicago" (got "{name}")'
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [expected]
    assert check_config_file(path) == [expected]


def test_timezone_must_be_a_string(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "timezone = 2\n")
    assert check_config_file(path) == [f"{path}: station.timezone: must be a string (got 2)"]


@pytest.mark.parametrize("tz", ["America/Chicago", ":Asia/Tokyo", "Europe/Berlin"])
def test_default_timezone_is_the_system_zone_honouring_tz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tz: str
) -> None:
    monkeypatch.setenv("TZ", tz)
    cfg = load_config(write(tmp_path, BASE))
    assert str(cfg.station.timezone) == tz.lstrip(":")
    assert cfg.station.timezone == system_zone()


def test_an_unknown_tz_falls_back_to_the_machine_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TZ", raising=False)
    machine = system_zone()
    monkeypatch.setenv("TZ", "Nowhere/Atlantis")
    assert load_config(write(tmp_path, BASE)).station.timezone == machine


def _with_master(tmp_path: Path, inputs: str) -> Path:
    (tmp_path / "master").mkdir()
    (tmp_path / "master" / "cal.json").write_text(json.dumps(INSTRUMENT), "utf-8")
    text = BASE + '[master]\ndir = "master"\n' + inputs
    return write(tmp_path, text)


CALIPER = '[[inputs]]\nname = "left"\ndriver = "mitutoyo"\nport = "/dev/ttyUSB0"\n'
SCALE = '[[inputs]]\nname = "scale"\ndriver = "mtsics"\nport = "/dev/ttyUSB1"\n'


def test_an_input_fixed_to_an_unknown_instrument_is_reported(tmp_path: Path) -> None:
    path = _with_master(
        tmp_path, CALIPER + 'instrument = "CAL-0042"\n' + SCALE + 'instrument = "BAL-0003"\n'
    )
    assert check_config_file(path) == [
        f"{path}: inputs[1].instrument: no valid instrument with this id in the master data "
        f'folder "{tmp_path}/master" (got "BAL-0003")'
    ]
    load_config(path)  # the file itself is valid: the instrument may still come over MQTT


def test_an_input_fixed_to_a_known_instrument_is_fine(tmp_path: Path) -> None:
    assert check_config_file(_with_master(tmp_path, CALIPER + 'instrument = "CAL-0042"\n')) == []


def test_an_invalid_instrument_file_does_not_count_as_defining_it(tmp_path: Path) -> None:
    path = _with_master(tmp_path, CALIPER + 'instrument = "CAL-0042"\n')
    bad = with_(INSTRUMENT, "resolution", 10**400)
    (tmp_path / "master" / "cal.json").write_text(json.dumps(bad), "utf-8")
    lines = check_config_file(path)
    assert len(lines) == 2
    assert lines[0].startswith(f"{tmp_path}/master/cal.json: $.resolution: must be from 1e-12")
    assert lines[1].startswith(f"{path}: inputs[0].instrument: no valid instrument")


def test_without_a_master_folder_fixed_instruments_are_not_checked(tmp_path: Path) -> None:
    assert check_config_file(write(tmp_path, BASE + CALIPER + 'instrument = "BAL-0003"\n')) == []


def test_what_to_do_with_an_indeterminate_part_is_configured(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, BASE)).station.indeterminate == "remeasure"
    held = load_config(write(tmp_path, BASE + 'indeterminate = "hold"\n'))
    assert held.station.indeterminate == "hold"
    path = write(tmp_path, BASE + 'indeterminate = "ship"\n')
    [problem] = check_config_file(path)
    assert problem.startswith(f"{path}: station.indeterminate: ")
    assert '"remeasure"' in problem and '"hold"' in problem and '"ship"' in problem
