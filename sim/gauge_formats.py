"""Byte-exact frame formatters of the simulated gauges, one per protocol (Mitutoyo USB-ITN /
Digimatic interface manuals).

They are the inverse of the drivers' parsers: `format_x(value)` parsed by `parse_frame` gives
the same Decimal back, which the tests check with hypothesis. Each returns the whole frame,
terminator included. The value keeps its Decimal exponent, so ``Decimal("12.340")`` is sent
with three decimals, as a gauge with 0.001 resolution would.
"""

from __future__ import annotations

from decimal import Decimal


def _sign(value: Decimal) -> str:
    return "-" if value < 0 else "+"


def _digits(value: Decimal, width: int) -> str:
    """|value| in fixed point, zero-padded on the left to `width` characters."""
    return format(value.copy_abs(), "f").zfill(width)


def format_mitutoyo(value: Decimal, *, width: int = 8, channel: int = 1) -> bytes:
    """``01A+0012.346<CR>``: 8 value characters on the QM-Height, wider when needed."""
    return f"0{channel}A{_sign(value)}{_digits(value, width)}\r".encode("ascii")


def format_sylvac(value: Decimal, *, width: int = 7, tolerance: str = "") -> bytes:
    """``+012.345<CR>``, optionally with the tolerance flag ``<``, ``=`` or ``>``."""
    return f"{_sign(value)}{_digits(value, width)}{tolerance}\r".encode("ascii")


def format_mahr(value: Decimal, unit: str = "mm", *, tolerance: str = "=") -> bytes:
    """Millimar C1202 (``?`` → all features): ``1 +012.345 mm =<CR>``."""
    tol = f" {tolerance}" if tolerance else ""
    return f"1 {_sign(value)}{_digits(value, 7)} {unit}{tol}\r".encode("latin-1")


def format_mahr_optors(value: Decimal, unit: str = "mm") -> bytes:
    """Millimar C1208/C1216 OPTORS: ``12.345mm<CR><LF>`` (minus sign only when negative)."""
    sign = "-" if value < 0 else ""
    return f"{sign}{format(value.copy_abs(), 'f')}{unit}\r\n".encode("latin-1")


def format_mtsics(value: Decimal, unit: str = "g", *, stable: bool = True) -> bytes:
    """``S S     100.00 g<CR><LF>``: the value right-aligned in a 10-character field."""
    status = "S" if stable else "D"
    return f"S {status} {format(value, 'f'):>10} {unit}\r\n".encode("latin-1")


def format_mtsics_tare(value: Decimal, unit: str = "g") -> bytes:
    """``T S      2.486 g<CR><LF>``: the reply to ``T``."""
    return f"T S {format(value, 'f'):>10} {unit}\r\n".encode("latin-1")


def format_ascii(value: Decimal, unit: str = "mm") -> bytes:
    """A generic line device: ``+12.346 mm<CR><LF>`` (matches the contract's example pattern)."""
    return f"{_sign(value)}{format(value.copy_abs(), 'f')} {unit}\r\n".encode("latin-1")


__all__ = [
    "format_ascii",
    "format_mahr",
    "format_mahr_optors",
    "format_mitutoyo",
    "format_mtsics",
    "format_mtsics_tare",
    "format_sylvac",
]
