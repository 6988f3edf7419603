"""Units of measure and exact conversions between them.

Why exact: a verdict at a limit must not depend on binary floating point. Every factor here
is a *defined* decimal (no measured constants), so a conversion is done in exact rational
arithmetic (`fractions.Fraction`) and only rounded once, at the very end, when the caller
asks for a float. 0.4882 in is then exactly 12.40028 mm, never 12.400279999999999 mm.

Sources of the factors (NIST SP 811, 2008 edition, Appendix B.8/B.9, and the definitions
behind them):

- 1 in = 25.4 mm exactly (international yard and pound agreement, 1959; SP 811 B.8).
- 1 lb = 0.453 592 37 kg exactly (same agreement); 1 oz = 1/16 lb = 28.349 523 125 g.
- 1 kgf = 9.806 65 N exactly (standard acceleration of gravity, 3rd CGPM 1901).
- 1 lbf = 0.453 592 37 kg x 9.806 65 m/s^2 = 4.448 221 615 260 5 N exactly
  (SP 811 B.8 prints the rounded 4.448 222 N).
- 1 lbf.in = 4.448 221 615 260 5 N x 0.0254 m = 0.112 984 829 027 616 7 N.m exactly
  (SP 811 B.8 prints 1.129 848 E-01); 1 lbf.ft = 1.355 817 948 331 400 4 N.m exactly.
- 1 ozf.in = lbf.in / 16 = 0.007 061 551 814 226 043 75 N.m exactly.
- 1 ct (metric carat) = 0.2 g exactly.

Spellings are matched case-sensitively (``Nm`` is a newton metre, ``nm`` would be a
nanometre and is deliberately not known), after stripping surrounding whitespace, because
devices pad units (Sartorius SBI sends a 3-character unit field). Only spellings seen on
instruments or in plans are accepted: an unknown spelling is an error, never a guess.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import overload

Number = float | int | Decimal | Fraction | str
"""What the core accepts as a number: floats are taken by their shortest repr."""


class UnitError(ValueError):
    """A unit is unknown, or two units measure different things."""


@dataclass(frozen=True)
class Unit:
    """One unit: canonical name, dimension and exact factor to the dimension's base unit."""

    name: str
    dimension: str
    factor: Fraction
    spellings: tuple[str, ...]


def _unit(name: str, dimension: str, factor: str, *spellings: str) -> Unit:
    return Unit(name, dimension, Fraction(Decimal(factor)), (name, *spellings))


# Base units: mm (length), g (mass), N (force), N.m (torque). Canonical names are ASCII
# and match the contract's config example (`unit = "N.m"`).
_UNITS: tuple[Unit, ...] = (
    _unit("m", "length", "1000"),
    _unit("cm", "length", "10"),
    _unit("mm", "length", "1", "MM"),
    _unit("um", "length", "0.001", "µm", "μm", "UM"),  # U+00B5 micro sign, U+03BC mu
    _unit("in", "length", "25.4", "inch", "IN", "INCH"),
    _unit("kg", "mass", "1000"),
    _unit("g", "mass", "1"),
    _unit("mg", "mass", "0.001"),
    _unit("ct", "mass", "0.2"),
    _unit("lb", "mass", "453.59237"),
    _unit("oz", "mass", "28.349523125"),
    _unit("N", "force", "1"),
    _unit("kN", "force", "1000"),
    _unit("kgf", "force", "9.80665"),
    _unit("lbf", "force", "4.4482216152605", "lbF"),  # lbF: Mark-10 gauges
    _unit("N.m", "torque", "1", "N·m", "Nm", "N m", "N-m"),
    _unit("N.cm", "torque", "0.01", "N·cm", "Ncm", "N cm"),
    _unit("cN.m", "torque", "0.01", "cN·m", "cNm"),
    _unit("mN.m", "torque", "0.001", "mN·m", "mNm"),
    _unit(
        "lbf.in",
        "torque",
        "0.1129848290276167",
        "lbf·in",
        "lbf in",
        "in.lbf",
        "in·lbf",
        # Mark-10 torque testers print e.g. `-18.78 lbFin` (the vendors' ASCII print formats
        # (Mark-10, ProScale))
        "lbFin",
    ),
    _unit("lbf.ft", "torque", "1.3558179483314004", "lbf·ft", "ft.lbf", "ft·lbf", "lbFft"),
    _unit("ozf.in", "torque", "0.00706155181422604375", "ozf·in", "in.ozf", "ozFin"),
)

_BY_SPELLING: dict[str, Unit] = {s: u for u in _UNITS for s in u.spellings}
DIMENSIONS: tuple[str, ...] = ("length", "mass", "force", "torque")


def known_units(dimension: str | None = None) -> tuple[str, ...]:
    """Every accepted spelling, for one dimension or all, in table order."""
    return tuple(s for u in _UNITS if dimension in (None, u.dimension) for s in u.spellings)


def _known_text(dimensions: tuple[str, ...]) -> str:
    return "; ".join(f"known {d} units: {', '.join(known_units(d))}" for d in dimensions)


def find_unit(unit: str) -> Unit | None:
    """The unit spelled `unit` (surrounding whitespace ignored), or None when unknown."""
    return _BY_SPELLING.get(unit.strip())


def lookup(unit: str) -> Unit:
    """The unit spelled `unit`.

    Raises:
        UnitError: naming the spelling and every known unit.
    """
    found = find_unit(unit)
    if found is None:
        raise UnitError(f"unknown unit {unit!r}; {_known_text(DIMENSIONS)}")
    return found


def canonical(unit: str) -> str:
    """The canonical spelling of `unit` (``"N·m"`` -> ``"N.m"``); UnitError when unknown."""
    return lookup(unit).name


def same_unit(a: str, b: str) -> bool:
    """True when `a` and `b` are spellings of one known unit."""
    ua, ub = find_unit(a), find_unit(b)
    return ua is not None and ua is ub


def compatible(a: str, b: str) -> bool:
    """True when both units are known and measure the same dimension."""
    ua, ub = find_unit(a), find_unit(b)
    return ua is not None and ub is not None and ua.dimension == ub.dimension


def factor(from_unit: str, to_unit: str) -> Fraction:
    """The exact factor f with value_in_to = value_in_from * f.

    Raises:
        UnitError: a unit is unknown (the message names both units and the known units of
            the other one's dimension), or the two measure different dimensions.
    """
    a, b = find_unit(from_unit), find_unit(to_unit)
    if a is None or b is None:
        unknown = from_unit if a is None else to_unit
        dims = tuple(u.dimension for u in (a, b) if u is not None) or DIMENSIONS
        raise UnitError(
            f"cannot convert from {from_unit!r} to {to_unit!r}: unknown unit {unknown!r}; "
            + _known_text(dims)
        )
    if a.dimension != b.dimension:
        raise UnitError(
            f"cannot convert from {from_unit!r} ({a.dimension}) to {to_unit!r} "
            f"({b.dimension}): they measure different things; "
            + _known_text((a.dimension, b.dimension))
        )
    return a.factor / b.factor


def exact(value: Number) -> Fraction:
    """The exact rational value of a number.

    A float is taken by its shortest round-tripping repr (``12.4`` -> 12.4 exactly, not
    12.4000000000000003552713678800500929355621337890625): that is the decimal the
    instrument printed or the QMS wrote. A str must be a finite decimal.

    Raises:
        ValueError: the value is a bool, NaN, infinite, or not a decimal string.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {value!r}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value!r}")
        return _float_fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"expected a finite number, got {value!r}")
        return Fraction(value)
    try:
        dec = Decimal(value.strip())
    except ArithmeticError:
        raise ValueError(f"expected a decimal number, got {value!r}") from None
    if not dec.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return Fraction(dec)


@functools.lru_cache(maxsize=4096)
def _float_fraction(value: float) -> Fraction:
    # Limits, U and nominal values repeat across every measurement of a characteristic;
    # the Decimal round trip costs ~5 µs, the cache lookup ~0.1 µs (Fractions are immutable).
    return Fraction(Decimal(repr(value)))


@overload
def convert(value: float, from_unit: str, to_unit: str) -> float: ...
@overload
def convert(value: Decimal, from_unit: str, to_unit: str) -> Decimal: ...
@overload
def convert(value: Fraction, from_unit: str, to_unit: str) -> Fraction: ...
def convert(
    value: float | Decimal | Fraction, from_unit: str, to_unit: str
) -> float | Decimal | Fraction:
    """Convert `value` from `from_unit` to `to_unit` with the exact factor.

    The result has the argument's type: a Fraction stays exact, a Decimal is rounded once
    to the current decimal context, a float is computed exactly and rounded once to the
    nearest float (so ``convert(0.4882, "in", "mm") == 12.40028``).

    Raises:
        UnitError: unknown or incompatible units (see `factor`).
        ValueError: a non-finite value.
    """
    f = factor(from_unit, to_unit)
    if isinstance(value, Fraction):
        return value * f
    if isinstance(value, Decimal):
        exact(value)  # rejects NaN/inf with a clear message
        return value * Decimal(f.numerator) / Decimal(f.denominator)
    return float(exact(value) * f)


__all__ = [
    "DIMENSIONS",
    "Number",
    "Unit",
    "UnitError",
    "canonical",
    "compatible",
    "convert",
    "exact",
    "factor",
    "find_unit",
    "known_units",
    "lookup",
    "same_unit",
]
