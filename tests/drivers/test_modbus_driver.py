"""ModbusDriver against a real pymodbus server (sim.modbus_instrument), TCP and RTU framing."""

from __future__ import annotations

import math
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from drivers.base import (
    CommandError,
    DeviceBusy,
    DeviceDisconnected,
    DeviceTimeout,
    DriverError,
    ImplausibleValue,
    Reading,
)
from drivers.modbus import RECONNECT_MIN_S, TCP_TIMEOUTS_BEFORE_RECONNECT, ModbusDriver
from drivers.params import DataType, ModbusParams, WordOrder
from sim.modbus_instrument import ADDRESS, ModbusInstrument
from sim.net import wait_until


@pytest.fixture
def sim() -> Iterator[ModbusInstrument]:
    instrument = ModbusInstrument(unit_ids=(1, 2), value=12.5)
    instrument.start()
    try:
        yield instrument
    finally:
        instrument.stop()


@pytest.fixture
def rtu_sim() -> Iterator[ModbusInstrument]:
    instrument = ModbusInstrument(unit_ids=(1, 2), value=12.5, rtu=True)
    instrument.start()
    try:
        yield instrument
    finally:
        instrument.stop()


Input = tuple[str, ModbusParams]  # (input name, the driver's parameters)


def tcp_input(sim: ModbusInstrument, name: str = "torque", **kw: object) -> Input:
    base = ModbusParams(url=sim.url, unit="N.m")
    return name, replace(base, **kw)  # type: ignore[arg-type]


def rtu_input(sim: ModbusInstrument, name: str = "bus", **kw: object) -> Input:
    base = ModbusParams(port=sim.url, unit="mm")
    return name, replace(base, **kw)  # type: ignore[arg-type]


def read_once(settings: Input, timeout: float = 2.0) -> Reading:
    driver = ModbusDriver(*settings)
    driver.open()
    try:
        driver.request()
        return driver.read(timeout)
    finally:
        driver.close()


LAYOUTS = list(ADDRESS)
# Unsigned registers cannot hold a negative value: those combinations are not generated.
LAYOUT_VALUES = [
    (dt, wo, v) for (dt, wo) in LAYOUTS for v in (12.5, -3.25, 0.0) if v >= 0 or dt[0] != "u"
]


@pytest.mark.parametrize(("data_type", "word_order", "value"), LAYOUT_VALUES)
def test_every_data_type_and_word_order_over_tcp(
    sim: ModbusInstrument, data_type: DataType, word_order: WordOrder, value: float
) -> None:
    sim.set_value(value)
    scale = 1.0 if data_type == "float32" else 0.01  # integers are fixed-point x100
    reading = read_once(
        tcp_input(
            sim,
            register=ADDRESS[(data_type, word_order)],
            data_type=data_type,
            word_order=word_order,
            scale=scale,
        )
    )
    assert reading.value == pytest.approx(value)
    assert reading.unit == "N.m"
    assert reading.wall.tzinfo is not None


def test_raw_is_the_registers_as_hex_words_in_wire_order(sim: ModbusInstrument) -> None:
    sim.set_value(123456.0)
    big = read_once(tcp_input(sim, register=0, word_order="big"))
    little = read_once(tcp_input(sim, register=2, word_order="little"))
    # Modbus Application Protocol v1.1b3 §4.2 and vendors' 32-bit register maps worked value, ABCD
    assert big.raw == "0x47F1 0x2000"
    assert little.raw == "0x2000 0x47F1"  # CDAB
    assert big.value == little.value == 123456.0


def test_wrong_word_order_gives_a_different_number_not_an_error(sim: ModbusInstrument) -> None:
    sim.set_value(123.45)
    swapped = read_once(tcp_input(sim, register=0, word_order="little"))
    assert swapped.value != pytest.approx(123.45)


def test_int16_sign_and_uint16_of_the_same_word(sim: ModbusInstrument) -> None:
    sim.set_registers(1, 4, [0xFFFE])
    sim.set_registers(1, 5, [0xFFFE])
    assert read_once(tcp_input(sim, register=4, data_type="int16")).value == -2
    assert read_once(tcp_input(sim, register=5, data_type="uint16")).value == 65534


def test_input_registers_use_function_0x04(sim: ModbusInstrument) -> None:
    reading = read_once(tcp_input(sim, register_type="input"))
    assert reading.value == 12.5


def test_scale_multiplies(sim: ModbusInstrument) -> None:
    sim.set_value(2.0)
    assert read_once(tcp_input(sim, scale=-0.5)).value == -1.0


@pytest.mark.parametrize("shown", [50.123, 4.2, -0.1, 123.45, 0.001])
@pytest.mark.parametrize(("register", "word_order"), [(0, "big"), (2, "little")])
def test_float32_reads_as_the_decimal_the_instrument_displays(
    sim: ModbusInstrument, shown: float, register: int, word_order: WordOrder
) -> None:
    sim.set_value(shown)  # the server holds the nearest float32, e.g. 50.12300109863281
    reading = read_once(tcp_input(sim, register=register, word_order=word_order))
    assert reading.value == shown  # exactly: a USL of 50.123 at 0.001 must pass
    hi, lo = struct.unpack(">HH", struct.pack(">f", shown))
    words = [hi, lo] if word_order == "big" else [lo, hi]
    assert reading.raw == " ".join(f"0x{w:04X}" for w in words)  # as received


def test_float32_scale_is_exact(sim: ModbusInstrument) -> None:
    sim.set_value(4.2)
    assert read_once(tcp_input(sim, scale=0.001)).value == 0.0042


def test_integer_scale_is_exact_decimal(sim: ModbusInstrument) -> None:
    sim.set_registers(1, 4, [3])
    sim.set_registers(1, 6, [0xFFFF, 0xFFF9])  # int32 -7
    assert read_once(tcp_input(sim, register=4, data_type="int16", scale=0.1)).value == 0.3
    assert read_once(tcp_input(sim, register=6, data_type="int32", scale=0.1)).value == -0.7


def test_value_changes_are_seen_at_once(sim: ModbusInstrument) -> None:
    driver = ModbusDriver(*tcp_input(sim))
    driver.open()
    try:
        for v in (1.0, 2.5, -7.75):
            sim.set_value(v, unit_id=1)
            assert driver.read(2.0).value == v
    finally:
        driver.close()


@pytest.mark.parametrize("nan_or_inf", [math.nan, math.inf, -math.inf])
def test_non_finite_float_is_implausible_never_clipped(
    sim: ModbusInstrument, nan_or_inf: float
) -> None:
    sim.set_value(nan_or_inf)
    with pytest.raises(
        ImplausibleValue,
        match=r"input 'torque' \(tcp://127\.0\.0\.1:\d+, unit 1\): "
        r"read_holding_registers\(address=0, count=2\): float32 big registers 0x[7F]F[8C]0 "
        r"0x0000 decode to -?(nan|inf) \(not a measurement\)",
    ):
        read_once(tcp_input(sim))


def test_unmapped_address_is_a_command_error_naming_everything(sim: ModbusInstrument) -> None:
    with pytest.raises(
        CommandError,
        match=r"^input 'torque' \(tcp://127\.0\.0\.1:\d+, unit 2\): "
        r"read_input_registers\(address=14, count=2\): "
        r"Modbus exception 0x02 \(illegal data address\)$",
    ):
        read_once(tcp_input(sim, unit_id=2, register=14, register_type="input"))


def test_device_failure_exception_code(sim: ModbusInstrument) -> None:
    sim.set_exception(1, 0x04)
    with pytest.raises(CommandError, match=r"exception 0x04 \(server device failure\)"):
        read_once(tcp_input(sim))


def test_busy_is_its_own_retryable_kind(sim: ModbusInstrument) -> None:
    sim.set_exception(1, 0x06)
    with pytest.raises(DeviceBusy, match=r"unit 1\).*exception 0x06 \(server device busy\)"):
        read_once(tcp_input(sim))
    sim.set_exception(1, None)
    assert read_once(tcp_input(sim)).value == 12.5


def test_silent_unit_times_out_after_its_own_timeout_only(sim: ModbusInstrument) -> None:
    sim.set_silent(2)
    driver = ModbusDriver(*tcp_input(sim, unit_id=2, timeout_s=0.4))
    driver.open()
    try:
        start = time.monotonic()
        with pytest.raises(
            DeviceTimeout,
            match=r"^input 'torque' \(tcp://127\.0\.0\.1:\d+, unit 2\): "
            r"read_holding_registers\(address=0, count=2\): no answer within 0\.4 s$",
        ):
            driver.read(5.0)
        elapsed = time.monotonic() - start
        # retries=0: one attempt, not pymodbus' default 1 + 3 retries.
        assert 0.35 <= elapsed < 0.4 + 1.0
        assert sim.requests(2) == 1
    finally:
        driver.close()


def test_tcp_reconnects_after_three_timeouts_in_a_row(sim: ModbusInstrument) -> None:
    """A half-open connection (gateway rebooted) must not time out forever."""
    driver = ModbusDriver(*tcp_input(sim, timeout_s=0.1))
    driver.open()
    try:
        assert driver.read(1.0).value == 12.5  # the server has accepted this connection now
        before = sim.connections()
        sim.set_silent(1)
        for _ in range(TCP_TIMEOUTS_BEFORE_RECONNECT):
            with pytest.raises(DeviceTimeout):
                driver.read(1.0)
        sim.set_silent(1, False)
        assert driver.read(1.0).value == 12.5
        assert sim.connections() == before + 1
    finally:
        driver.close()


def test_read_timeout_shorter_than_setting_wins(sim: ModbusInstrument) -> None:
    sim.set_silent(1)
    driver = ModbusDriver(*tcp_input(sim, timeout_s=5.0))
    driver.open()
    try:
        start = time.monotonic()
        with pytest.raises(DeviceTimeout, match=r"no answer within 0\.2 s"):
            driver.read(0.2)
        assert time.monotonic() - start < 0.2 + 1.0
    finally:
        driver.close()


def _read_in_thread(driver: ModbusDriver, timeout: float) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []

    def run() -> None:
        try:
            result.append(driver.read(timeout))
        except DriverError as exc:
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_silent_unit_does_not_delay_another_over_tcp(sim: ModbusInstrument) -> None:
    sim.set_silent(2)
    silent = ModbusDriver(*tcp_input(sim, unit_id=2, timeout_s=1.5))
    alive = ModbusDriver(*tcp_input(sim, name="other", unit_id=1, timeout_s=1.5))
    silent.open()
    alive.open()
    try:
        thread, result = _read_in_thread(silent, 5.0)
        wait_until(
            "the silent unit's request at the server", lambda: sim.requests(2) == 1, 5.0, 0.005
        )
        values = [alive.read(5.0).value for _ in range(5)]
        assert thread.is_alive()  # done while the silent unit's request is still outstanding
        thread.join()
        assert values == [12.5] * 5
        assert isinstance(result[0], DeviceTimeout)
    finally:
        silent.close()
        alive.close()


def test_silent_unit_on_a_shared_rtu_bus_delays_others_at_most_its_timeout(
    rtu_sim: ModbusInstrument,
) -> None:
    rtu_sim.set_silent(2)
    silent = ModbusDriver(*rtu_input(rtu_sim, name="b", unit_id=2, timeout_s=0.5))
    alive = ModbusDriver(*rtu_input(rtu_sim, name="a", unit_id=1, timeout_s=0.5))
    silent.open()
    alive.open()
    try:
        thread, result = _read_in_thread(silent, 5.0)
        # The silent request holds the bus from here until its timeout.
        wait_until(
            "the silent unit's request on the bus", lambda: rtu_sim.requests(2) == 1, 5.0, 0.005
        )
        start = time.monotonic()
        reading = alive.read(5.0)
        elapsed = time.monotonic() - start
        assert result, "the bus is shared: the silent unit's timeout came first"
        thread.join()
        assert reading.value == 12.5
        assert elapsed < 0.5 + 1.0
        assert isinstance(result[0], DeviceTimeout)
        assert "input 'b' (socket://127.0.0.1:" in str(result[0])
        # And the bus is usable right after the timeout (no stale state).
        assert alive.read(1.0).value == 12.5
    finally:
        silent.close()
        alive.close()


@pytest.mark.parametrize(("data_type", "word_order"), LAYOUTS)
def test_rtu_framing_decodes_every_layout(
    rtu_sim: ModbusInstrument, data_type: DataType, word_order: WordOrder
) -> None:
    rtu_sim.set_value(-3.25)
    if data_type.startswith("uint"):
        rtu_sim.set_value(3.25)
    reading = read_once(
        rtu_input(
            rtu_sim,
            register=ADDRESS[(data_type, word_order)],
            data_type=data_type,
            word_order=word_order,
            scale=1.0 if data_type == "float32" else 0.01,
        )
    )
    assert abs(reading.value) == pytest.approx(3.25)


def test_rtu_inputs_on_one_port_must_agree_on_line_settings(rtu_sim: ModbusInstrument) -> None:
    a = ModbusDriver(*rtu_input(rtu_sim, name="a", baudrate=9600))
    b = ModbusDriver(*rtu_input(rtu_sim, name="b", baudrate=19200, unit_id=2))
    a.open()
    try:
        with pytest.raises(
            DriverError,
            match=r"input 'b' .*: line settings 19200 8N1 differ from 9600 8N1 already used on "
            r"socket://127\.0\.0\.1:\d+",
        ):
            b.open()
    finally:
        a.close()
        b.close()


def test_dead_server_disconnects_then_reconnects_with_backoff(sim: ModbusInstrument) -> None:
    driver = ModbusDriver(*tcp_input(sim, timeout_s=0.5))
    driver.open()
    try:
        assert driver.read(1.0).value == 12.5
        sim.stop()
        with pytest.raises(
            DeviceDisconnected,
            match=r"unit 1\): read_holding_registers\(address=0, count=2\): disconnected "
            r"\(.*\); next attempt in 0\.25 s$",
        ):
            driver.read(1.0)
        assert driver.reconnect_delay_s == RECONNECT_MIN_S
        # Within the backoff and with a budget shorter than it: fails fast, no network.
        start = time.monotonic()
        with pytest.raises(DeviceDisconnected, match=r"not connected \(.*\); next attempt in"):
            driver.read(0.01)
        assert time.monotonic() - start < 0.1
        # Still down: the next attempt fails and the delay doubles (capped).
        with pytest.raises(
            DeviceDisconnected, match=r"cannot connect to tcp://.*; next attempt in 0\.50 s$"
        ):
            driver.read(1.0)
        assert driver.reconnect_delay_s == 2 * RECONNECT_MIN_S
        sim.start()  # same port
        assert driver.read(2.0).value == 12.5
        assert driver.reconnect_delay_s == 0.0
    finally:
        driver.close()


def test_open_against_nothing_listening_is_disconnected(sim: ModbusInstrument) -> None:
    url = sim.url
    sim.stop()
    driver = ModbusDriver("torque", replace(tcp_input(sim)[1], url=url))
    with pytest.raises(
        DeviceDisconnected,
        match=rf"^input 'torque' \({url}, unit 1\): cannot connect to {url} \(refused, "
        r"unreachable or no answer within 1 s\)$",
    ):
        driver.open()
    driver.close()
    driver.close()  # twice is fine


def test_rtu_port_that_does_not_exist() -> None:
    driver = ModbusDriver("rs485", ModbusParams(port="/dev/does-not-exist"))
    with pytest.raises(
        DeviceDisconnected,
        match=r"^input 'rs485' \(/dev/does-not-exist, unit 1\): "
        r"cannot open /dev/does-not-exist: no such device \(unplugged\?\)$",
    ):
        driver.open()
    driver.close()


@pytest.mark.parametrize("url", ["http://x:1", "tcp://", "tcp://host:notaport", "host:502"])
def test_bad_url_is_rejected_with_the_expected_form(url: str) -> None:
    with pytest.raises(DriverError, match=r"url must look like 'tcp://host:port' \(got "):
        ModbusDriver("m", ModbusParams(url=url))


def test_neither_url_nor_port() -> None:
    with pytest.raises(DriverError, match="modbus needs url"):
        ModbusDriver("m", ModbusParams())


def test_read_before_open_is_an_error(sim: ModbusInstrument) -> None:
    with pytest.raises(DriverError, match=r"read\(\) before open\(\)"):
        ModbusDriver(*tcp_input(sim)).read(1.0)
