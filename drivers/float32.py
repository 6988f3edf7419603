"""IEEE 754 binary32 values as the decimal a float32 display shows, and exact scaling.

A Modbus instrument that holds 50.123 in a float32 register pair sends the binary32 value
nearest 50.123, which is 50.12300109863281 exactly as a Python float. Recording that would fail
a USL of 50.123 at resolution 0.001 although the device showed 50.123. What the device meant is
the *shortest* decimal that converts back to the same binary32 value (the rule of Steele &
White / Ryu, and what a float32 display or C's `%g` with the minimal precision prints):
`shortest_decimal` finds it exactly, with `fractions.Fraction` bounds, so the result never
depends on double rounding (decimal -> double -> float32).

`scaled` then applies an input's `scale` in decimal arithmetic, so 3 register counts x 0.1 is
0.3 and not 0.30000000000000004.

Pure functions, no I/O; the Modbus driver (`drivers.modbus`) is the caller.
"""

from __future__ import annotations

import math
import struct
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from fractions import Fraction

MAX_DIGITS = 9
"""Nine significant digits always identify a binary32 value (IEEE 754-2019 §5.12.2:
Pmin(binary32) = 9), so the search below ends by then."""

_EXACT = Context(prec=80)
"""Wide enough that a 9-digit float32 decimal times a 17-digit scale is exact (26 digits)."""


def _bits(x: float) -> int:
    return int(struct.unpack(">I", struct.pack(">f", x))[0])


def _from_bits(bits: int) -> Fraction:
    """The exact value of a positive binary32 bit pattern; 0x7F800000 is taken as 2**128,
    the rounding neighbour of the largest finite float32 (IEEE 754 §4.3.1: a value at or
    above MAX + ulp/2 rounds to infinity)."""
    if bits == 0x7F800000:
        return Fraction(2**128)
    return Fraction(struct.unpack(">f", struct.pack(">I", bits))[0])


def is_float32(x: float) -> bool:
    """True if `x` is exactly representable as a finite binary32 value."""
    if not math.isfinite(x):
        return False
    try:
        return bool(struct.unpack(">f", struct.pack(">f", x))[0] == x)
    except OverflowError:
        return False


def shortest_decimal(x: float) -> Decimal:
    """The shortest decimal that rounds (to nearest, ties to even) back to binary32 `x`.

    Among decimals with that fewest number of significant digits the one nearest `x` is
    returned (e.g. float32 50.123 -> Decimal('50.123'), float32 4.2 -> Decimal('4.2')).

    Raises:
        ValueError: `x` is NaN, infinite or not a binary32 value (a caller's bug: decode the
            registers with `struct` format ``>f`` first).
    """
    if not is_float32(x):
        raise ValueError(f"{x!r} is not a finite binary32 value")
    if x == 0:
        return Decimal("-0") if math.copysign(1.0, x) < 0 else Decimal(0)
    negative = x < 0
    bits = _bits(abs(x))
    exact = Fraction(abs(x))
    low = (exact + _from_bits(bits - 1)) / 2
    high = (exact + _from_bits(bits + 1)) / 2
    even = bits % 2 == 0  # a decimal exactly halfway rounds to the even mantissa

    def rounds_to_x(candidate: Decimal) -> bool:
        value = Fraction(candidate)
        if low < value < high:
            return True
        return even and value in (low, high)

    target = Decimal(abs(x))  # exact: every binary float is a finite decimal
    for digits in range(1, MAX_DIGITS + 1):
        # The two `digits`-significant decimals bracketing x: the interval of values that
        # round to x is convex and contains x, so if neither is in it, no shorter one is.
        below = _round(target, digits, ROUND_FLOOR)
        above = _round(target, digits, ROUND_CEILING)
        fits = [c for c in (below, above) if rounds_to_x(c)]
        if fits:
            best = min(fits, key=lambda c: abs(Fraction(c) - exact))
            best = best.normalize(_EXACT)
            return -best if negative else best
    raise AssertionError(f"no {MAX_DIGITS}-digit decimal rounds to {x!r}")  # IEEE 754 §5.12.2


def _round(value: Decimal, digits: int, rounding: str) -> Decimal:
    """`value` rounded to `digits` significant digits in direction `rounding`."""
    return Context(prec=digits, rounding=rounding).plus(value)


def scaled(number: Decimal | int, scale: float) -> float:
    """`number` x `scale` computed exactly in decimal, then rounded once to a float.

    `scale` comes from the config as a float; its shortest repr (`repr(0.1)` = ``'0.1'``) is
    what the technician wrote, so that is the factor used.
    """
    if scale == 1:
        return float(number)
    product = _EXACT.multiply(Decimal(number), Decimal(repr(scale)))
    return float(product)


__all__ = ["MAX_DIGITS", "is_float32", "scaled", "shortest_decimal"]
