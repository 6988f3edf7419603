"""Float32 to its shortest round-tripping decimal, checked against the C library's `strtof`.

The oracle is glibc's `strtof` (correctly rounded decimal -> binary32, ISO C 7.22.1.3 with
IEC 60559), called through ctypes: an implementation independent of `drivers.float32`, which
works with exact fractions.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import struct
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from drivers.float32 import is_float32, scaled, shortest_decimal

_libc = ctypes.CDLL(ctypes.util.find_library("c"))
_libc.strtof.restype = ctypes.c_float
_libc.strtof.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]


def strtof(text: str) -> float:
    return float(_libc.strtof(text.encode("ascii"), None))


finite_bits = st.integers(0, 0xFFFFFFFF).filter(lambda b: (b >> 23) & 0xFF != 0xFF)


@settings(max_examples=3000, deadline=None)
@given(finite_bits)
@example(0x7F7FFFFF)  # largest finite float32: its upper neighbour is infinity
@example(0x00000001)  # smallest subnormal
@example(0x00800000)  # smallest normal: a power of two, asymmetric rounding interval
@example(0x4B800000)  # 2**24
@example(0x80000000)  # -0.0
def test_shortest_decimal_round_trips_and_nothing_shorter_does(bits: int) -> None:
    x = struct.unpack(">f", struct.pack(">I", bits))[0]
    text = shortest_decimal(x)
    parsed = strtof(str(text))
    assert parsed == x and math.copysign(1, parsed) == math.copysign(1, x), (hex(bits), text)
    digits = len(text.as_tuple().digits)
    if x == 0 or digits == 1:
        return
    # The two (digits-1)-significant decimals that bracket x are the only candidates one
    # digit shorter (the set rounding to x is an interval around x); neither may round-trip.
    exact = Decimal(abs(x))
    for rounding in (ROUND_FLOOR, ROUND_CEILING):
        shorter = Context(prec=digits - 1, rounding=rounding).plus(exact)
        assert strtof(str(shorter)) != abs(x), (hex(bits), text, shorter)


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("50.123", "50.123"),
        ("4.2", "4.2"),
        ("0.1", "0.1"),
        ("-7.25", "-7.25"),
        ("123456", "123456"),
        ("3.4028235e38", "3.4028235E+38"),
        ("1e-45", "1E-45"),
    ],
)
def test_a_display_value_comes_back_as_written(written: str, shown: str) -> None:
    x = strtof(written)
    assert str(shortest_decimal(x)) == shown
    assert float(shortest_decimal(x)) == float(written)


def test_not_a_float32_is_refused() -> None:
    for bad in (math.nan, math.inf, 0.1, 1e39):  # 0.1 as a double is not a float32
        assert not is_float32(bad)
        with pytest.raises(ValueError, match="not a finite binary32 value"):
            shortest_decimal(bad)


def test_scale_is_applied_in_decimal() -> None:
    assert 3 * 0.1 != 0.3  # the noise this avoids
    assert scaled(3, 0.1) == 0.3
    assert scaled(Decimal("4.2"), 0.001) == 0.0042
    assert scaled(-725, 0.01) == -7.25
    assert scaled(12, 1.0) == 12.0
