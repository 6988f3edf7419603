"""`station export csv` (issue 18): one RFC 4180 row per measurement from a real store, read
back with Python's csv module (an independent reader of the format), through the real CLI.

Checked: the header, every field of a variable and an attribute measurement, UTC and site
local times (America/Chicago: the calendar-day filter is judged there), `--since/--until`
and `--plan`, non-ASCII text, refusal to overwrite, and that an export opens in a
spreadsheet without a wizard (UTF-8 with BOM, CRLF, quoted commas and quotes).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from station.cli import main
from station.export.csv_writer import COLUMNS
from station.store import Store
from tests.helpers.records import inspection, measurement

CONFIG = """[station]
id = "bench-01"
site = "plant-a"
data_dir = "data"
timezone = "America/Chicago"
"""


def attribute(ts: str) -> dict[str, Any]:
    return {
        "characteristic": "visual-burr",
        "sample": 1,
        "kind": "attribute",
        "value": None,
        "unit": None,
        "raw": None,
        "verdict": "fail",
        "instrument": None,
        "cal_due": None,
        "ts": ts,
    }


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    """A config and a store with three inspections on two site days and two plans."""
    cfg = tmp_path / "station.toml"
    cfg.write_text(CONFIG, "utf-8")
    (tmp_path / "data").mkdir()
    with Store.open(tmp_path / "data" / "station.db", site="plant-a", station="bench-01") as s:
        # 2026-11-21 23:30 in Chicago is 2026-11-22 05:30 UTC: the site's day is the 21st.
        late = "2026-11-22T05:30:00.000Z"
        first = inspection(measurement(ts=late), attribute(late), result="reject")
        first["completed"] = late
        first["operator"] = "op-Weiß"
        first["part"]["lot"] = 'L,42 "north"'
        s.append("inspection", first)
        second = inspection(measurement(value=12.399, ts="2026-11-22T15:00:00.000Z"))
        second["completed"] = "2026-11-22T15:00:00.000Z"
        s.append("inspection", second)
        third = inspection(measurement(ts="2026-11-22T16:00:00.000Z"), plan=("P-2001", "A"))
        third["completed"] = "2026-11-22T16:00:00.000Z"
        s.append("inspection", third)
        s.append("event", {"kind": "login", "operator": "op-17", "detail": {}})
    return cfg


def export(cfg: Path, out: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["export", "csv", "-c", str(cfg), "--out", str(out), *args])


def rows(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: spreadsheets open it without a wizard
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_every_measurement_is_one_row_with_its_fields(bench: Path, tmp_path: Path) -> None:
    result = export(bench, tmp_path)
    assert result.exit_code == 0, result.output
    target = tmp_path / "inspections.csv"
    assert result.output.strip() == f"{target}: 4 measurements"
    got = rows(target)
    assert list(got[0]) == list(COLUMNS)
    bore, burr = got[0], got[1]
    assert bore["seq"] == "1" and bore["inspection_id"] == burr["inspection_id"]
    assert (bore["plan"], bore["rev"], bore["characteristic"], bore["value"]) == (
        "P-1001",
        "C",
        "bore-dia",
        "12.346",
    )
    assert (bore["unit"], bore["raw"], bore["lsl"], bore["usl"], bore["nominal"]) == (
        "mm",
        "01A+0000012.346",
        "12.3",
        "12.4",
        "12.35",
    )
    assert (bore["instrument"], bore["cal_due"], bore["verdict"], bore["result"]) == (
        "CAL-0042",
        "2027-03-01",
        "pass",
        "reject",
    )
    assert bore["ts_utc"] == "2026-11-22T05:30:00.000Z"
    assert bore["ts_local"] == "2026-11-21T23:30:00.000-06:00"
    assert bore["operator"] == "op-Weiß" and bore["lot"] == 'L,42 "north"'
    assert (burr["kind"], burr["value"], burr["unit"], burr["verdict"]) == (
        "attribute",
        "",
        "",
        "fail",
    )


def test_dates_are_site_days_and_plan_filters(bench: Path, tmp_path: Path) -> None:
    out = tmp_path / "day.csv"
    assert export(bench, out, "--since", "2026-11-21", "--until", "2026-11-21").exit_code == 0
    assert [r["ts_utc"] for r in rows(out)] == ["2026-11-22T05:30:00.000Z"] * 2
    assert export(bench, out, "--since", "2026-11-22", "--force").exit_code == 0
    assert [r["value"] for r in rows(out)] == ["12.399", "12.346"]
    assert export(bench, out, "--plan", "P-2001", "--force").exit_code == 0
    assert [r["plan"] for r in rows(out)] == ["P-2001"]


def test_nothing_is_overwritten_without_force(bench: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    out.write_text("keep me", "utf-8")
    result = export(bench, out)
    assert result.exit_code == 2
    assert f"station export: {out} exists: choose another --out or pass --force" in result.output
    assert out.read_text("utf-8") == "keep me"
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_dates_are_refused_before_anything_is_read(bench: Path, tmp_path: Path) -> None:
    result = export(bench, tmp_path, "--since", "21.11.2026")
    assert result.exit_code == 2 and "must be a date YYYY-MM-DD" in result.output
    result = export(bench, tmp_path, "--since", "2026-11-22", "--until", "2026-11-21")
    assert result.exit_code == 2 and "is after --until" in result.output
    assert not (tmp_path / "inspections.csv").exists()


def test_the_header_names_every_column_the_issue_lists(bench: Path, tmp_path: Path) -> None:
    """Issue 18's list: inspection id and seq, time in UTC and site local, plan and rev, part
    number/serial/lot, characteristic, sample, value, unit, raw, nominal/lsl/usl, rule, u,
    verdict, instrument, cal_due, operator, result (and the measurement's kind)."""
    assert export(bench, tmp_path).exit_code == 0
    header = (tmp_path / "inspections.csv").read_bytes().decode("utf-8-sig").split("\r\n")[0]
    assert header.split(",") == [
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
    ]
