"""The query indexes are derived from the records and checked against them (issue 15).

The re-judgement after an as-found calibration reads `ix_measurement` and `ix_inspection.part`
instead of decoding a year of records; `station verify` therefore recomputes every index row
from the records it derives from, so a damaged or edited index row is found, not trusted. A
store made before the measurement index existed gets it filled from its records on open.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from station.store import Store
from tests.helpers.records import inspection, instrument_check, measurement, study


def filled(db: Path) -> None:
    with Store.open(db, site="plant-a", station="bench-01") as s:
        for i in range(30):
            m1 = measurement(value=12.3 + i / 1000)
            m2 = measurement("seat-dia", 25.0 + i / 1000, instrument="CAL-0043")
            s.append("inspection", inspection(m1, m2, serial=f"SN-{i:04d}"))
            if i % 10 == 0:
                s.append("instrument-check", instrument_check())
        s.append("study", study("CAL-0043", "unacceptable"))
        s.append("study", study("CAL-0043", "acceptable", kind="grr", tolerance=0.2))
        s.append("event", {"kind": "pin-failed", "operator": "op-23", "detail": {}})


def sql(db: Path, statement: str, *args: object) -> None:
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(statement, args)
        conn.commit()


def test_the_indexes_answer_what_the_records_hold(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    filled(db)
    with Store.open(db, site="plant-a", station="bench-01") as s:
        rows = s.measurements_using("CAL-0042")
        assert len(rows) == 30 and {r[1] for r in rows} == {"bore-dia"}
        assert rows[0][3] == 12.3 and rows[-1][3] == pytest.approx(12.329)
        assert rows[0][4:] == ("mm", 12.3, 12.4, "simple", None, "pass")
        parts = s.inspection_parts_using("CAL-0043", after_seq=20)
        ids = [r.id for r in s.inspections_using_after("CAL-0043", 20)]
        assert [rid for rid, _ in parts] == ids
        assert parts[0][1] is not None and '"number":"PN-778"' in parts[0][1]
        assert s.verify().ok


@pytest.mark.parametrize(
    ("edit", "table"),
    [
        ("UPDATE ix_measurement SET value = 12.2 WHERE seq = 5", "ix_measurement"),
        ("UPDATE ix_measurement SET verdict = 'fail' WHERE seq = 7", "ix_measurement"),
        ("DELETE FROM ix_instrument_use WHERE seq = 9", "ix_instrument_use"),
        ("UPDATE ix_inspection SET part = '{}' WHERE seq = 3", "ix_inspection"),
        ("UPDATE ix_check SET verdict = 'fail' WHERE seq = 2", "ix_check"),
        ("UPDATE ix_value SET value = value + 1 WHERE seq = 3", "ix_value"),
        # The study gate reads ix_study: a study hidden from it would let a failed gauge in.
        ("DELETE FROM ix_study WHERE kind = 'type-1'", "ix_study"),
        # Retention reads ix_pin: a wrong PIN hidden from it could be pruned, unlocking.
        ("DELETE FROM ix_pin", "ix_pin"),
    ],
)
def test_verify_finds_an_index_row_that_does_not_match_its_record(
    tmp_path: Path, edit: str, table: str
) -> None:
    db = tmp_path / "s.db"
    filled(db)
    sql(db, edit)
    with Store.open(db, site="plant-a", station="bench-01") as s:
        result = s.verify()
    assert not result.ok and result.first_bad_seq is None  # every record still chains
    [problem] = [p for p in result.problems if "query indexes" in p]
    assert table in problem


def test_a_store_from_before_the_measurement_index_gets_it_filled_on_open(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    filled(db)
    with Store.open(db, site="plant-a", station="bench-01") as s:
        before = (s.measurements_using("CAL-0042"), s.inspection_parts_using("CAL-0042"))
    # Back to the schema of 0.1 (migration 0005): no ix_measurement, no part column.
    sql(db, "DROP TABLE ix_measurement")
    sql(db, "ALTER TABLE ix_inspection DROP COLUMN part")
    sql(db, "DELETE FROM _sqlite_migrations WHERE name = '0006_measurement_index'")
    with Store.open(db, site="plant-a", station="bench-01") as s:
        after = (s.measurements_using("CAL-0042"), s.inspection_parts_using("CAL-0042"))
        assert s.verify().ok
    assert after == before and len(after[0]) == 30


def test_a_store_from_before_the_study_and_pin_indexes_gets_them_filled_on_open(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    filled(db)
    sql(db, "DROP TABLE ix_study")
    sql(db, "DROP TABLE ix_pin")
    sql(db, "DELETE FROM _sqlite_migrations WHERE name IN ('0007_study_index', '0008_pin_index')")
    with Store.open(db, site="plant-a", station="bench-01") as s:
        results = s.study_results("CAL-0043")
        assert s.verify().ok  # ix_pin filled again too: verify recomputes every row
    assert [(r.kind, r.verdict) for r in results] == [
        ("grr", "acceptable"),
        ("type-1", "unacceptable"),
    ]
