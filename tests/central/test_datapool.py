"""`[qdas] dir` (issue 19): the central bridge writes the inspections it committed as DFQ files
into a Q-DAS data-pool folder, atomically, with the station's own AQDEF writer.

End to end with real mosquitto, PostgreSQL and two bridge processes: every committed
inspection is in exactly one file across both replicas (never a duplicate, a rejected message
or a conflict), each file complete from the moment its name appears (a watcher reads every
`*.dfq` as soon as it shows up and compares it with the final bytes), parsed by the
independent AQDEF reader of tests/export (its own venv); a folder that disappears costs no
record and the files follow once it is back; the config errors.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.mosquitto import Mosquitto
from sim.net import wait_until
from station.central import load_central_config
from station.central.config import ConfigError
from tests.central.conftest import ROOT, Bridge, Probe, query
from tests.export.conftest import PROBE, build_reader_venv, venv_dir
from tests.helpers.chains import ZERO, seal
from tests.helpers.records import inspection, measurement, numbered_event

QDAS = '\n[qdas]\ndir = "{}"\n'


def station_chain(station: str, n: int) -> list[dict[str, Any]]:
    """`n` records seq 1..n: odd seqs inspections (serial `station-seq`, plan P-1001 rev C,
    every fourth rev B), even seqs events."""
    out, prev = [], ZERO
    for seq in range(1, n + 1):
        if seq % 2:
            rev = "B" if seq % 4 == 3 else "C"
            value = 12.3 + (seq % 90) / 1000
            body = inspection(measurement(value=round(value, 3)), serial=f"{station}-{seq}")
            body["plan"]["rev"] = rev
            kind = "inspection"
        else:
            body, kind = numbered_event(seq), "event"
        env = seal(
            {
                "schema": "station.record/1",
                "type": kind,
                "id": f"{station}-{seq}",
                "seq": seq,
                "site": "plant-a",
                "station": station,
                "ts": "2026-11-21T22:04:09.520Z",
                "prev": prev,
                "body": body,
            }
        )
        prev = env["hash"]
        out.append(env)
    return out


def serials(path: Path) -> list[str]:
    """The K0014 (part serial) of every value line of a file: one per inspection here."""
    text = path.read_bytes().decode("cp1252")
    return re.findall(r"^K0014/1 ([^\r\n]*)", text, flags=re.MULTILINE)


def complete(data: bytes) -> bool:
    """A whole DFQ file: the header first, CRLF at the end, one K0014 per value line."""
    text = data.decode("cp1252")
    lines = text.split("\r\n")
    values = [ln for ln in lines if "\x0f" in ln or "\x14" in ln]
    return (
        text.startswith("K0100 ")
        and text.endswith("\r\n")
        and bool(values)
        and len(values) == len(re.findall(r"^K0014/1 ", text, flags=re.MULTILINE))
    )


class Watcher:
    """Reads every `*.dfq` of a folder the moment it appears (polling on its own thread)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.first: dict[str, bytes] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for p in self.folder.glob("*.dfq"):
                    if p.name not in self.first:
                        self.first[p.name] = p.read_bytes()
            except OSError:
                pass  # the folder removed by the test
            self._stop.wait(0.002)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def aqdef_read() -> Callable[[list[Path]], list[dict[str, Any]]]:
    """tests/export's AQDEF reader (aqdefreader in a venv of its own, built once)."""
    python = build_reader_venv(venv_dir())

    def read(paths: list[Path]) -> list[dict[str, Any]]:
        argv = [str(python), str(PROBE), "cp1252", *map(str, paths)]
        done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        files: list[dict[str, Any]] = json.loads(done.stdout)["files"]
        return files

    return read


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "qdas"
    folder.mkdir()
    yield folder


def test_two_replicas_write_each_committed_inspection_exactly_once(
    pg_dsn: str,
    mosquitto: Mosquitto,
    probe: Probe,
    start_bridge: Callable[..., Bridge],
    pool: Path,
    aqdef_read: Callable[[list[Path]], list[dict[str, Any]]],
) -> None:
    watcher = Watcher(pool)
    master = ROOT / "config" / "master"
    r1 = start_bridge(pg_dsn, mosquitto.port, "r1", master=master, extra=QDAS.format(pool))
    r2 = start_bridge(pg_dsn, mosquitto.port, "r2", master=master, extra=QDAS.format(pool))
    probe.subscribe("qms/v1/plant-a/+/ack")
    chains = {s: station_chain(s, 400) for s in ("bench-01", "bench-02", "bench-03")}
    mixed = [e for trio in zip(*chains.values(), strict=True) for e in trio]
    resent = mixed[100:300]  # duplicates: stored once, written once
    other = dict(chains["bench-02"][4])  # seq 5 again with another content: a conflict
    other["body"] = {**other["body"], "part": {**other["body"]["part"], "serial": "CONFLICT"}}
    other = seal({**other, "id": "bench-02-5x"})
    bad = dict(chains["bench-03"][0], id="bench-03-bad")  # hash does not match: rejected
    bad["body"] = {**bad["body"], "part": {**bad["body"]["part"], "serial": "REJECTED"}}
    msgs = [*mixed, *resent, other, bad]
    probe.publish_records(msgs)
    probe.pump_until(
        lambda: all(probe.acks().get(s, {}).get("seq") == 400 for s in ("bench-01", "bench-03")),
        60.0,
        "acks for bench-01 and bench-03",
    )
    inspections = "SELECT count(*) FROM records WHERE type = 'inspection'"
    wait_until(
        "bench-02 stored too", lambda: query(pg_dsn, inspections) == [(600,)], 30.0, every=0.05
    )
    rows = query(
        pg_dsn,
        "SELECT body->'part'->>'serial', replica FROM records WHERE type = 'inspection'",
    )
    stored = sorted(str(r[0]) for r in rows)
    assert len(stored) == 600 and "REJECTED" not in stored
    assert {r[1] for r in rows} == {"r1", "r2"}  # both replicas stored (and wrote) some

    def all_written() -> bool:
        return sum(len(serials(p)) for p in pool.glob("*.dfq")) >= len(stored)

    wait_until("every committed inspection in a DFQ file", all_written, 30.0, every=0.05)
    watcher.close()
    files = sorted(pool.glob("*.dfq"))
    written = sorted(s for p in files for s in serials(p))
    assert written == stored  # each committed inspection exactly once, across both replicas
    kept_aside = query(pg_dsn, "SELECT payload::jsonb->'body'->'part'->>'serial' FROM conflicts")
    assert kept_aside and not {str(r[0]) for r in kept_aside} & set(written)
    assert list(pool.glob("*.tmp")) == []  # no temporary file left behind
    for p in files:  # the name only ever showed the whole file
        assert re.fullmatch(r"plant-a\+bench-0[123]\+\d+-\d+\.dfq", p.name), p.name
        assert watcher.first[p.name] == p.read_bytes(), p.name
        assert complete(p.read_bytes()), p.name
        first, last = map(int, p.name.split("+")[2][:-4].split("-"))
        seqs = [int(s.rsplit("-", 1)[1]) for s in serials(p) if s != "CONFLICT"]
        assert seqs == sorted(seqs) and first <= seqs[0] and seqs[-1] <= last
    # The independent reader parses every file: the plan revision's part, title and limits
    # (the [master] folder's P-1001 B and C differ), one value per inspection.
    limits = {"B": (12.28, 12.42), "C": (12.3, 12.4)}
    titles = {"B": "bore and deburring", "C": "bore, seat and deburring"}
    parsed = aqdef_read(files)
    total = 0
    for p, dfq in zip(files, parsed, strict=True):
        assert [x for x in dfq["log"] if x.startswith("Warning")] == [], p.name
        [part] = dfq["parts"]
        seq = next(int(s.rsplit("-", 1)[1]) for s in serials(p) if s != "CONFLICT")
        rev = "B" if seq % 4 == 3 else "C"
        assert part["data"]["K1001"] == "PN-778"
        assert part["data"]["K1002"] == f"Shaft bushing SB-12: {titles[rev]}"
        bore = next(c for c in part["characteristics"] if c["data"]["K2001"] == "bore-dia")
        assert (float(bore["data"]["K2110"]), float(bore["data"]["K2111"])) == limits[rev]
        assert len(bore["measurements"]) == len(serials(p))
        total += len(bore["measurements"])
    assert total == 600
    assert "DFQ file" in r1.log + r2.log and "not written" not in r1.log + r2.log


def test_a_folder_gone_loses_no_record_and_the_files_follow_when_it_is_back(
    pg_dsn: str,
    mosquitto: Mosquitto,
    probe: Probe,
    start_bridge: Callable[..., Bridge],
    pool: Path,
) -> None:
    bridge = start_bridge(pg_dsn, mosquitto.port, "r1", extra=QDAS.format(pool))
    probe.subscribe("qms/v1/plant-a/+/ack")
    pool.rmdir()  # the share unmounted, say: the writes fail
    records = station_chain("bench-01", 60)
    probe.publish_records(records)
    probe.pump_until(lambda: probe.acks().get("bench-01", {}).get("seq") == 60, 30.0, "acks")
    assert query(pg_dsn, "SELECT count(*) FROM records") == [(60,)]  # stored and acked
    bridge.wait_ready(lambda: "not written" in bridge.log, 10.0, "the failure logged")
    assert "kept for a retry; the records are in PostgreSQL" in bridge.log
    assert "is not a folder" in bridge.log  # the reason
    pool.mkdir()

    def back() -> bool:
        return sum(len(serials(p)) for p in pool.glob("*.dfq")) >= 30

    wait_until("the held files written once the folder is back", back, 30.0, every=0.05)
    written = sorted(s for p in pool.glob("*.dfq") for s in serials(p))
    assert written == sorted(f"bench-01-{seq}" for seq in range(1, 61, 2))
    assert list(pool.glob("*.tmp")) == []


def test_qdas_config_is_checked(tmp_path: Path) -> None:
    base = (
        '[central]\nsites = ["plant-a"]\n\n[postgres]\ndsn = "postgresql://q@127.0.0.1/q"\n\n'
        '[mqtt]\nhost = "127.0.0.1"\n'
    )
    path = tmp_path / "central.toml"
    (tmp_path / "pool").mkdir()
    path.write_text(base + '\n[qdas]\ndir = "pool"\n')
    cfg = load_central_config(path)
    assert cfg.qdas is not None
    assert (cfg.qdas.dir, cfg.qdas.encoding) == (tmp_path / "pool", "cp1252")  # relative
    path.write_text(base)
    assert load_central_config(path).qdas is None  # optional

    (tmp_path / "a-file").write_text("")
    cases = {
        '[qdas]\ndir = "missing"\n': f"{path}: qdas.dir: data-pool folder {tmp_path / 'missing'}"
        ' does not exist (create it, writable by the bridge) (got "missing")',
        '[qdas]\ndir = "a-file"\n': f"{path}: qdas.dir: data-pool folder {tmp_path / 'a-file'}"
        ' is not a folder (got "a-file")',
        # Nothing can be created in /proc, not even by root: an unwritable folder.
        '[qdas]\ndir = "/proc"\n': f"{path}: qdas.dir: data-pool folder /proc is not writable:"
        ' No such file or directory (got "/proc")',
        "[qdas]\n": f"{path}: qdas.dir: required key is missing",
        '[qdas]\ndir = "pool"\nencoding = "latin-1"\n': f"{path}: qdas.encoding: must be"
        ' "cp1252" or "utf-8" (got "latin-1")',
        '[qdas]\ndir = "pool"\nfolder = "x"\n': f'{path}: qdas.folder: unknown key (got "x");'
        " known keys: dir, encoding",
        'qdas = "pool"\n': f'{path}: qdas: must be a table ([qdas]) (got "pool")',
    }
    for text, problem in cases.items():
        path.write_text(base + "\n" + text if text.startswith("[") else text + base)
        with pytest.raises(ConfigError) as err:
            load_central_config(path)
        assert err.value.problems == [problem], text
