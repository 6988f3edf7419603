"""The AQDEF (Q-DAS ASCII transfer format, DFQ) text of one plan revision: the K-field lines of
the part, its characteristics and the catalogues, and the value lines of one inspection.

Pure functions and small frozen records; `station.export.dfq` owns files and streaming. The
field definitions followed here (numbers, types, lengths, codes) are the AQDEF K-field list of
Q-DAS GmbH as qs-STAT writes it; see `station.export.dfq` for each decision and its source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from station.export.source import local_time

# AQDEF value line: 0x14 (DC4) between the fields of one characteristic's value, 0x0F (SI)
# between characteristics; one line per measurement event.
FIELD = F = "\x14"
CHAR = "\x0f"
EOL = "\r\n"

# K2004 characteristic type: 0 variable, 1 attribute (Q-DAS K-field list, "defined field
# contents"; qs-STAT's own attribute sample files carry K2004/i 1).
VARIABLE, ATTRIBUTE = 0, 1
# K0002 attribute of a value: 0 a valid value; 255 an empty field (no value for this
# characteristic in this event). Out of tolerance is not a K0002 code: qs-STAT judges a valid
# value against K2110/K2111 itself (its Out_of_Spec samples mark such values 0).
VALID, EMPTY = 0, 255
# K0020 subgroup size of an attribute value is written in thousandths: one part is 1000
# (qs-STAT's sample files write 1000 per part and 100000 for 100).
ONE_PART = "1000"
# A characteristic's part of a value line when it has no value in that event (K0002 255):
# K0001 0 and K0002 255; an attribute's K0020 and K0021 in front (0, 0).
EMPTY_VARIABLE = f"0{FIELD}{EMPTY}"
EMPTY_ATTRIBUTE = f"0{FIELD}0{FIELD}0{FIELD}{EMPTY}"

_CONTROL = {c: " " for c in (*range(0x20), 0x7F)}
_RAW_DECIMALS = re.compile(r"[0-9][.,]([0-9]+)")


def text(value: object) -> str:
    """A text field: control characters (the separators 0x0F/0x14, CR, LF) become spaces, so
    that no text can end a line or split a field."""
    return str(value).translate(_CONTROL)


def number(x: float) -> str:
    """A number with a decimal point, never an exponent or a locale's comma: the shortest text
    that reads back as the same float (a float from JSON is the instrument's decimal)."""
    if isinstance(x, int):
        return str(x)
    r = repr(float(x))
    return format(Decimal(r), "f") if "e" in r else r


def decimals_of(m: Mapping[str, Any], value_text: str | None = None) -> int:
    """The decimal places a measurement shows: of its value (`value_text`: its `number()`,
    when the caller has it already), and of the instrument's raw reading (which keeps
    trailing zeros, 12.340, that a float drops)."""
    places = 0
    value = m.get("value")
    s = value_text
    if s is None and isinstance(value, int | float) and not isinstance(value, bool):
        s = number(value)
    if s is not None and "." in s and not s.endswith(".0"):
        places = len(s) - s.index(".") - 1
    raw = m.get("raw")
    if isinstance(raw, str):
        found = _RAW_DECIMALS.findall(raw)
        if found:
            places = max(places, len(found[-1]))
    return places


def timestamp(ts: str, zone: tzinfo) -> str:
    """K0004 `dd.mm.yyyy/HH:MM:SS` in the site's local time."""
    d = local_time(ts, zone)
    # %-formatting: twice as fast as the f-string with six format specs (a million a run).
    return "%02d.%02d.%04d/%02d:%02d:%02d" % (d.day, d.month, d.year, d.hour, d.minute, d.second)  # noqa: UP031


@dataclass
class Characteristic:
    """One characteristic of the file, as its K2xxx fields: mutable only in `decimals`, the
    largest number of decimal places its values showed (K2022; None: no value seen)."""

    index: int
    id: str
    name: str
    kind: int
    nominal: float | None
    lsl: float | None
    usl: float | None
    unit: str | None
    decimals: int | None = None
    # This characteristic's part of a value line without a value (K0002 255), by its kind.
    empty: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.empty = EMPTY_ATTRIBUTE if self.kind == ATTRIBUTE else EMPTY_VARIABLE

    @classmethod
    def from_plan(cls, index: int, c: Mapping[str, Any]) -> Characteristic:
        return cls(
            index,
            str(c["id"]),
            str(c.get("name") or c["id"]),
            ATTRIBUTE if c["kind"] == "attribute" else VARIABLE,
            c.get("nominal"),
            c.get("lsl"),
            c.get("usl"),
            c.get("unit"),
        )

    @classmethod
    def from_measurement(cls, index: int, m: Mapping[str, Any]) -> Characteristic:
        """For a plan revision the store does not hold: what the measurement carries."""
        return cls(
            index,
            str(m["characteristic"]),
            str(m["characteristic"]),
            ATTRIBUTE if m["kind"] == "attribute" else VARIABLE,
            m.get("nominal"),
            m.get("lsl"),
            m.get("usl"),
            m.get("unit"),
        )

    def lines(self) -> Iterator[str]:
        i = self.index
        yield f"K2001/{i} {text(self.id)}"
        yield f"K2002/{i} {text(self.name)}"
        yield f"K2004/{i} {self.kind}"
        if self.kind == VARIABLE and self.decimals is not None:
            yield f"K2022/{i} {self.decimals}"
        for key, value in (("K2101", self.nominal), ("K2110", self.lsl), ("K2111", self.usl)):
            if value is not None:
                yield f"{key}/{i} {number(value)}"
        if self.unit:
            yield f"K2142/{i} {text(self.unit)}"


def header(
    part_number: str,
    title: str,
    characteristics: Iterable[Characteristic],
    operators: Mapping[str, int],
    instruments: Mapping[str, int],
) -> Iterator[str]:
    """The lines before the values: K0100, the part (K1001/K1002), each characteristic, then
    the operator (K4092 name) and gauge (K4072 number) catalogues that K0008/K0012 point to."""
    chars = list(characteristics)
    yield f"K0100 {len(chars)}"
    yield f"K1001/1 {text(part_number)}"
    yield f"K1002/1 {text(title)}"
    for c in chars:
        yield from c.lines()
    for name, key in operators.items():
        yield f"K4092/{key} {text(name)}"
    for instrument, key in instruments.items():
        yield f"K4072/{key} {text(instrument)}"


def value_fields(
    c: Characteristic,
    m: Mapping[str, Any] | None,
    zone: tzinfo,
    *,
    lot: str,
    operator: int,
    gauge: int,
    value_text: str | None = None,
) -> str:
    """One characteristic's part of a value line. Variable: K0001 value, K0002, K0004 date/time,
    K0005 events, K0006 batch, K0007 nest, K0008 operator, K0010 machine, K0011 process
    parameter, K0012 gauge. Attribute: K0020 subgroup size and K0021 nonconforming count in
    front of the same fields (K0001 unused, 0). `m` None, a variable without a value or an
    attribute judged neither pass nor fail: no value in this event, `c.empty` (K0002 255).
    `value_text`: the value's `number()` when the caller has it already."""
    if m is None:
        return c.empty
    if c.kind == ATTRIBUTE:
        verdict = m["verdict"]
        if verdict not in ("pass", "fail"):
            return EMPTY_ATTRIBUTE
        front = f"{ONE_PART}{FIELD}{int(verdict == 'fail')}{FIELD}0"
    else:
        value = m.get("value")
        if value is None:
            return EMPTY_VARIABLE
        front = number(value) if value_text is None else value_text
    when = timestamp(str(m["ts"]), zone)
    # K0001, K0002, K0004, K0005 "", K0006, K0007 0, K0008, K0010 0, K0011 "", K0012
    return f"{front}{F}{VALID}{F}{when}{F}{F}{lot}{F}0{F}{operator}{F}0{F}{F}{gauge}"


__all__ = [
    "ATTRIBUTE",
    "CHAR",
    "EMPTY",
    "EMPTY_ATTRIBUTE",
    "EMPTY_VARIABLE",
    "EOL",
    "FIELD",
    "VALID",
    "VARIABLE",
    "Characteristic",
    "decimals_of",
    "header",
    "number",
    "text",
    "timestamp",
    "value_fields",
]
