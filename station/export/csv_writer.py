"""CSV export: one row per measurement, for spreadsheets and statistics tools (issue 18).

RFC 4180: comma-separated, fields with a comma, quote or line break quoted with doubled
quotes, CRLF record ends, one header row. UTF-8 with a byte-order mark, so that a spreadsheet
(Excel, LibreOffice) opens non-ASCII names without an import wizard: Excel reads a BOM-less
CSV in the machine's ANSI code page. Numbers use a decimal point and are written as the
shortest text that round-trips (`repr`), never in a locale's format; times are given twice,
UTC (`ts_utc`, as recorded) and site local (`ts_local`, `[station] timezone`, ISO 8601 with
its offset), so a quality engineer can sort and still read the bench's clock.

The writer streams: one record in, its rows out; memory stays flat however large the store.
The file is written beside its target as `NAME.tmp` and renamed when complete.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from datetime import tzinfo
from pathlib import Path
from typing import Any

from station.export.errors import ExportError
from station.export.source import local_time
from station.store import Record

COLUMNS = (
    "inspection_id",
    "seq",
    "ts_utc",
    "ts_local",
    "plan",
    "rev",
    "part_number",
    "serial",
    "lot",
    "characteristic",
    "sample",
    "kind",
    "value",
    "unit",
    "raw",
    "nominal",
    "lsl",
    "usl",
    "rule",
    "u",
    "verdict",
    "instrument",
    "cal_due",
    "operator",
    "result",
)


def rows_of(record: Record, zone: tzinfo) -> Iterable[tuple[Any, ...]]:
    """The CSV rows of one inspection record, one per measurement. None is written as an
    empty field and a float as its shortest round-trip text (`csv` uses `repr`)."""
    body = record.body
    part = body["part"]
    # What every row of the record repeats, looked up once.
    rid, seq, operator, result = record.id, record.seq, body["operator"], body["result"]
    plan, rev = body["plan"]["id"], body["plan"]["rev"]
    number, serial, lot = part["number"], part.get("serial"), part.get("lot")
    for m in body["measurements"]:
        ts = str(m["ts"])
        get = m.get
        yield (
            rid,
            seq,
            ts,
            local_time(ts, zone).isoformat(timespec="milliseconds"),
            plan,
            rev,
            number,
            serial,
            lot,
            m["characteristic"],
            m["sample"],
            m["kind"],
            get("value"),
            get("unit"),
            get("raw"),
            get("nominal"),
            get("lsl"),
            get("usl"),
            get("rule"),
            get("u"),
            m["verdict"],
            get("instrument"),
            get("cal_due"),
            operator,
            result,
        )


class _Lines:
    """What `csv.writer` writes to: each formatted row appended to a list."""

    def __init__(self, lines: list[str]) -> None:
        self.write = lines.append


def csv_target(out: Path) -> Path:
    """The file a CSV export writes: `out` itself, or `inspections.csv` inside a folder."""
    return out / "inspections.csv" if out.is_dir() else out


def write_csv(
    records: Iterable[Record], out: Path, *, zone: tzinfo, overwrite: bool = False
) -> tuple[Path, int]:
    """Write every measurement of `records` to `out` (a file, or a folder for
    `inspections.csv`); returns the file and the number of rows.

    Raises:
        ExportError: the file exists and `overwrite` is false, or its folder is missing.
    """
    target = csv_target(out)
    if target.exists() and not overwrite:
        raise ExportError(f"{target} exists: choose another --out or pass --force")
    if not target.parent.is_dir():
        raise ExportError(f"{target.parent} is not a folder")
    tmp = target.with_name(target.name + ".tmp")
    rows = 0
    # The rows of a batch of records are joined in memory and written at once: a write per
    # row through the text layer costs as much as the csv module's formatting. The BOM is
    # written by hand so that the encoder is the C fast path of plain UTF-8.
    batch: list[str] = []
    writer = csv.writer(_Lines(batch), lineterminator="\r\n")  # RFC 4180 2.1: CRLF
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            fh.write("\ufeff")
            writer.writerow(COLUMNS)
            for n, record in enumerate(records, start=1):
                got = list(rows_of(record, zone))
                writer.writerows(got)
                rows += len(got)
                if n % 200 == 0:
                    fh.write("".join(batch))
                    batch.clear()
            fh.write("".join(batch))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target, rows


__all__ = ["COLUMNS", "csv_target", "rows_of", "write_csv"]
