"""`station read` end to end: the installed console script in a subprocess, a hand-written
config, and real simulators (a pymodbus server, a Mitutoyo gauge on a pty)."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.modbus_instrument import ModbusInstrument
from sim.serial_gauge import SerialGaugeSim

STATION = Path(sys.executable).with_name("station")
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def write_config(tmp_path: Path, inputs: str) -> Path:
    path = tmp_path / "station.toml"
    path.write_text(
        '[station]\nid = "bench-01"\nsite = "plant-a"\ndata_dir = "var"\n\n' + inputs,
        encoding="utf-8",
    )
    return path


def station(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    assert STATION.exists(), f"console script missing: {STATION} (pip install -e .)"
    return subprocess.run(
        [str(STATION), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def modbus() -> Iterator[ModbusInstrument]:
    sim = ModbusInstrument(unit_ids=(1, 2), value=12.5)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def modbus_inputs(url: str) -> str:
    return f"""
[[inputs]]
name = "torque"
driver = "modbus"
url = "{url}"
unit_id = 1
register = 2
data_type = "float32"
word_order = "little"
unit = "N.m"

[[inputs]]
name = "dead"
driver = "modbus"
url = "{url}"
unit_id = 2
register = 6
data_type = "int32"
scale = 0.01
timeout_s = 0.5
"""


def test_read_modbus_prints_json_lines(modbus: ModbusInstrument, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, modbus_inputs(modbus.url))
    result = station("read", "torque", "-c", str(cfg), "--count", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    for line in lines:
        doc = json.loads(line)
        assert list(doc) == ["input", "value", "unit", "raw", "ts"]
        assert doc["input"] == "torque"
        assert doc["value"] == 12.5
        assert doc["unit"] == "N.m"
        assert doc["raw"] == "0x0000 0x4148"  # CDAB words as on the wire
        assert TS.match(doc["ts"]), doc["ts"]
    assert modbus.requests(1) == 3


def test_read_modbus_float32_prints_what_the_instrument_displays(
    modbus: ModbusInstrument, tmp_path: Path
) -> None:
    modbus.set_value(4.2, unit_id=1)  # float32 0x40866666 = 4.199999809265137 exactly
    cfg = write_config(tmp_path, modbus_inputs(modbus.url))
    result = station("read", "torque", "-c", str(cfg))
    assert result.returncode == 0, result.stderr
    assert '"value": 4.2,' in result.stdout, result.stdout
    assert json.loads(result.stdout)["raw"] == "0x6666 0x4086"  # CDAB words as received
    modbus.set_value(50.123, unit_id=1)
    result = station("read", "torque", "-c", str(cfg))
    assert '"value": 50.123,' in result.stdout, result.stdout


def test_read_modbus_int32_with_scale(modbus: ModbusInstrument, tmp_path: Path) -> None:
    modbus.set_value(-7.25, unit_id=2)
    cfg = write_config(tmp_path, modbus_inputs(modbus.url))
    result = station("read", "dead", "-c", str(cfg))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["value"] == pytest.approx(-7.25)
    assert doc["unit"] is None
    assert doc["raw"] == "0xFFFF 0xFD2B"


def test_read_silent_unit_exits_1_with_the_device_named(
    modbus: ModbusInstrument, tmp_path: Path
) -> None:
    modbus.set_silent(2)
    cfg = write_config(tmp_path, modbus_inputs(modbus.url))
    result = station("read", "dead", "-c", str(cfg), "--timeout", "5")
    assert result.returncode == 1
    assert result.stdout == ""
    assert re.fullmatch(
        r"station read: input 'dead' \(tcp://127\.0\.0\.1:\d+, unit 2\): "
        r"read_holding_registers\(address=6, count=2\): no answer within 0\.5 s\n",
        result.stderr,
    ), result.stderr
    assert modbus.requests(2) == 1  # one attempt, no retries


def test_read_modbus_exception_code_exits_1(modbus: ModbusInstrument, tmp_path: Path) -> None:
    modbus.set_exception(1, 0x02)
    cfg = write_config(tmp_path, modbus_inputs(modbus.url))
    result = station("read", "torque", "-c", str(cfg))
    assert result.returncode == 1
    assert "unit 1): read_holding_registers(address=2, count=2): Modbus exception 0x02 " in (
        result.stderr
    )


def test_read_server_down_exits_1(modbus: ModbusInstrument, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, modbus_inputs(modbus.url))
    modbus.stop()
    result = station("read", "torque", "-c", str(cfg))
    assert result.returncode == 1
    assert re.match(
        r"station read: input 'torque' \(tcp://127\.0\.0\.1:\d+, unit 1\): ", result.stderr
    )
    assert "cannot connect" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_input_lists_the_configured_ones(modbus: ModbusInstrument, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, modbus_inputs(modbus.url))
    result = station("read", "left", "-c", str(cfg))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "no input named 'left'" in result.stderr
    assert "(configured: torque, dead)" in result.stderr


def test_read_from_config_env_variable(modbus: ModbusInstrument, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, modbus_inputs(modbus.url))
    result = subprocess.run(
        [str(STATION), "read", "torque"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"STATION_CONFIG": str(cfg), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["value"] == 12.5


def test_read_mitutoyo_gauge_over_a_pty(tmp_path: Path) -> None:
    with SerialGaugeSim("mitutoyo", tmp_path / "caliper", value="-12.346") as gauge:
        cfg = write_config(
            tmp_path,
            f'[[inputs]]\nname = "left"\ndriver = "mitutoyo"\nport = "{gauge.path}"\n'
            'mode = "poll"\n',
        )
        result = station("read", "left", "-c", str(cfg), "--count", "2", "--timeout", "5")
    assert result.returncode == 0, result.stderr
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["value"] for d in docs] == [-12.346, -12.346]
    assert docs[0]["unit"] == "mm"
    assert docs[0]["raw"].startswith("01A")


def push_gauge_config(tmp_path: Path, gauge: SerialGaugeSim) -> Path:
    return write_config(
        tmp_path, f'[[inputs]]\nname = "left"\ndriver = "mitutoyo"\nport = "{gauge.path}"\n'
    )


def test_read_push_gauge_prints_the_pressed_value(tmp_path: Path) -> None:
    with SerialGaugeSim("mitutoyo", tmp_path / "caliper", value="7.125") as gauge:
        cfg = push_gauge_config(tmp_path, gauge)
        with subprocess.Popen(
            [str(STATION), "read", "left", "-c", str(cfg), "--timeout", "20"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as proc:
            # Press until the command has the port open and takes a value (a press before
            # that is flushed when pyserial opens the port); its exit is the observable.
            deadline = time.monotonic() + 30
            while proc.poll() is None:
                assert time.monotonic() < deadline, "station read never took the value"
                gauge.press_button(wait=True)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=0.1)
            out, err = proc.communicate()
    assert proc.returncode == 0, err
    doc = json.loads(out)
    assert (doc["input"], doc["value"], doc["unit"], doc["raw"]) == (
        "left",
        7.125,
        "mm",
        "01A+0007.125",
    )
    assert gauge.received == b""  # push mode: nothing is sent to the gauge


def test_read_push_gauge_times_out_when_nobody_presses(tmp_path: Path) -> None:
    with SerialGaugeSim("mitutoyo", tmp_path / "caliper") as gauge:
        result = station(
            "read", "left", "-c", str(push_gauge_config(tmp_path, gauge)), "--timeout", "0.3"
        )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "station read: no value from left within 0.3 s"
        " (push mode: press the gauge's data button or footswitch)\n"
    )
