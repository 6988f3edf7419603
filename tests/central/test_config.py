"""The central's TOML (contract station.md, "The central bridge"): read into frozen objects,
every problem listed at once in the station's `FILE: key.path: what (got VALUE)` style."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.central import central_config_problems, load_central_config
from station.central.config import ConfigError

CONTRACT_EXAMPLE = """
[central]
group = "qms"
sites = ["plant-a"]

[postgres]
dsn = "postgresql://qms@127.0.0.1:5432/qms"
password_file = "pg.pass"

[mqtt]
host = "127.0.0.1"
port = 1883

[master]
dir = "master"
"""


def test_the_contract_example_reads_with_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "central.toml"
    path.write_text(CONTRACT_EXAMPLE)
    cfg = load_central_config(path)
    assert cfg.central.group == "qms" and cfg.central.sites == ("plant-a",)
    assert cfg.postgres.dsn == "postgresql://qms@127.0.0.1:5432/qms"
    assert cfg.postgres.password_file == tmp_path / "pg.pass"  # relative to the file
    assert cfg.master_dir == tmp_path / "master"
    assert (cfg.mqtt.host, cfg.mqtt.port) == ("127.0.0.1", 1883)
    assert cfg.mqtt.client_id.startswith("central-")  # default: "central-" + host name
    assert cfg.central.session_expiry_s == 0


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    path = tmp_path / "central.toml"
    path.write_text(
        '[central]\nsites = ["plant-a", "+", 3]\nbatch_max = 0\ncolour = "red"\n'
        'answer_calibrations = "yes"\ntimezone = "Mars/Olympus"\n\n'
        '[postgres]\ndsn = "host=db password=x"\n\n'
        '[mqtt]\nhost = "mqtt://broker"\ntls_cert = "c.pem"\n\n[extra]\n'
    )
    with pytest.raises(ConfigError) as err:
        load_central_config(path)
    assert err.value.problems == [
        f'{path}: central.sites[2]: must be 1-64 characters of A-Z a-z 0-9 . _ -, or "+" for'
        " every site (got 3)",
        f'{path}: central.sites: "+" already serves every site: list it alone (got ["plant-a",'
        ' "+", 3])',
        f"{path}: central.batch_max: must be 1-10000 (got 0)",
        f'{path}: central.answer_calibrations: must be true or false (got "yes")',
        f'{path}: central.timezone: must be an IANA time zone name such as "Europe/Berlin" or'
        ' "America/Chicago" (got "Mars/Olympus")',
        f'{path}: central.colour: unknown key (got "red"); known keys: group, sites,'
        " batch_max, batch_window_s, session_expiry_s, answer_calibrations, timezone",
        f"{path}: postgres.dsn: must not hold a password: put it in postgres.password_file",
        f"{path}: mqtt.host: must be a host name or IP address (no scheme, path or spaces)"
        ' (got "mqtt://broker")',
        f"{path}: mqtt.tls_key: required with mqtt.tls_cert (client certificate and key go"
        " together)",
        f'{path}: mqtt.tls_cert: needs mqtt.tls_ca (TLS is turned on by tls_ca) (got "c.pem")',
        f'{path}: extra: unknown key (got a table); did you mean "central"?',
    ]


def test_missing_tables_and_syntax_errors_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "central.toml"
    path.write_text("[mqtt]\n")
    assert central_config_problems(path)[1] == [
        f"{path}: central: required table [central] is missing",
        f"{path}: postgres: required table [postgres] is missing",
    ]
    path.write_text("[central\n")
    assert central_config_problems(path)[1][0].startswith(f"{path}: line 1, column 9: invalid TOML")


def test_master_data_needs_named_sites(tmp_path: Path) -> None:
    path = tmp_path / "central.toml"
    path.write_text(CONTRACT_EXAMPLE.replace('["plant-a"]', '["+"]'))
    assert central_config_problems(path)[1] == [
        f"{path}: master.dir: needs central.sites to name the sites (a master topic has one,"
        ' never "+") (got "master")'
    ]
