"""Pure register decoding: the worked values of Modbus Application Protocol v1.1b3 §4.2 and
vendors' 32-bit register maps and pymodbus' own vectors."""

from __future__ import annotations

import math

import pytest

from drivers.base import ParseError
from drivers.modbus import decode_registers, format_registers, register_count


@pytest.mark.parametrize(
    ("registers", "data_type", "word_order", "expected"),
    [
        ([0x47F1, 0x2000], "float32", "big", 123456.0),
        ([0x2000, 0x47F1], "float32", "little", 123456.0),
        ([0x3F80, 0x0000], "float32", "big", 1.0),
        ([0x0000, 0x3F80], "float32", "little", 1.0),
        ([0x46D3, 0xE700], "float32", "big", 27123.5),  # pymodbus test vector
        ([0xFFFE, 0x1DC0], "int32", "big", -123456),
        ([0x1DC0, 0xFFFE], "int32", "little", -123456),
        ([0xFFFE, 0x1DC0], "uint32", "big", 0xFFFE1DC0),
        ([0x1DC0, 0xFFFE], "uint32", "little", 0xFFFE1DC0),
        ([0x8000], "int16", "big", -32768),
        ([0x8000], "uint16", "big", 32768),
        ([0x7FFF], "int16", "little", 32767),  # word order is moot for one register
    ],
)
def test_decode_worked_values(
    registers: list[int], data_type: str, word_order: str, expected: float
) -> None:
    assert decode_registers(registers, data_type, word_order) == expected  # type: ignore[arg-type]


def test_float32_123_45_within_float32_precision() -> None:
    assert decode_registers([0x42F6, 0xE666], "float32") == pytest.approx(123.45, rel=1e-7)
    assert decode_registers([0xE666, 0x42F6], "float32", "little") == pytest.approx(
        123.45, rel=1e-7
    )


def test_nan_decodes_as_nan_the_driver_rejects_it() -> None:
    assert math.isnan(decode_registers([0x7FC0, 0x0000], "float32"))


def test_register_count_mismatch_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="float32 needs 2 registers, got 1"):
        decode_registers([0x4148], "float32")


def test_register_counts() -> None:
    assert [register_count(t) for t in ("int16", "uint16", "int32", "uint32", "float32")] == [
        1,
        1,
        2,
        2,
        2,
    ]


def test_raw_text() -> None:
    assert format_registers([0x4145, 0x8106]) == "0x4145 0x8106"
    assert format_registers([0x0001]) == "0x0001"
