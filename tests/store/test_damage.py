"""A damaged store file is reported, never a traceback: `station verify` names the first bad
seq or what SQLite found (exit 1), `station status` says the store is unhealthy (exit 1),
the sync daemon's reader stops at the first damaged record and says which (issue 13.8).

Everything runs on real SQLite files: one store is built, then copies of it are damaged the
way a failing SD card or a crash damages them (flipped bits, a truncated `-wal`, a schema
page that is no longer UTF-8). The CLI runs in-process through click's runner (the real
commands, exceptions visible) and once as a process.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from station.cli import main
from station.store import Store

STATION_BIN = str(Path(sys.executable).parent / "station")
FLIPS = 60  # bounded: ~0.1 s each on the CI machine
SEED = 1308


def station_toml(folder: Path) -> Path:
    cfg = folder / "station.toml"
    cfg.write_text(f'[station]\nid = "bench-01"\nsite = "plant-a"\ndata_dir = "{folder}"\n')
    return cfg


def build(db: Path, mk: Any, n: int = 120) -> None:
    """A store with inspections, passing checks and a delivered prefix; closed (no -wal)."""
    with Store.open(db, site="plant-a", station="bench-01") as s:
        for i in range(n):
            s.append("inspection", mk.inspection(mk.measurement(value=12.3 + i / 1000)))
            if i % 10 == 0:
                s.append("instrument-check", mk.instrument_check())
        s.mark_delivered_upto(n // 2)
    assert not db.with_name(db.name + "-wal").exists()


def content(db: Path) -> dict[str, Any]:
    """Every row of every table, read raw (bytes for text): what the store holds."""
    uri = f"file:{db}?mode=ro&immutable=1"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        conn.text_factory = bytes
        out: dict[str, Any] = {}
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            try:
                out[name] = conn.execute(f'SELECT * FROM "{name.decode()}"').fetchall()
            except (sqlite3.Error, UnicodeDecodeError) as exc:
                out[name] = repr(exc)
        return out


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_no_traceback(result: Result) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{result.exception!r} escaped: {result.stderr}")


@pytest.fixture
def original(tmp_path: Path, mk: Any) -> Path:
    db = tmp_path / "original" / "station.db"
    build(db, mk)
    return db


def copy_store(original: Path, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True)
    for path in original.parent.iterdir():
        shutil.copy(path, folder / path.name)
    return folder / original.name, station_toml(folder)


def test_random_bit_flips_never_pass_unnoticed_or_raise(original: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    size = original.stat().st_size
    baseline = content(original)
    caught = 0
    for n in range(FLIPS):
        db, cfg = copy_store(original, tmp_path / f"flip{n}")
        data = bytearray(db.read_bytes())
        data[rng.randrange(size)] ^= 1 << rng.randrange(8)
        db.write_bytes(data)
        verify, status = run("verify", "-c", str(cfg)), run("status", "-c", str(cfg))
        assert_no_traceback(verify)
        assert_no_traceback(status)
        if verify.exit_code == 0:
            # Only a flip in unused space passes: every row reads back as it was.
            assert content(db) == baseline, f"flip {n}: changed content passed verify"
            assert status.exit_code == 0, status.stderr
            continue
        caught += 1
        assert verify.exit_code == 1
        first = verify.stderr.splitlines()[0]
        # The contract's `seq N: what`, or the file and what SQLite found in it.
        assert first.startswith("seq ") or str(db) in first, verify.stderr
        if status.exit_code != 0:
            assert status.exit_code == 1 and str(db) in status.stderr, status.stderr
    assert caught >= FLIPS // 3  # most of the file is records and indexes


def test_flipped_byte_in_a_record_names_its_seq_in_verify_and_for_the_sync(
    original: Path, tmp_path: Path
) -> None:
    db, cfg = copy_store(original, tmp_path / "rec")
    with Store.open(original, site="plant-a", station="bench-01", readonly=True) as s:
        target = s.record(70)
    assert target is not None
    data = bytearray(db.read_bytes())
    at = data.find(target.id.encode()) + 200  # inside seq 70's stored text (~700 bytes)
    data[at] ^= 0x01
    db.write_bytes(data)
    out = run("verify", "-c", str(cfg))
    assert out.exit_code == 1 and out.stderr.startswith("seq 70: "), out.stderr
    status = run("status", "-c", str(cfg))
    assert status.exit_code == 1 and '"health": "corrupt"' in status.stdout
    assert "seq 70: " in status.stderr and "the sync daemon stops there" in status.stderr
    with Store.open(db, site="plant-a", station="bench-01", readonly=True) as s:
        payloads, corrupt = s.readable_pending(0, 100)
    # seq 61..69 are undelivered and fine: they can go out; seq 70 stops the drain.
    assert [seq for seq, _, _ in payloads] == list(range(61, 70))
    assert corrupt is not None and corrupt.seq == 70 and corrupt.reason


def test_damaged_schema_page_is_one_clear_line_not_a_unicode_traceback(
    original: Path, tmp_path: Path
) -> None:
    db, cfg = copy_store(original, tmp_path / "schema")
    data = bytearray(db.read_bytes())
    at = data.find(b"CREATE TABLE records")
    assert at > 0
    data[at + 3] = 0xFF  # no longer UTF-8: SQLite calls the schema malformed
    db.write_bytes(data)
    for command in ("verify", "status"):
        out = run(command, "-c", str(cfg))
        assert_no_traceback(out)
        assert out.exit_code == 1 and out.stdout == ""
        assert out.stderr.startswith(f"station {command}: {db}: cannot open the record store: ")
        assert "schema is damaged" in out.stderr and len(out.stderr.splitlines()) == 1


def test_truncated_wal_after_a_crash_is_reported_as_records_lost(tmp_path: Path, mk: Any) -> None:
    live = tmp_path / "live" / "station.db"
    with Store.open(live, site="plant-a", station="bench-01") as s:
        s.append_many([("inspection", mk.inspection())] * 20)
        s._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")  # seq 1..20 in the main file
        for _ in range(10):
            s.append("inspection", mk.inspection())
        s.mark_delivered_upto(30)  # the QMS acked everything
        # The power fails now: the files as they are on disk, the -wal not yet checkpointed.
        crash = tmp_path / "crash"
        crash.mkdir()
        for name in ("station.db", "station.db-wal", "station.db-mark"):
            shutil.copy(live.with_name(name), crash / name)
    wal = crash / "station.db-wal"
    with wal.open("r+b") as f:
        f.truncate(wal.stat().st_size // 3)  # the SD card kept a third of it
    cfg = station_toml(crash)
    verify = run("verify", "-c", str(cfg))
    assert verify.exit_code == 1
    lost = [line for line in verify.stderr.splitlines() if "records lost" in line]
    assert lost and "committed up to seq 30" in lost[0]
    assert "the QMS had acknowledged up to seq 30" in lost[0]
    status = run("status", "-c", str(cfg))
    assert status.exit_code == 1 and '"health": "records-lost"' in status.stdout
    assert "records lost" in status.stderr


def test_status_and_verify_refuse_a_missing_store_and_create_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "typo"  # data_dir points where no store is
    cfg = station_toml(tmp_path)
    cfg.write_text(cfg.read_text().replace(str(tmp_path), str(folder)))
    for command in ("status", "verify"):
        out = subprocess.run(
            [STATION_BIN, command, "-c", str(cfg)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert out.returncode == 1 and out.stdout == ""
        assert out.stderr == (
            f"station {command}: no record store at {folder / 'station.db'} "
            f"(station.data_dir in {cfg}); only `station bench` and `station sync` create one\n"
        )
    assert not folder.exists()


def without_root_override(argv: list[str]) -> list[str]:
    """`argv` run so that file modes bind even for root: without CAP_DAC_OVERRIDE (and the
    read/search and owner overrides), as on a real read-only copy or mount."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to test read-only files as root"
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", *argv]


def test_a_read_only_copy_verifies_and_nothing_is_written(original: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    _, cfg = copy_store(original, folder)
    cfg = cfg.rename(tmp_path / "station.toml")
    for path in folder.iterdir():
        path.chmod(0o444)
    folder.chmod(0o555)
    before = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}
    try:
        for command in ("verify", "status"):
            out = subprocess.run(
                without_root_override([STATION_BIN, command, "-c", str(cfg)]),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert out.returncode == 0, out.stderr
            assert '"records": 132' in out.stdout or '"health": "ok"' in out.stdout
        status = run("status", "-c", str(cfg))  # as root, where nothing stops a write: none
        assert status.exit_code == 0, status.stderr
        after = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}
    finally:
        folder.chmod(0o755)
    assert after == before  # no -wal, no -shm, nothing touched
