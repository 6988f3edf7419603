"""AQDEF (Q-DAS ASCII transfer format, "DFQ") export: one file per plan revision, for a qs-STAT
data-pool folder and any other AQDEF reader (issue 18; contract station.md, `station export`).

Each file: K0100, the part (K1001 number, K1002 title), the characteristics (K2001 id, K2002
name, K2004 type, K2022 decimal places, K2101 nominal, K2110/K2111 limits, K2142 unit), the
operator and gauge catalogues, then the value lines. The decisions, and what they rest on (the
Q-DAS K-field list, "Q-DAS ASCII Transfer Format", and the sample files qs-STAT ships):

- Encoding: Windows-1252 by default. AQDEF files are single-byte "ANSI" text: every qs-STAT
  sample file with non-ASCII text is Windows-1252 (none is UTF-8), and Q-DAS reads a DFQ
  without a byte-order mark that way. `encoding="utf-8"` writes UTF-8 (no BOM) for readers
  configured for it. A character Windows-1252 cannot hold (e.g. "Ω") is written as "?": one
  exotic character in a name must not abort an export of a million measurements at a bench;
  the CSV export keeps the exact text. Decimal point ".", CRLF line ends.
- K2004: 0 variable, 1 attribute. K2022: the most decimal places any value of the
  characteristic showed, from the value and the instrument's raw reading (which keeps the
  trailing zeros of its resolution, 12.340, that a float drops); the plan has no resolution.
- K0002: 0 for every measured value, whatever its verdict (fail, indeterminate): K0002 flags
  the value's validity, not conformance; qs-STAT judges a valid value against K2110/K2111
  (its Out_of_Spec samples carry 0 on values beyond the limit). 255 ("empty data field"):
  no value of that characteristic in that event.
- Attribute values: K0020 subgroup size (in thousandths, as qs-STAT writes it: 1000 is one
  part) and K0021 the number nonconforming (1 for a fail, 0 for a pass) in front of the usual
  fields, K0001 unused (0); qs-STAT's attribute samples are written so.
- K0008 operator and K0012 gauge are catalogue keys (I10 "catalog based"), not text: each
  file numbers its operators and instruments from 1 in order of appearance and carries the
  catalogues, K4092/key the operator (the record's operator id) and K4072/key the gauge
  number (the instrument id). K0012 is 0 for a value without an instrument.
- K0014 part ident (the serial) and K0009 text (the inspection's reason) follow each value
  line as coded lines `K0014/i`, `K0009/i` for each characteristic i with a value, the way
  qs-STAT adds fields beyond the value line's ten. K0015 "reason for test" is an I5 code from
  a list Q-DAS defines and the contract's free reasons do not map to, so it is not written.
- K0006 batch: the part's lot. K1001: the plan's first part number (the record's when the
  revision is unknown); K1002 the plan title.
- Samples: a value line is one measurement event of the part. A characteristic with n samples
  gives n events: value line k carries sample k of every characteristic that has one, and
  K0002 255 for the others. So qs-STAT sees n values of it for that part, each with its time.
- A revision `plans()` does not know: the characteristics the measurements carry (id, unit,
  nominal and limits), in order of appearance.

Streaming: one pass over the records, one open output per plan revision, memory flat. The
values go to `NAME.values.tmp`; at the end the header (whose K2022 and catalogues the values
decide) is written to `NAME.tmp`, the values appended, fsynced and renamed to NAME, so a
data-pool folder never sees half a file. On an error every temporary file is removed.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import IO, Any

from station.export.dfq_format import (
    CHAR,
    EOL,
    VARIABLE,
    Characteristic,
    decimals_of,
    header,
    number,
    text,
)
from station.export.dfq_format import value_fields as fields_of
from station.export.errors import ExportError
from station.export.source import PlanLookup
from station.store import Record

# Windows-1252, what Q-DAS reads a DFQ as by default: the sample DFQ files qs-STAT ships
# (Q-DAS GmbH, e.g. GER/ATTRIBUTIV.DFQ) are Windows-1252 text, none of them UTF-8.
DEFAULT_ENCODING = "cp1252"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def file_name(plan_id: str, rev: str) -> str:
    """`P-1001_rev-C.dfq`: letters, digits, `.`, `_`, `-` only, safe on Windows and Samba."""
    return f"{_UNSAFE.sub('_', plan_id)}_rev-{_UNSAFE.sub('_', rev)}.dfq"


@dataclass
class _Sheet:
    """One plan revision's file while it is written."""

    target: Path
    part_number: str
    title: str
    chars: dict[str, Characteristic]
    values: IO[str]
    operators: dict[str, int] = field(default_factory=dict)
    instruments: dict[str, int] = field(default_factory=dict)

    @property
    def values_path(self) -> Path:
        return self.target.with_name(self.target.name + ".values.tmp")

    @property
    def tmp_path(self) -> Path:
        return self.target.with_name(self.target.name + ".tmp")

    def key(self, catalogue: dict[str, int], name: str | None) -> int:
        if name is None:
            return 0
        return catalogue.setdefault(name, len(catalogue) + 1)

    def add(self, body: dict[str, Any], zone: tzinfo) -> None:
        """Write the value lines of one inspection: one per sample number. A characteristic
        without a value in a line gets the empty field (K0002 255) and no coded lines: a
        `K0014/i` after an empty field would name the part of the characteristic's previous
        value. (Hot path of a million-row export: the per-value work is inlined.)"""
        chars = self.chars
        by_sample: dict[int, dict[str, dict[str, Any]]] = {}
        for m in body["measurements"]:
            cid = str(m["characteristic"])
            if cid not in chars:
                chars[cid] = Characteristic.from_measurement(len(chars) + 1, m)
            by_sample.setdefault(int(m["sample"]), {})[cid] = m
        part = body["part"]
        lot = text(part.get("lot") or "")
        serial = part.get("serial")
        reason = body.get("reason")
        tail = (
            f" {text(serial)}{EOL}" if serial else "",
            f" {text(reason)}{EOL}" if reason else "",
        )
        operator = self.key(self.operators, str(body["operator"]))
        instruments = self.instruments
        lines = []
        for sample in sorted(by_sample):
            ms = by_sample[sample]
            parts = []
            coded = []
            for c in chars.values():
                m = ms.get(c.id)
                if m is None:
                    parts.append(c.empty)
                    continue
                instrument = m.get("instrument")
                gauge = (
                    0
                    if instrument is None
                    else instruments.setdefault(instrument, len(instruments) + 1)
                )
                value_text = None
                if c.kind == VARIABLE and m.get("value") is not None:
                    value_text = number(m["value"])
                    places = decimals_of(m, value_text)
                    if c.decimals is None or places > c.decimals:
                        c.decimals = places
                fields = fields_of(
                    c, m, zone, lot=lot, operator=operator, gauge=gauge, value_text=value_text
                )
                parts.append(fields)
                if fields != c.empty:
                    if tail[0]:
                        coded.append(f"K0014/{c.index}{tail[0]}")
                    if tail[1]:
                        coded.append(f"K0009/{c.index}{tail[1]}")
            lines.append(CHAR.join(parts) + EOL + "".join(coded))
        self.values.write("".join(lines))  # one write per inspection: the encoder is Python

    def finish(self, encoding: str) -> None:
        """Header + values into NAME.tmp, fsync, rename to NAME."""
        self.values.close()
        with self.tmp_path.open("w", encoding=encoding, errors="replace", newline="") as out:
            lines = header(
                self.part_number,
                self.title,
                self.chars.values(),
                self.operators,
                self.instruments,
            )
            out.writelines(line + EOL for line in lines)
            out.flush()
            with self.values_path.open("rb") as values:
                shutil.copyfileobj(values, out.buffer, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.replace(self.tmp_path, self.target)
        self.values_path.unlink()

    def discard(self) -> None:
        self.values.close()
        self.values_path.unlink(missing_ok=True)
        self.tmp_path.unlink(missing_ok=True)


def _single_file(out: Path) -> bool:
    return out.suffix.lower() == ".dfq" and not out.is_dir()


def _target(out: Path, plan_id: str, rev: str, sheets: dict[tuple[str, str], _Sheet]) -> Path:
    if _single_file(out):
        if sheets:
            (first_id, first_rev), *_ = sheets
            raise ExportError(
                f"{out} is one file, but the inspections cover more than one plan revision "
                f"({first_id} rev {first_rev}, {plan_id} rev {rev}): give a folder as --out "
                "or choose one --plan"
            )
        return out
    target = out / file_name(plan_id, rev)
    for other in sheets.values():
        if other.target == target:
            raise ExportError(f"two plan revisions would both be written to {target}")
    return target


def _open_sheet(
    out: Path,
    plan_key: tuple[str, str],
    body: dict[str, Any],
    *,
    plans: PlanLookup,
    encoding: str,
    overwrite: bool,
    sheets: dict[tuple[str, str], _Sheet],
) -> _Sheet:
    plan_id, rev = plan_key
    target = _target(out, plan_id, rev, sheets)
    if target.exists() and not overwrite:
        raise ExportError(f"{target} exists: choose another --out or pass --force")
    plan = plans(plan_id, rev)
    if plan is None:
        chars: dict[str, Characteristic] = {}
        part_number, title = str(body["part"]["number"]), plan_id
    else:
        chars = {
            str(c["id"]): Characteristic.from_plan(i, c)
            for i, c in enumerate(plan["characteristics"], start=1)
        }
        part_number = str(plan["part_numbers"][0])
        title = str(plan.get("title") or plan_id)
    values_path = target.with_name(target.name + ".values.tmp")
    values = values_path.open("w", encoding=encoding, errors="replace", newline="")
    return _Sheet(target, part_number, title, chars, values)


def write_dfq(
    records: Iterable[Record],
    plans: PlanLookup,
    out: Path,
    *,
    zone: tzinfo,
    encoding: str = DEFAULT_ENCODING,
    overwrite: bool = False,
) -> list[Path]:
    """Write `records` (inspections, in seq order) as one DFQ file per plan revision into the
    folder `out`, or into the file `out` (`*.dfq`) when they cover one revision; returns the
    files written, in order of first appearance (none when there are no records).

    Raises:
        ExportError: a file exists and `overwrite` is false; `out` is a missing folder, or a
            file while several revisions are exported. Nothing is written then.
    """
    folder = out.parent if _single_file(out) else out
    if not folder.is_dir():
        raise ExportError(f"{folder} is not a folder")
    sheets: dict[tuple[str, str], _Sheet] = {}
    try:
        for record in records:
            body = record.body
            key = (str(body["plan"]["id"]), str(body["plan"]["rev"]))
            sheet = sheets.get(key)
            if sheet is None:
                sheet = sheets[key] = _open_sheet(
                    out,
                    key,
                    body,
                    plans=plans,
                    encoding=encoding,
                    overwrite=overwrite,
                    sheets=sheets,
                )
            sheet.add(body, zone)
        for sheet in sheets.values():
            if sheet.target.exists() and not overwrite:
                raise ExportError(f"{sheet.target} exists: choose another --out or pass --force")
        for sheet in sheets.values():
            sheet.finish(encoding)
    except BaseException:
        for sheet in sheets.values():
            sheet.discard()
        raise
    _sync_folder(folder)
    return [sheet.target for sheet in sheets.values()]


def _sync_folder(folder: Path) -> None:
    """Make the renames durable (POSIX); Windows cannot open a folder and needs no call."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["DEFAULT_ENCODING", "file_name", "write_dfq"]
