"""A data_dir the station cannot use is one clear line and a non-zero exit for every command
that touches the store (issue 13.10); `check-config` answers on stdout (issue 12.19).

The commands run as processes. As root, file modes bind only without CAP_DAC_OVERRIDE, so
the commands run under `setpriv` with those capabilities dropped (a read-only folder then
refuses root as it refuses the `station` user).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from station.store import Store

STATION_BIN = str(Path(sys.executable).parent / "station")
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [STATION_BIN, *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test permissions as root"
        argv = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", *argv]
    env = {**os.environ, "NOTIFY_SOCKET": ""}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, env=env)


def config(tmp_path: Path, data_dir: Path) -> Path:
    cfg = tmp_path / "station.toml"
    cfg.write_text(
        f'[station]\nid = "bench-01"\nsite = "plant-a"\ndata_dir = "{data_dir}"\n'
        '[mqtt]\nhost = "127.0.0.1"\nport = 1\n'
    )
    return cfg


@pytest.mark.parametrize("command", ["bench", "sync"])
def test_a_read_only_data_dir_is_one_line_naming_folder_and_errno(
    tmp_path: Path, command: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o555)
    cfg = config(tmp_path, data)
    try:
        out = run(command, "-c", str(cfg))
    finally:
        data.chmod(0o755)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert out.stderr == (
        f"station {command}: cannot write in the data folder {data} "
        f"(station.data_dir in {cfg}): Permission denied (EACCES)\n"
    )


@pytest.mark.parametrize("command", ["bench", "sync"])
def test_a_missing_data_dir_that_cannot_be_created_is_one_line(
    tmp_path: Path, command: str
) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    cfg = config(tmp_path, parent / "data")
    try:
        out = run(command, "-c", str(cfg))
    finally:
        parent.chmod(0o755)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith(f"station {command}: cannot create the data folder {parent}/data")
    assert out.stderr.endswith("Permission denied (EACCES)\n")


def test_a_read_only_store_file_is_refused_before_the_bench_starts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store.open(data / "station.db", site="plant-a", station="bench-01") as s:
        s.append("event", {"kind": "login", "operator": "op-1", "detail": {}})
    (data / "station.db").chmod(0o444)
    out = run("bench", "-c", str(config(tmp_path, data)))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f"cannot write the record store {data / 'station.db'}" in out.stderr
    assert len(out.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", ["status", "verify"])
def test_status_and_verify_of_an_unreadable_store_are_one_line(
    tmp_path: Path, command: str
) -> None:
    data = tmp_path / "data"
    with Store.open(data / "station.db", site="plant-a", station="bench-01") as s:
        s.append("event", {"kind": "login", "operator": "op-1", "detail": {}})
    (data / "station.db").chmod(0o000)
    try:
        out = run(command, "-c", str(config(tmp_path, data)))
    finally:
        (data / "station.db").chmod(0o644)
    assert out.returncode == 1 and out.stdout == "" and "Traceback" not in out.stderr
    assert out.stderr.startswith(f"station {command}: {data / 'station.db'}: cannot open")
    assert len(out.stderr.splitlines()) == 1


def test_check_config_says_ok_on_stdout() -> None:
    cfg = ROOT / "config" / "station.toml"
    out = subprocess.run(
        [STATION_BIN, "check-config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert (out.stdout, out.stderr) == (f"{cfg}: ok\n", "")
