"""Append-only enforced inside SQLite, tampering caught by `station verify`, and the schema
built by migrations with the durability pragmas on every connection."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from station.store import Store
from station.store.schema import MIGRATIONS

STATION_BIN = str(Path(sys.executable).parent / "station")


@contextmanager
def raw(db_path: Path) -> Iterator[sqlite3.Connection]:
    """What an operator with the sqlite3 shell can do: a plain connection, autocommit."""
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        yield conn


def fill(db_path: Path, mk: Any, n: int = 5) -> None:
    with Store.open(db_path, site="plant-a", station="bench-01") as s:
        for i in range(n):
            s.append("inspection", mk.inspection(mk.measurement(value=12.3 + i / 100)))


def verify_cli(config_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STATION_BIN, "verify", "-c", str(config_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_plain_update_and_delete_of_records_are_aborted_by_triggers(db_path: Path, mk: Any) -> None:
    fill(db_path, mk)
    with raw(db_path) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="records are append-only: UPDATE"):
            conn.execute("UPDATE records SET envelope = '{}' WHERE seq = 3")
        with pytest.raises(sqlite3.IntegrityError, match="records are append-only: DELETE"):
            conn.execute("DELETE FROM records WHERE seq = 5")
        # Even a delivered record cannot be deleted outside Store.prune.
        conn.execute("DELETE FROM undelivered")
        with pytest.raises(sqlite3.IntegrityError, match="records are append-only: DELETE"):
            conn.execute("DELETE FROM records")
        with pytest.raises(sqlite3.IntegrityError, match="seq must be the last seq \\+ 1"):
            conn.execute(
                "INSERT INTO records (seq, id, type, ts, hash, envelope) "
                "VALUES (9, 'x', 'event', 't', 'h', '{}')"
            )
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 5


def test_intact_chain_verifies_with_exit_0(db_path: Path, config_file: Path, mk: Any) -> None:
    fill(db_path, mk)
    out = verify_cli(config_file)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"ok": True, "records": 5, "last_seq": 5}


def test_edited_body_is_caught_by_station_verify_naming_the_seq(
    db_path: Path, config_file: Path, mk: Any
) -> None:
    fill(db_path, mk)
    with raw(db_path) as conn:
        conn.execute("DROP TRIGGER records_no_update")
        conn.execute(
            "UPDATE records SET envelope = replace(envelope, '\"value\":12.32', '\"value\":12.35') "
            "WHERE seq = 3"
        )
        assert conn.total_changes == 1
    out = verify_cli(config_file)
    assert out.returncode == 1
    assert out.stderr.startswith("seq 3: hash mismatch")


def test_rehashing_the_edited_record_breaks_the_link_to_the_next_one(
    db_path: Path, config_file: Path, mk: Any
) -> None:
    fill(db_path, mk)
    with raw(db_path) as conn:
        conn.execute("DROP TRIGGER records_no_update")
        text = conn.execute("SELECT envelope FROM records WHERE seq = 2").fetchone()[0]
        forged = text.replace('"value":12.31', '"value":12.39')
        assert forged != text
        digest = hashlib.sha256(forged.encode("utf-8")).hexdigest()
        conn.execute("UPDATE records SET envelope = ?, hash = ? WHERE seq = 2", (forged, digest))
    out = verify_cli(config_file)
    assert out.returncode == 1
    assert out.stderr.startswith("seq 3: prev ")


def test_deleted_record_is_reported_as_missing(db_path: Path, config_file: Path, mk: Any) -> None:
    fill(db_path, mk)
    with raw(db_path) as conn:
        conn.execute("DROP TRIGGER records_no_delete")
        conn.execute("DELETE FROM records WHERE seq = 4")
    out = verify_cli(config_file)
    assert out.returncode == 1
    assert out.stderr.strip() == "seq 4: missing (next stored record is seq 5)"


def test_non_canonical_or_mismatched_envelope_is_reported(db_path: Path, mk: Any) -> None:
    fill(db_path, mk, n=2)
    with raw(db_path) as conn:
        conn.execute("DROP TRIGGER records_no_update")
        conn.execute("UPDATE records SET type = 'event' WHERE seq = 2")
    with Store.open(db_path, site="plant-a", station="bench-01") as s:
        result = s.verify()
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 2, 1)
    assert result.reason == "envelope type 'inspection' differs from column 'event'"


def test_status_prints_the_contract_keys(db_path: Path, config_file: Path, mk: Any) -> None:
    fill(db_path, mk, n=3)
    with Store.open(db_path, site="plant-a", station="bench-01") as s:
        s.mark_delivered([1])
        first_ts = s.record(2).ts  # type: ignore[union-attr]
    out = subprocess.run(
        [STATION_BIN, "status", "-c", str(config_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    contract = ["last_seq", "pending", "delivered_seq", "oldest_pending_ts", "db_bytes"]
    assert list(status) == [*contract, "health", "problems", "clock"]  # extensions after
    assert (status["health"], status["problems"], status["clock"]) == ("ok", [], "ok")
    assert status["last_seq"] == 3 and status["pending"] == 2 and status["delivered_seq"] == 1
    assert status["oldest_pending_ts"] == first_ts
    assert status["db_bytes"] >= db_path.stat().st_size > 0


def test_every_connection_gets_wal_and_synchronous_full(db_path: Path) -> None:
    with (
        Store.open(db_path, site="p", station="b") as a,
        Store.open(db_path, site="p", station="b") as b,
    ):
        for s in (a, b):
            conn = s._conn()  # the pragmas are per connection: look at each one
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_an_older_schema_is_upgraded_by_the_pending_migrations(db_path: Path, mk: Any) -> None:
    db_path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        MIGRATIONS.apply(Database(conn), stop_before="0002_indexes")
        assert "ix_value" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    with Store.open(db_path, site="p", station="b") as s:
        s.append("inspection", mk.inspection())
        assert s.last_values("P-1001", "bore-dia") == [12.346]
    with closing(sqlite3.connect(db_path)) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert names == [m.name for m in MIGRATIONS.pending(Database(memory=True))]
