"""AQDEF (DFQ) export (issue 18): files from a real store, with the shipped master data, read
back with an independent AQDEF reader (`aqdefreader` 1.3.0, PyPI, run in a venv of its own by
the `aqdef` fixture of conftest.py: its numpy and pandas stay out of the station's venv) and,
for the K-fields that reader skips (catalogues K4092/K4072, K0014, K0009), by line.

Checked: values, limits, nominal, unit, decimals, site-local times, lot, operator and gauge
catalogue keys, part serial; variable and attribute characteristics; samples as value lines;
a plan with two revisions (P-1001 B and C) giving two files; a revision the store does not
know; non-ASCII names in Windows-1252 and UTF-8; refusal to overwrite; one-file output;
a byte-for-byte golden file; CRLF; no temporary file left behind.

aqdefreader's date parser (dateutil) reads `01.02.2026` month first, so the records' days are
after the 12th; the times are checked against the K0004 text as well.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from station.export.dfq import write_dfq
from station.export.errors import ExportError
from station.export.source import ExportFilter, inspections, plan_lookup
from station.master import load_master_dir
from station.store import Store
from tests.helpers.records import inspection, measurement

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
BERLIN = ZoneInfo("Europe/Berlin")
Reader = Callable[..., list[dict[str, Any]]]

# A plan of our own: a non-ASCII characteristic title and a characteristic with 3 samples.
PLAN_3001 = {
    "schema": "qms.master/plan@1",
    "id": "P-3001",
    "rev": "A",
    "status": "released",
    "title": "Flansch Ø40 – Bohrbild",
    "part_numbers": ["PN-3001"],
    "characteristics": [
        {
            "id": "hole-dia",
            "name": "Bohrung Ø12",
            "kind": "variable",
            "nominal": 12.0,
            "lsl": 11.95,
            "usl": 12.05,
            "unit": "mm",
            "instrument_type": "caliper",
            "samples": 3,
        },
        {"id": "thread", "name": "Gewinde prüfen", "kind": "attribute"},
    ],
}


def attribute(verdict: str, ts: str, characteristic: str = "visual-burr") -> dict[str, Any]:
    return {
        "characteristic": characteristic,
        "sample": 1,
        "kind": "attribute",
        "value": None,
        "unit": None,
        "raw": None,
        "verdict": verdict,
        "instrument": None,
        "cal_due": None,
        "ts": ts,
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A store with the shipped master data (P-1001 revs B and C, P-2001) and P-3001."""
    s = Store.open(tmp_path / "station.db", site="plant-a", station="bench-01")
    docs, problems = load_master_dir(ROOT / "config" / "master")
    assert problems == []
    s.bootstrap_master([(d.kind, d.id, d.doc) for d in docs] + [("plan", "P-3001", PLAN_3001)])
    try:
        yield s
    finally:
        s.close()


def export(store: Store, out: Path, **kw: Any) -> list[Path]:
    out.mkdir(exist_ok=True)
    records = inspections(store, ExportFilter(BERLIN))
    return write_dfq(records, plan_lookup(store), out, zone=BERLIN, **kw)


def parse(aqdef: Reader, *paths: Path, encoding: str = "cp1252") -> list[dict[str, Any]]:
    """What aqdefreader parsed from each file, decoded in the encoding it was written in (its
    own `read_dfq_file` guesses the encoding with chardet, unreliably on short files). The
    reader printed no warning (a K0004 it could not read as a date, a field without a value)."""
    files = aqdef(*paths, encoding=encoding)
    for f in files:
        assert [x for x in f["log"] if x.startswith("Warning")] == []
    return files


def coded(path: Path, encoding: str = "cp1252") -> list[tuple[str, int, str]]:
    """Every coded line `Kxxxx/i text` as (key, index, text)."""
    found = []
    for line in path.read_bytes().decode(encoding).split("\r\n"):
        m = re.fullmatch(r"(K\d{4})/(\d+) (.*)", line)
        if m:
            found.append((m[1], int(m[2]), m[3]))
    return found


def part(dfq: dict[str, Any]) -> dict[str, Any]:
    """The file's one part: its K1xxx fields."""
    [only] = dfq["parts"]
    data: dict[str, Any] = only["data"]
    return data


def chars(dfq: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """K2001 -> the characteristic's K2xxx fields (`data`) and `measurements`."""
    return {c["data"]["K2001"]: c for c in dfq["parts"][0]["characteristics"]}


def values(c: dict[str, Any]) -> list[Any]:
    return [m["value"] for m in c["measurements"]]


def test_variable_and_attribute_values_limits_times_and_ids(
    store: Store, tmp_path: Path, aqdef: Reader
) -> None:
    ok = inspection(
        measurement(value=12.346, ts="2026-11-21T08:00:05.000Z"),
        attribute("pass", "2026-11-21T08:00:20.000Z"),
    )
    bad = inspection(
        measurement(value=12.412, instrument="CAL-0007", ts="2026-11-21T13:30:00.000Z"),
        attribute("fail", "2026-11-21T13:30:10.000Z"),
        serial="SN-0002",
        result="reject",
    )
    bad["operator"] = "op-23"
    bad["part"]["lot"] = "L43"
    bad["reason"] = "first-article"
    store.append("inspection", ok)
    store.append("inspection", bad)

    [path] = export(store, tmp_path / "out")
    assert path.name == "P-1001_rev-C.dfq"
    [dfq] = parse(aqdef, path)
    assert part(dfq)["K1001"] == "PN-778"
    assert part(dfq)["K1002"] == "Shaft bushing SB-12: bore, seat and deburring"
    c = chars(dfq)
    assert list(c) == ["bore-dia", "seat-dia", "visual-burr"]
    bore = c["bore-dia"]
    assert bore["data"]["K2002"] == "Bore diameter"
    assert bore["data"]["K2004"] == 0
    assert bore["data"]["K2022"] == 3
    assert float(bore["data"]["K2101"]) == 12.35
    assert (float(bore["data"]["K2110"]), float(bore["data"]["K2111"])) == (12.3, 12.4)
    assert bore["data"]["K2142"] == "mm"
    got = bore["measurements"]
    assert [v["value"] for v in got] == [12.346, 12.412]
    # The out-of-tolerance 12.412 is a valid value (K0002 0): qs-STAT judges it on K2111.
    assert [v["attribute"] for v in got] == [0, 0]
    # Site local time: 08:00:05Z and 13:30:00Z are 09:00:05 and 14:30:00 in Berlin (CET).
    assert [datetime.fromisoformat(v["datetime"]) for v in got] == [
        datetime(2026, 11, 21, 9, 0, 5),
        datetime(2026, 11, 21, 14, 30, 0),
    ]
    assert [v["batch_no"] for v in got] == ["L42", "L43"]
    lines = coded(path)
    operators = {i: name for key, i, name in lines if key == "K4092"}
    gauges = {i: name for key, i, name in lines if key == "K4072"}
    assert [operators[v["controller_no"]] for v in got] == ["op-17", "op-23"]
    assert [gauges[v["control_no"]] for v in got] == ["CAL-0042", "CAL-0007"]
    assert [t for key, i, t in lines if key == "K0014" and i == 1] == ["SN-0001", "SN-0002"]
    assert [t for key, i, t in lines if key == "K0009" and i == 1] == [
        "production",
        "first-article",
    ]
    assert c["seat-dia"]["measurements"] == []  # not measured: K0002 255, skipped
    burr = c["visual-burr"]
    assert burr["data"]["K2004"] == 1
    assert "K2022" not in burr["data"]
    flags = [(m["subgroup_size"], m["error_count"]) for m in burr["measurements"]]
    assert flags == [(1000, 0), (1000, 1)]  # one part (K0020 in thousandths), nonconforming
    text = path.read_bytes().decode("cp1252")
    assert "\x1421.11.2026/14:30:10\x14" in text


def test_a_plan_with_two_revisions_gives_two_files(
    store: Store, tmp_path: Path, aqdef: Reader
) -> None:
    store.append("inspection", inspection(measurement(value=12.29), plan=("P-1001", "B")))
    store.append("inspection", inspection(measurement(value=12.35), plan=("P-1001", "C")))
    store.append("inspection", inspection(measurement(value=12.31), plan=("P-1001", "B")))

    paths = export(store, tmp_path / "out")
    assert [p.name for p in paths] == ["P-1001_rev-B.dfq", "P-1001_rev-C.dfq"]
    b, c = (chars(dfq)["bore-dia"] for dfq in parse(aqdef, *paths))
    assert (float(b["data"]["K2110"]), float(b["data"]["K2111"])) == (12.28, 12.42)
    assert (float(c["data"]["K2110"]), float(c["data"]["K2111"])) == (12.3, 12.4)
    assert values(b) == [12.29, 12.31]
    assert values(c) == [12.35]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [p.name for p in paths]


def test_an_unknown_revision_uses_what_the_measurements_carry(
    store: Store, tmp_path: Path, aqdef: Reader
) -> None:
    m = measurement(value=12.3456)
    m["raw"] = "12.34560"
    store.append("inspection", inspection(m, plan=("P-1001", "Z")))

    [path] = export(store, tmp_path / "out")
    assert path.name == "P-1001_rev-Z.dfq"
    [dfq] = parse(aqdef, path)
    assert part(dfq)["K1001"] == "PN-778"
    [bore] = dfq["parts"][0]["characteristics"]
    assert bore["data"]["K2001"] == "bore-dia"
    assert bore["data"]["K2022"] == 5  # the raw reading's resolution, trailing zero kept
    assert float(bore["data"]["K2101"]) == 12.35
    assert (float(bore["data"]["K2110"]), float(bore["data"]["K2111"])) == (12.3, 12.4)
    assert values(bore) == [12.3456]


def three_samples(operator: str = "Günther Weiß") -> dict[str, Any]:
    hole = [
        measurement("hole-dia", v, sample=i, ts=f"2026-11-21T08:00:0{i}.000Z")
        for i, v in enumerate((12.01, 11.99, 12.0), start=1)
    ]
    for h in hole:
        h.update(nominal=12.0, lsl=11.95, usl=12.05)
    body = inspection(*hole, attribute("pass", "2026-11-21T08:00:09.000Z", "thread"))
    body["plan"] = {"id": "P-3001", "rev": "A"}
    body["part"]["number"] = "PN-3001"
    body["operator"] = operator
    return body


def test_samples_are_one_value_line_each(store: Store, tmp_path: Path, aqdef: Reader) -> None:
    store.append("inspection", three_samples())
    [path] = export(store, tmp_path / "out")
    value_lines = [x for x in path.read_bytes().split(b"\r\n") if x[:1].isdigit()]
    assert len(value_lines) == 3
    [dfq] = parse(aqdef, path)
    c = chars(dfq)
    assert values(c["hole-dia"]) == [12.01, 11.99, 12.0]
    assert len(c["thread"]["measurements"]) == 1  # samples 2 and 3 of it: K0002 255
    assert [t for key, i, t in coded(path) if key == "K0014"] == ["SN-0001"] * 4


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8"])
def test_non_ascii_names_in_both_encodings(
    store: Store, tmp_path: Path, encoding: str, aqdef: Reader
) -> None:
    store.append("inspection", three_samples())
    [path] = export(store, tmp_path / "out", encoding=encoding)
    [dfq] = parse(aqdef, path, encoding=encoding)
    assert part(dfq)["K1002"] == "Flansch Ø40 – Bohrbild"
    assert chars(dfq)["hole-dia"]["data"]["K2002"] == "Bohrung Ø12"
    assert chars(dfq)["thread"]["data"]["K2002"] == "Gewinde prüfen"
    assert ("K4092", 1, "Günther Weiß") in coded(path, encoding)
    raw = path.read_bytes()
    assert ("Weiß".encode(encoding)) in raw
    if encoding == "cp1252":
        assert b"Wei\xdf" in raw and b"\x96" in raw  # ß and the en dash, one byte each


def test_a_character_cp1252_lacks_becomes_a_question_mark(store: Store, tmp_path: Path) -> None:
    store.append("inspection", three_samples(operator="Ωmega"))
    [path] = export(store, tmp_path / "cp")
    assert ("K4092", 1, "?mega") in coded(path)
    [path] = export(store, tmp_path / "utf", encoding="utf-8")
    assert ("K4092", 1, "Ωmega") in coded(path, "utf-8")


def test_separators_and_line_breaks_in_text_cannot_break_the_format(
    store: Store, tmp_path: Path, aqdef: Reader
) -> None:
    body = inspection()
    body["part"]["lot"] = "L\x0f4\x142\r\n"
    store.append("inspection", body)
    [path] = export(store, tmp_path / "out")
    [dfq] = parse(aqdef, path)
    [value] = chars(dfq)["bore-dia"]["measurements"]
    assert value["batch_no"] == "L 4 2  "
    assert value["value"] == 12.346


def test_an_undecided_attribute_is_an_empty_field_without_coded_lines(
    store: Store, tmp_path: Path, aqdef: Reader
) -> None:
    """An attribute judged neither pass nor fail has no value (K0002 255), so no K0014/K0009
    may follow for it: a coded line names the characteristic's last value, which would be the
    previous part's (regression: the writer added them for every measurement)."""
    store.append("inspection", inspection(attribute("pass", "2026-11-21T08:00:20.000Z")))
    second = inspection(
        measurement(value=12.351), attribute("indeterminate", "2026-11-21T09:00:20.000Z")
    )
    second["part"]["serial"] = "SN-0002"
    store.append("inspection", second)
    [path] = export(store, tmp_path / "out")
    [dfq] = parse(aqdef, path)
    burr = chars(dfq)["visual-burr"]["measurements"]
    assert [(m["subgroup_size"], m["error_count"]) for m in burr] == [(1000, 0)]
    assert values(chars(dfq)["bore-dia"]) == [12.351]
    assert [(key, i, t) for key, i, t in coded(path) if key == "K0014"] == [
        ("K0014", 3, "SN-0001"),
        ("K0014", 1, "SN-0002"),
    ]


def test_refuses_to_overwrite_and_writes_nothing(store: Store, tmp_path: Path) -> None:
    store.append("inspection", inspection(plan=("P-1001", "B")))
    store.append("inspection", inspection(plan=("P-1001", "C")))
    out = tmp_path / "out"
    out.mkdir()
    (out / "P-1001_rev-C.dfq").write_bytes(b"old")
    with pytest.raises(ExportError, match=r"P-1001_rev-C\.dfq exists"):
        export(store, out)
    assert sorted(p.name for p in out.iterdir()) == ["P-1001_rev-C.dfq"]
    assert (out / "P-1001_rev-C.dfq").read_bytes() == b"old"
    paths = export(store, out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["P-1001_rev-B.dfq", "P-1001_rev-C.dfq"]
    assert paths[1].read_bytes().startswith(b"K0100 3\r\n")


def test_one_file_out_only_for_one_revision(store: Store, tmp_path: Path) -> None:
    store.append("inspection", inspection(plan=("P-1001", "C")))
    target = tmp_path / "bench.DFQ"
    assert export(store, tmp_path, overwrite=False) != []  # the folder form still works
    assert write_dfq(
        inspections(store, ExportFilter(BERLIN)), plan_lookup(store), target, zone=BERLIN
    ) == [target]
    store.append("inspection", inspection(plan=("P-1001", "B")))
    other = tmp_path / "two.dfq"
    with pytest.raises(ExportError, match="more than one plan revision"):
        write_dfq(inspections(store, ExportFilter(BERLIN)), plan_lookup(store), other, zone=BERLIN)
    assert not other.exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_a_missing_folder_is_refused(store: Store, tmp_path: Path) -> None:
    store.append("inspection", inspection())
    with pytest.raises(ExportError, match="is not a folder"):
        write_dfq(
            inspections(store, ExportFilter(BERLIN)),
            plan_lookup(store),
            tmp_path / "missing",
            zone=BERLIN,
        )


def test_golden_file_crlf_and_no_temporary_file(
    store: Store, tmp_path: Path, aqdef: Reader
) -> None:
    """A tiny store, byte for byte; times chosen by the records, not the clock. The golden
    file itself reads back through the independent reader."""
    first = inspection(
        measurement(value=12.346, ts="2026-11-21T08:00:05.000Z"),
        measurement("seat-dia", 25.012, ts="2026-11-21T08:00:12.000Z"),
        attribute("fail", "2026-11-21T08:00:20.000Z"),
        result="reject",
    )
    first["operator"] = "Günther Weiß"
    second = inspection(
        measurement(value=12.351, instrument="CAL-0007", ts="2026-11-21T09:15:00.000Z"),
        serial="SN-0002",
    )
    store.append("inspection", first)
    store.append("inspection", second)
    out = tmp_path / "out"
    [path] = export(store, out)
    data = path.read_bytes()
    assert data == (GOLDEN / "P-1001_rev-C.dfq").read_bytes()
    assert data.endswith(b"\r\n") and data.count(b"\n") == data.count(b"\r\n")
    assert [p.name for p in out.iterdir()] == ["P-1001_rev-C.dfq"]
    [dfq] = parse(aqdef, GOLDEN / "P-1001_rev-C.dfq")
    c = chars(dfq)
    assert values(c["bore-dia"]) == [12.346, 12.351]
    assert values(c["seat-dia"]) == [25.012]
    assert [m["error_count"] for m in c["visual-burr"]["measurements"]] == [1]
    assert [m["controller_no"] for m in c["bore-dia"]["measurements"]] == [1, 2]
    assert [m["control_no"] for m in c["bore-dia"]["measurements"]] == [1, 2]


def test_no_records_writes_no_file(store: Store, tmp_path: Path) -> None:
    assert export(store, tmp_path / "out") == []
    assert list((tmp_path / "out").iterdir()) == []


def test_the_readers_numpy_and_pandas_stay_out_of_the_station_venv(aqdef_python: Path) -> None:
    """The reader runs in its own venv: with numpy and pandas installed beside the station,
    sqlite-utils imports them in every station process (the chaos run's RSS limits)."""
    assert importlib.util.find_spec("numpy") is None
    assert importlib.util.find_spec("pandas") is None
    assert Path(sys.prefix) not in aqdef_python.parents
