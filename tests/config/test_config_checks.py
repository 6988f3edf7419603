"""Every config check, table-driven, with the exact line a technician reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from station.config import ConfigError, load_config
from station.config_check import check_config_file

STATION = Path(sys.executable).parent / "station"
BASE = '[station]\nid = "bench-01"\nsite = "plant-a"\ndata_dir = "data"\n'
NAME_RULE = "must be 1-64 characters of A-Z a-z 0-9 . _ -"
BAUDS = "300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200"
DRIVERS = '"mitutoyo", "sylvac", "mahr", "mtsics", "ascii", "modbus", "keyboard"'
SERIAL = '"mitutoyo", "sylvac", "mahr", "mtsics", "ascii", "modbus"'


def inp(body: str) -> str:
    """BASE plus one [[inputs]] table."""
    return BASE + "[[inputs]]\n" + body


def station(body: str) -> str:
    return f"[station]\n{body}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "station.toml"
    path.write_text(text, "utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    """The problem lines of `text`, without the `FILE: ` prefix every line must carry."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    prefix = f"{path}: "
    assert all(line.startswith(prefix) for line in info.value.problems), info.value.problems
    assert str(info.value) == "\n".join(info.value.problems)
    return [line.removeprefix(prefix) for line in info.value.problems]


CASES: list[tuple[str, str, list[str]]] = [
    # --- [station]
    ("no station table", "", ["station: required table [station] is missing"]),
    ("station not a table", "station = 1\n", ["station: must be a table ([station]) (got 1)"]),
    (
        "id with a space",
        station('id = "bench 01"\nsite = "a"\ndata_dir = "d"'),
        [f'station.id: {NAME_RULE} (got "bench 01")'],
    ),
    (
        "id ending in a newline",
        station('id = "bench-01\\n"\nsite = "a"\ndata_dir = "d"'),
        [f'station.id: {NAME_RULE} (got "bench-01\\n")'],
    ),
    (
        "id too long",
        station(f'id = "{"x" * 65}"\nsite = "a"\ndata_dir = "d"'),
        [f'station.id: {NAME_RULE} (got "{"x" * 65}")'],
    ),
    (
        "site and data_dir missing",
        station('id = "b"'),
        ["station.site: required key is missing", "station.data_dir: required key is missing"],
    ),
    (
        "id not a string",
        station('id = 7\nsite = "a"\ndata_dir = "d"'),
        ["station.id: must be a string (got 7)"],
    ),
    (
        "empty data_dir",
        station('id = "b"\nsite = "a"\ndata_dir = ""'),
        ['station.data_dir: must not be empty (got "")'],
    ),
    (
        "budget zero",
        BASE + "storage_budget_mb = 0\n",
        ["station.storage_budget_mb: must be greater than 0 (got 0)"],
    ),
    (
        "budget as a string",
        BASE + 'storage_budget_mb = "512"\n',
        ['station.storage_budget_mb: must be a number (got "512")'],
    ),
    (
        "budget is a bool, not a number",
        BASE + "storage_budget_mb = true\n",
        ["station.storage_budget_mb: must be a number (got true)"],
    ),
    (
        "budget nan",
        BASE + "storage_budget_mb = nan\n",
        ["station.storage_budget_mb: must be a finite number (got nan)"],
    ),
    (
        "retention zero",
        BASE + "retention_days = 0\n",
        ["station.retention_days: must be 1-36500 (got 0)"],
    ),
    (
        "retention fractional",
        BASE + "retention_days = 1.5\n",
        ["station.retention_days: must be an integer (got 1.5)"],
    ),
    (
        "unknown station key",
        BASE + 'side = "x"\n',
        ['station.side: unknown key (got "x"); did you mean "site"?'],
    ),
    (
        "unknown top-level table",
        BASE + '[mqqt]\nhost = "x"\n',
        ['mqqt: unknown key (got a table); did you mean "mqtt"?'],
    ),
    (
        "unknown key without a near match lists the known ones",
        "zzz = 1\n" + BASE,
        [
            "zzz: unknown key (got 1); known keys: station, mqtt, master, scanner, inputs, "
            "signatures, interlock"
        ],
    ),
    # --- [mqtt]
    (
        "misspelt host",
        BASE + '[mqtt]\nhots = "x"\n',
        ['mqtt.hots: unknown key (got "x"); did you mean "host"?'],
    ),
    (
        "host with a scheme",
        BASE + '[mqtt]\nhost = "mqtt://broker"\n',
        [
            "mqtt.host: must be a host name or IP address (no scheme, path or spaces)"
            ' (got "mqtt://broker")'
        ],
    ),
    ("port zero", BASE + "[mqtt]\nport = 0\n", ["mqtt.port: must be 1-65535 (got 0)"]),
    ("port too big", BASE + "[mqtt]\nport = 65536\n", ["mqtt.port: must be 1-65535 (got 65536)"]),
    ("port bool", BASE + "[mqtt]\nport = true\n", ["mqtt.port: must be an integer (got true)"]),
    (
        "ack typo",
        BASE + '[mqtt]\nack = "borker"\n',
        ['mqtt.ack: must be "central" or "broker" (got "borker")'],
    ),
    (
        "resend zero",
        BASE + "[mqtt]\nresend_after_s = 0\n",
        ["mqtt.resend_after_s: must be greater than 0 (got 0)"],
    ),
    (
        "client id with a slash",
        BASE + '[mqtt]\nclient_id = "a/b"\n',
        [f'mqtt.client_id: {NAME_RULE} (got "a/b")'],
    ),
    (
        "empty username",
        BASE + '[mqtt]\nusername = ""\n',
        ['mqtt.username: must not be empty (got "")'],
    ),
    (
        "password file without username",
        BASE + '[mqtt]\npassword_file = "pass"\n',
        ['mqtt.password_file: needs mqtt.username (got "pass")'],
    ),
    (
        "password file not a string",
        BASE + '[mqtt]\nusername = "u"\npassword_file = 5\n',
        ["mqtt.password_file: must be a string (got 5)"],
    ),
    (
        "client cert without key",
        BASE + '[mqtt]\ntls_ca = "ca.pem"\ntls_cert = "c.pem"\n',
        ["mqtt.tls_key: required with mqtt.tls_cert (client certificate and key go together)"],
    ),
    (
        "client key without cert",
        BASE + '[mqtt]\ntls_ca = "ca.pem"\ntls_key = "k.pem"\n',
        ["mqtt.tls_cert: required with mqtt.tls_key (client certificate and key go together)"],
    ),
    (
        "client cert and key without a CA",
        BASE + '[mqtt]\ntls_cert = "c.pem"\ntls_key = "k.pem"\n',
        [
            'mqtt.tls_cert: needs mqtt.tls_ca (TLS is turned on by tls_ca) (got "c.pem")',
            'mqtt.tls_key: needs mqtt.tls_ca (TLS is turned on by tls_ca) (got "k.pem")',
        ],
    ),
    (
        "keepalive zero",
        BASE + "[mqtt]\nkeepalive_s = 0\n",
        ["mqtt.keepalive_s: must be 1-65535 (got 0)"],
    ),
    (
        "inflight window zero",
        BASE + "[mqtt]\ninflight_window = 0\n",
        ["mqtt.inflight_window: must be 1-65535 (got 0)"],
    ),
    (
        "max rate",
        BASE + "[mqtt]\nmax_rate = -1\n",
        ["mqtt.max_rate: must be greater than 0 (got -1)"],
    ),
    (
        "max master bytes",
        BASE + "[mqtt]\nmax_master_bytes = 0\n",
        ["mqtt.max_master_bytes: must be 1-268435455 (got 0)"],
    ),
    # --- [master], [scanner]
    ("master dir type", BASE + "[master]\ndir = 1\n", ["master.dir: must be a string (got 1)"]),
    (
        "master unknown key",
        BASE + '[master]\ndirectory = "m"\n',
        ['master.directory: unknown key (got "m"); known keys: dir'],
    ),
    (
        "scanner kind",
        BASE + '[scanner]\nkind = "usb"\n',
        ['scanner.kind: must be one of "keyboard", "serial", "evdev" (got "usb")'],
    ),
    (
        "serial scanner without port",
        BASE + '[scanner]\nkind = "serial"\n',
        ["scanner.port: required key is missing"],
    ),
    (
        "evdev scanner without port",
        BASE + '[scanner]\nkind = "evdev"\n',
        ["scanner.port: required key is missing"],
    ),
    (
        "evdev scanner with a relative node",
        BASE + '[scanner]\nkind = "evdev"\nport = "event3"\n',
        ['scanner.port: must be an evdev device path (/dev/input/...) (got "event3")'],
    ),
    (
        "serial scanner baudrate",
        BASE + '[scanner]\nkind = "serial"\nport = "/dev/ttyACM0"\nbaudrate = 9601\n',
        [f"scanner.baudrate: must be one of {BAUDS} (got 9601)"],
    ),
    (
        "baudrate on a scanner without kind (keyboard by default)",
        BASE + "[scanner]\nbaudrate = 9600\n",
        ['scanner.baudrate: only for kind "serial", not "keyboard" (got 9600)'],
    ),
    (
        "baudrate on a keyboard scanner",
        BASE + '[scanner]\nkind = "keyboard"\nbaudrate = 9600\n',
        ['scanner.baudrate: only for kind "serial", not "keyboard" (got 9600)'],
    ),
    # --- [[inputs]] common keys
    (
        "inputs as a single table",
        BASE + '[inputs]\nname = "x"\n',
        ["inputs: must be an array of tables ([[inputs]]) (got a table)"],
    ),
    (
        "inputs item not a table",
        "inputs = [1]\n" + BASE,
        ["inputs[0]: must be a table ([[inputs]]) (got 1)"],
    ),
    (
        "name and driver missing",
        inp('port = "/dev/ttyUSB0"\n'),
        ["inputs[0].name: required key is missing", "inputs[0].driver: required key is missing"],
    ),
    (
        "driver typo",
        inp('name = "l"\ndriver = "mitutoyu"\n'),
        [f'inputs[0].driver: must be one of {DRIVERS} (got "mitutoyu")'],
    ),
    (
        "input name not topic-safe",
        inp('name = "left gauge"\ndriver = "mitutoyo"\nport = "/dev/ttyUSB0"\n'),
        [f'inputs[0].name: {NAME_RULE} (got "left gauge")'],
    ),
    (
        "mode typo",
        inp('name = "l"\ndriver = "mitutoyo"\nport = "/dev/ttyUSB0"\nmode = "pull"\n'),
        ['inputs[0].mode: must be "push" or "poll" (got "pull")'],
    ),
    (
        "instrument id",
        inp('name = "l"\ndriver = "mitutoyo"\nport = "/dev/ttyUSB0"\ninstrument = "CAL 42"\n'),
        [f'inputs[0].instrument: {NAME_RULE} (got "CAL 42")'],
    ),
    (
        "timeout zero",
        inp('name = "l"\ndriver = "mitutoyo"\nport = "/dev/ttyUSB0"\ntimeout_s = 0\n'),
        ["inputs[0].timeout_s: must be greater than 0 (got 0)"],
    ),
    (
        "misspelt input key",
        inp('name = "l"\ndriver = "mitutoyo"\nport = "/dev/ttyUSB0"\nbaud = 9600\n'),
        ['inputs[0].baud: unknown key (got 9600); did you mean "baudrate"?'],
    ),
    # --- serial line
    (
        "serial driver without port",
        inp('name = "l"\ndriver = "sylvac"\n'),
        ["inputs[0].port: required key is missing"],
    ),
    (
        "windows port name",
        inp('name = "l"\ndriver = "mahr"\nport = "COM3"\n'),
        [
            "inputs[0].port: must be a device path (/dev/...) or a pyserial URL "
            '(socket://host:port, rfc2217://host:port, loop://) (got "COM3")'
        ],
    ),
    (
        "socket URL without a port",
        inp('name = "l"\ndriver = "mahr"\nport = "socket://localhost"\n'),
        [
            "inputs[0].port: must be a device path (/dev/...) or a pyserial URL "
            '(socket://host:port, rfc2217://host:port, loop://) (got "socket://localhost")'
        ],
    ),
    (
        "socket URL port out of range",
        inp('name = "l"\ndriver = "mahr"\nport = "socket://localhost:70000"\n'),
        ['inputs[0].port: TCP port in the URL must be 1-65535 (got "socket://localhost:70000")'],
    ),
    (
        "baudrate not standard",
        inp('name = "l"\ndriver = "mitutoyo"\nport = "/dev/ttyUSB0"\nbaudrate = 9601\n'),
        [f"inputs[0].baudrate: must be one of {BAUDS} (got 9601)"],
    ),
    (
        "baudrate as a float",
        inp('name = "l"\ndriver = "mitutoyo"\nport = "/dev/ttyUSB0"\nbaudrate = 9600.0\n'),
        [f"inputs[0].baudrate: must be one of {BAUDS} (got 9600.0)"],
    ),
    (
        "bytesize",
        inp('name = "l"\ndriver = "mitutoyo"\nport = "/dev/ttyUSB0"\nbytesize = 9\n'),
        ["inputs[0].bytesize: must be one of 5, 6, 7, 8 (got 9)"],
    ),
    (
        "parity lower case",
        inp('name = "l"\ndriver = "sylvac"\nport = "/dev/ttyUSB0"\nparity = "e"\n'),
        ['inputs[0].parity: must be one of "N", "E", "O", "M", "S" (got "e")'],
    ),
    (
        "stopbits",
        inp('name = "l"\ndriver = "sylvac"\nport = "/dev/ttyUSB0"\nstopbits = 3\n'),
        ["inputs[0].stopbits: must be 1, 1.5 or 2 (got 3)"],
    ),
    # --- driver-specific keys
    (
        "pattern on a non-ascii driver",
        inp('name = "l"\ndriver = "mitutoyo"\nport = "/dev/ttyUSB0"\npattern = "(?P<value>.*)"\n'),
        ['inputs[0].pattern: only for driver "ascii", not "mitutoyo" (got "(?P<value>.*)")'],
    ),
    (
        "ascii without pattern",
        inp('name = "l"\ndriver = "ascii"\nport = "/dev/ttyUSB0"\n'),
        ["inputs[0].pattern: required key is missing"],
    ),
    (
        "ascii pattern does not compile",
        inp('name = "l"\ndriver = "ascii"\nport = "/dev/ttyUSB0"\npattern = "(?P<value>\\\\d+"\n'),
        [
            "inputs[0].pattern: not a valid regular expression: missing ), unterminated "
            'subpattern at position 0 (got "(?P<value>\\\\d+")'
        ],
    ),
    (
        "ascii pattern without value group",
        inp('name = "l"\ndriver = "ascii"\nport = "/dev/ttyUSB0"\npattern = \'\\d+\'\n'),
        ['inputs[0].pattern: must have a named group (?P<value>...) for the number (got "\\\\d+")'],
    ),
    (
        "ascii poll without request",
        inp(
            'name = "l"\ndriver = "ascii"\nport = "/dev/ttyUSB0"\nmode = "poll"\n'
            "pattern = '(?P<value>.+)'\n"
        ),
        ['inputs[0].request: required when mode = "poll" (it is sent to ask for a value)'],
    ),
    (
        "accept_dynamic as a string",
        inp('name = "b"\ndriver = "mtsics"\nport = "/dev/ttyUSB0"\naccept_dynamic = "yes"\n'),
        ['inputs[0].accept_dynamic: must be true or false (got "yes")'],
    ),
    (
        "accept_dynamic on another driver",
        inp('name = "b"\ndriver = "mahr"\nport = "/dev/ttyUSB0"\naccept_dynamic = true\n'),
        ['inputs[0].accept_dynamic: only for driver "mtsics", not "mahr" (got true)'],
    ),
    (
        "modbus key on a serial gauge",
        inp('name = "l"\ndriver = "mitutoyo"\nport = "/dev/ttyUSB0"\nunit_id = 1\n'),
        ['inputs[0].unit_id: only for driver "modbus", not "mitutoyo" (got 1)'],
    ),
    # --- modbus
    (
        "modbus with url and port",
        inp('name = "t"\ndriver = "modbus"\nurl = "tcp://h:502"\nport = "/dev/ttyUSB1"\n'),
        ['inputs[0].port: modbus takes url (TCP) or port (RTU), not both (got "/dev/ttyUSB1")'],
    ),
    (
        "modbus with neither",
        inp('name = "t"\ndriver = "modbus"\n'),
        ["inputs[0].url: required key is missing (or port, for Modbus RTU)"],
    ),
    (
        "modbus url scheme",
        inp('name = "t"\ndriver = "modbus"\nurl = "http://h:502"\n'),
        ['inputs[0].url: must be tcp://host:port (got "http://h:502")'],
    ),
    (
        "modbus url port range",
        inp('name = "t"\ndriver = "modbus"\nurl = "tcp://h:0"\n'),
        ['inputs[0].url: TCP port in the URL must be 1-65535 (got "tcp://h:0")'],
    ),
    (
        "modbus line settings with TCP",
        inp('name = "t"\ndriver = "modbus"\nurl = "tcp://h:502"\nbaudrate = 19200\n'),
        ["inputs[0].baudrate: only for Modbus RTU (port), not with url (got 19200)"],
    ),
    (
        "modbus unit id",
        inp('name = "t"\ndriver = "modbus"\nurl = "tcp://h:502"\nunit_id = 248\n'),
        ["inputs[0].unit_id: must be 0-247 (got 248)"],
    ),
    (
        "modbus register negative",
        inp('name = "t"\ndriver = "modbus"\nurl = "tcp://h:502"\nregister = -1\n'),
        ["inputs[0].register: must be 0-65535 (got -1)"],
    ),
    (
        "modbus 32-bit value past the last register",
        inp('name = "t"\ndriver = "modbus"\nurl = "tcp://h:502"\nregister = 65535\n'),
        ["inputs[0].register: float32 takes 2 registers, so at most 65534 (got 65535)"],
    ),
    (
        "modbus data type",
        inp('name = "t"\ndriver = "modbus"\nurl = "tcp://h:502"\ndata_type = "float64"\n'),
        [
            'inputs[0].data_type: must be one of "int16", "uint16", "int32", "uint32", '
            '"float32" (got "float64")'
        ],
    ),
    (
        "modbus register type",
        inp('name = "t"\ndriver = "modbus"\nurl = "tcp://h:502"\nregister_type = "coil"\n'),
        ['inputs[0].register_type: must be "holding" or "input" (got "coil")'],
    ),
    (
        "word order on a 16-bit value",
        inp(
            'name = "t"\ndriver = "modbus"\nurl = "tcp://h:502"\ndata_type = "int16"\n'
            'word_order = "little"\n'
        ),
        [
            "inputs[0].word_order: only for 32-bit data types (int32, uint32, float32), "
            'not "int16" (got "little")'
        ],
    ),
    (
        "modbus scale zero",
        inp('name = "t"\ndriver = "modbus"\nurl = "tcp://h:502"\nscale = 0.0\n'),
        ["inputs[0].scale: must not be 0 (got 0.0)"],
    ),
    (
        "modbus scale inf",
        inp('name = "t"\ndriver = "modbus"\nurl = "tcp://h:502"\nscale = inf\n'),
        ["inputs[0].scale: must be a finite number (got inf)"],
    ),
    (
        "modbus in push mode",
        inp('name = "t"\ndriver = "modbus"\nurl = "tcp://h:502"\nmode = "push"\n'),
        ['inputs[0].mode: modbus is request/response, must be "poll" (got "push")'],
    ),
    # --- keyboard
    (
        "keyboard without device",
        inp('name = "k"\ndriver = "keyboard"\n'),
        ["inputs[0].device: required key is missing"],
    ),
    (
        "keyboard with a port",
        inp('name = "k"\ndriver = "keyboard"\ndevice = "/dev/input/event3"\nport = "/dev/ttyS0"\n'),
        [f'inputs[0].port: only for drivers {SERIAL}, not "keyboard" (got "/dev/ttyS0")'],
    ),
    (
        "keyboard polled",
        inp('name = "k"\ndriver = "keyboard"\ndevice = "/dev/input/event3"\nmode = "poll"\n'),
        ['inputs[0].mode: a keyboard only sends, must be "push" (got "poll")'],
    ),
    (
        "device on a serial driver",
        inp('name = "l"\ndriver = "mitutoyo"\nport = "/dev/ttyUSB0"\ndevice = "/dev/input/x"\n'),
        ['inputs[0].device: only for driver "keyboard", not "mitutoyo" (got "/dev/input/x")'],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_check_reports_the_exact_line(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert problems(tmp_path, text) == expected


def test_every_problem_line_names_the_file_as_given(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "[mqtt]\nport = 0\n")
    with pytest.raises(ConfigError, match=r"station\.toml: mqtt\.port: must be 1-65535 \(got 0\)"):
        load_config(path)


def test_duplicate_input_names(tmp_path: Path) -> None:
    one = '[[inputs]]\nname = "left"\ndriver = "mitutoyo"\nport = "/dev/ttyUSB0"\n'
    text = BASE + one + one.replace("USB0", "USB1") + one.replace("USB0", "USB2")
    assert problems(tmp_path, text) == [
        'inputs[1].name: duplicate input name, already used by inputs[0] (got "left")',
        'inputs[2].name: duplicate input name, already used by inputs[0] (got "left")',
    ]


def test_all_problems_are_found_in_one_pass(tmp_path: Path) -> None:
    text = (
        station('id = "b 1"\ndata_dir = 3')
        + '[mqtt]\nack = "x"\nport = "1883"\n'
        + '[[inputs]]\nname = "l"\ndriver = "modbus"\nurl = "tcp://h:1"\nunit_id = 300\n'
    )
    assert len(problems(tmp_path, text)) == 6


VALID_INPUTS = [
    ('driver = "mitutoyo"\nport = "loop://"\n', {"port": "loop://"}),
    ('driver = "sylvac"\nport = "socket://127.0.0.1:7000"\n', {"baudrate": None}),
    ('driver = "mahr"\nport = "rfc2217://10.0.0.5:2217"\nstopbits = 1.5\n', {"stopbits": 1.5}),
    (
        'driver = "mtsics"\nport = "/dev/ttyUSB0"\nmode = "poll"\naccept_dynamic = true\n',
        {"accept_dynamic": True, "mode": "poll"},
    ),
    (
        'driver = "ascii"\nport = "/dev/ttyUSB0"\npattern = \'(?P<value>[0-9.]+)\'\n'
        'mode = "poll"\nrequest = "?\\r"\n',
        {"request": "?\r", "pattern": "(?P<value>[0-9.]+)"},
    ),
    (
        'driver = "modbus"\nport = "/dev/ttyUSB1"\nbaudrate = 19200\nparity = "E"\n'
        'data_type = "int16"\nregister = 65535\nscale = -0.1\n',
        {"mode": "poll", "url": None, "parity": "E", "register": 65535, "scale": -0.1},
    ),
    (
        'driver = "keyboard"\ndevice = "/dev/input/by-id/usb-gauge-event-kbd"\n',
        {"mode": "push", "device": "/dev/input/by-id/usb-gauge-event-kbd", "port": None},
    ),
]


@pytest.mark.parametrize(("body", "expect"), VALID_INPUTS)
def test_valid_inputs_load(tmp_path: Path, body: str, expect: dict[str, object]) -> None:
    cfg = load_config(write(tmp_path, inp('name = "x"\n' + body)))
    got = cfg.input("x")
    # Keys every input has are attributes; a driver's own keys read through `key`.
    assert {k: getattr(got, k) if hasattr(got, k) else got.key(k) for k in expect} == expect


def test_defaults_when_optional_tables_are_absent(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, BASE))
    assert cfg.mqtt.host == "127.0.0.1" and cfg.mqtt.port == 1883
    assert cfg.mqtt.client_id == "bench-01"
    assert (cfg.mqtt.ack, cfg.mqtt.resend_after_s, cfg.mqtt.tls) == ("central", 30.0, False)
    assert cfg.master.dir is None
    assert cfg.scanner.kind == "keyboard"
    assert cfg.inputs == ()
    assert cfg.station.storage_budget_mb == 512.0


def test_relative_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc" / "station"
    folder.mkdir(parents=True)
    text = (
        station('id = "b"\nsite = "s"\ndata_dir = "../var"')
        + '[mqtt]\nusername = "b"\npassword_file = "secrets/mqtt.pass"\ntls_ca = "ca.pem"\n'
        + 'tls_cert = "/abs/c.pem"\ntls_key = "./k.pem"\n'
        + '[master]\ndir = "master"\n'
    )
    (folder / "station.toml").write_text(text)
    monkeypatch.chdir(tmp_path)  # the working directory must not matter
    cfg = load_config(Path("etc/station/station.toml"))
    assert cfg.path == folder / "station.toml"
    assert cfg.station.data_dir == tmp_path / "etc" / "var"
    assert cfg.mqtt.password_file == folder / "secrets" / "mqtt.pass"
    assert cfg.mqtt.tls_ca == folder / "ca.pem"
    assert cfg.mqtt.tls_cert == Path("/abs/c.pem")
    assert cfg.mqtt.tls_key == folder / "k.pem"
    assert cfg.master.dir == folder / "master"


def test_toml_syntax_error_is_one_line_with_its_position(tmp_path: Path) -> None:
    text = BASE + "[mqtt]\nport = \n"
    assert problems(tmp_path, text) == ["line 6, column 8: invalid TOML: Invalid value"]


def test_a_key_given_twice_is_a_syntax_error_not_a_silent_override(tmp_path: Path) -> None:
    [line] = problems(tmp_path, BASE + 'site = "other"\n')
    assert line.startswith("line 5, column 15: invalid TOML: Cannot overwrite a value")


def test_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert info.value.problems == [
        f"{missing}: cannot read the config file: No such file or directory"
    ]


def test_a_folder_instead_of_a_file(tmp_path: Path) -> None:
    assert check_config_file(tmp_path) == [
        f"{tmp_path}: cannot read the config file: Is a directory"
    ]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "station.toml"
    path.write_bytes(BASE.encode() + b"# caf\xe9\n")
    offset = len(BASE.encode()) + len(b"# caf")
    assert check_config_file(path) == [f"{path}: not UTF-8 text (bad byte at offset {offset})"]


def test_check_config_checks_named_files_exist_but_not_devices(tmp_path: Path) -> None:
    text = (
        BASE
        + '[mqtt]\nusername = "b"\npassword_file = "mqtt.pass"\ntls_ca = "ca.pem"\n'
        + '[master]\ndir = "master"\n'
        + '[[inputs]]\nname = "l"\ndriver = "mitutoyo"\nport = "/dev/serial/by-id/not-plugged"\n'
    )
    path = write(tmp_path, text)
    load_config(path)  # the bench and sync load it: existence is check-config's business
    assert check_config_file(path) == [
        f'{path}: mqtt.password_file: file does not exist (got "{tmp_path}/mqtt.pass")',
        f'{path}: mqtt.tls_ca: file does not exist (got "{tmp_path}/ca.pem")',
        f'{path}: master.dir: folder does not exist (got "{tmp_path}/master")',
    ]
    (tmp_path / "mqtt.pass").write_text("secret\n")
    (tmp_path / "mqtt.pass").chmod(0o600)  # a secret: the daemon refuses it readable by others
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "master").mkdir()
    assert check_config_file(path) == []


def test_cli_three_mistakes_exit_2_with_exactly_three_lines(tmp_path: Path) -> None:
    text = (
        station('id = "bench-01"\nsite = "plant-a"\ndata_dir = "data"')
        + '[mqtt]\nack = "borker"\n'
        + '[[inputs]]\nname = "left"\ndriver = "mitutoyo"\nport = "/dev/ttyUSB0"\n'
        + '[[inputs]]\nname = "right"\ndriver = "mitutoyo"\nport = "/dev/ttyUSB1"\n'
        + "baudrate = 9601\nbaud = 9600\n"
    )
    path = write(tmp_path, text)
    out = subprocess.run(
        [str(STATION), "check-config", str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stdout.splitlines() == [
        f'{path}: mqtt.ack: must be "central" or "broker" (got "borker")',
        f"{path}: inputs[1].baudrate: must be one of {BAUDS} (got 9601)",
        f'{path}: inputs[1].baud: unknown key (got 9600); did you mean "baudrate"?',
    ]
