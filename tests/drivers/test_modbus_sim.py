"""The Modbus instrument simulator itself: command line, register map, behaviour switches."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest
from pymodbus.client import ModbusTcpClient

from sim.modbus_instrument import ADDRESS, MAP_SIZE, ModbusInstrument, encode_value


def test_command_line_prints_the_address_it_serves_and_answers() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "sim.modbus_instrument", "--port", "0", "--value", "12.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()  # printed once it accepts connections
            m = re.fullmatch(r"serving tcp://127\.0\.0\.1:(\d+) units 1\n", line)
            assert m, line
            client = ModbusTcpClient("127.0.0.1", port=int(m[1]), timeout=2, retries=0)
            try:
                assert client.connect()
                rr = client.read_holding_registers(0, count=2, device_id=1)
                assert rr.registers == [0x4148, 0x0000]  # 12.5 as float32 ABCD
            finally:
                client.close()  # type: ignore[no-untyped-call]
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0


def test_command_line_rejects_bad_units() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sim.modbus_instrument", "--units", "1,x"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--units: expected comma-separated integers (got '1,x')" in result.stderr


def test_register_map_of_one_value() -> None:
    regs = encode_value(-3.25)
    assert len(regs) == MAP_SIZE
    assert regs[ADDRESS[("float32", "big")] : 2] == [0xC050, 0x0000]
    assert regs[ADDRESS[("float32", "little")] : 4] == [0x0000, 0xC050]
    assert regs[ADDRESS[("int16", "big")]] == (-325) & 0xFFFF
    assert regs[6:8] == [0xFFFF, (-325) & 0xFFFF]  # int32 ABCD
    assert regs[8:10] == [(-325) & 0xFFFF, 0xFFFF]  # int32 CDAB


def test_value_too_large_for_float32_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit a float32"):
        encode_value(1e39)


def test_set_registers_outside_the_map_is_refused() -> None:
    sim = ModbusInstrument()
    with pytest.raises(ValueError, match=r"registers 13\.\.14 outside 0\.\.13"):
        sim.set_registers(1, 13, [0, 0])


def test_requests_are_counted_and_writes_refused() -> None:
    with ModbusInstrument(unit_ids=(3,), value=1.0) as sim:
        client = ModbusTcpClient("127.0.0.1", port=sim.port, timeout=2, retries=0)
        try:
            assert client.connect()
            assert not client.read_input_registers(0, count=2, device_id=3).isError()
            rr = client.write_register(0, 1, device_id=3)
            assert rr.isError()
            assert rr.exception_code == 0x01
            assert sim.requests(3) == 2
        finally:
            client.close()  # type: ignore[no-untyped-call]
