"""`systemd/install.sh --root DIR` builds a working installation, and `--upgrade` keeps the store.

The install runs into tmp_path from this checkout, for real: a venv is created, a wheel is built
from a clean copy of the source and installed into it, and the installed `station` binary then
checks the installed config. To stay offline and fast, the new venv reuses the test venv's
dependencies (`--reuse-deps-from`, a documented development mode: a .pth file plus
`pip install --no-deps`); the station package itself is the freshly built wheel, which the
tests prove by importing it from the new venv. What `--root` cannot do (create the user, chown,
systemctl) it prints as "skipped (--root)"; the live path is not exercised here.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from station.store import Store

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "systemd" / "install.sh"
TEST_VENV = Path(sys.prefix)


def install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert sys.prefix != sys.base_prefix, "the tests must run from the project venv"
    return subprocess.run(
        ["bash", str(INSTALL), "--root", str(root), "--reuse-deps-from", str(TEST_VENV), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PIP_NO_INDEX": "1"},
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def station(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The INSTALLED binary, not the test venv's."""
    return subprocess.run(
        [str(root / "opt/station/venv/bin/station"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def installed_module(root: Path, name: str) -> Path:
    """Where the installed venv imports `name` from. Isolated mode (-I) and cwd=root keep the
    checkout (the current directory) off sys.path."""
    out = subprocess.run(
        [
            str(root / "opt/station/venv/bin/python"),
            "-I",
            "-c",
            f"import {name}; print({name}.__file__)",
        ],
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
    )
    return Path(out.stdout.strip())


def rooted_config(root: Path) -> Path:
    """The installed config with data_dir moved below the root (the original names the
    target's /var/lib/station), next to it so that relative paths still resolve."""
    src = root / "etc/station/station.toml"
    dst = src.with_name("test-rooted.toml")
    text = src.read_text()
    assert 'data_dir = "/var/lib/station"' in text
    dst.write_text(text.replace('"/var/lib/station"', f'"{root}/var/lib/station"'))
    return dst


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A station wheel built once from a clean copy of this checkout, for the tests that do
    not test the build itself (`--wheel FILE`)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(
        REPO,
        src,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "*cache*"),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(tmp / "dist"),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = (tmp / "dist").glob("station-*.whl")
    return built


def test_install_into_a_root_gives_a_working_station(root: Path) -> None:
    out = ok(install(root))

    config = root / "etc/station/station.toml"
    result = station(root, "check-config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{config}: ok" in result.stdout
    assert 'data_dir = "/var/lib/station"' in config.read_text()
    # The package runs from the new venv (the freshly built wheel), not from the checkout.
    where = installed_module(root, "station")
    assert where.is_relative_to(root / "opt/station/venv/lib"), where
    assert installed_module(root, "drivers").is_relative_to(root), "drivers"
    assert installed_module(root, "sim").is_relative_to(root), "sim"
    assert any(where.parent.glob("schemas/*.schema.json")), "schemas missing from the wheel"

    for name in ("station-sync.service", "station-bench@.service"):
        installed = root / "usr/local/lib/systemd/system" / name
        assert installed.read_text() == (REPO / "systemd" / name).read_text()
    assert (root / "etc/udev/rules.d/99-station.rules").is_file()
    assert (root / "usr/local/lib/sysusers.d/station.conf").is_file()
    assert (root / "usr/local/lib/tmpfiles.d/station.conf").is_file()
    assert sorted(p.name for p in (root / "etc/station/master").iterdir()) == sorted(
        p.name for p in (REPO / "config/master").glob("*.json")
    )
    assert mode(root / "etc/station") == 0o750
    assert mode(config) == 0o640
    assert mode(root / "var/lib/station") == 0o770
    # What --root cannot do is said, not silently left out.
    assert "skipped (--root): systemd-sysusers" in out
    assert "skipped (--root): systemctl daemon-reload; udevadm control --reload; " in out
    assert "systemctl enable station-sync.service station-bench@tty1.service" in out


def test_a_second_run_keeps_the_config_and_the_software(root: Path, wheel: Path) -> None:
    first = ok(install(root, "--wheel", str(wheel)))
    assert f"installing {wheel.name}" in first
    assert "building the wheel" not in first
    config = root / "etc/station/station.toml"
    edited = config.read_text().replace('id = "bench-01"', 'id = "bench-07"')
    config.write_text(edited)
    (root / "etc/station/master/plan-P-2001-A.json").unlink()
    rules = root / "etc/udev/rules.d/99-station.rules"
    rules.write_text("# this bench's own rules\n")

    out = ok(install(root, "--wheel", str(wheel)))
    assert config.read_text() == edited
    assert rules.read_text() == "# this bench's own rules\n"
    assert not (root / "etc/station/master/plan-P-2001-A.json").exists()
    assert "kept the existing config" in out
    assert "software already installed: station, version " in out
    # The pristine example is refreshed beside it.
    example = root / "opt/station/share/config/station.toml"
    assert 'id = "bench-01"' in example.read_text()


def test_upgrade_keeps_the_store_and_migrates_it(root: Path, wheel: Path) -> None:
    ok(install(root, "--wheel", str(wheel)))
    db = root / "var/lib/station/station.db"
    with Store.open(db, site="plant-a", station="bench-01") as store:
        for n in range(3):
            store.append("event", {"kind": "login", "operator": f"op-{n}", "detail": {}})
        before = store.status().as_dict()
    assert before["last_seq"] == 3
    # A file of the old software, changed: the upgrade must put the new one in its place.
    init = installed_module(root, "station")
    assert init.is_relative_to(root / "opt/station/venv/lib"), init  # never touch the checkout
    init.write_text(init.read_text() + "\nOLD_SOFTWARE = True\n")

    out = ok(install(root, "--upgrade"))  # from the checkout: a fresh build

    assert "building the wheel from" in out
    assert "OLD_SOFTWARE" not in init.read_text()
    assert "store backed up to" in out
    assert "migrating the store" in out
    config = rooted_config(root)
    status = station(root, "status", "-c", str(config))
    assert status.returncode == 0, status.stderr
    after = json.loads(status.stdout)
    # db_bytes counts the WAL too, which the new software's open and checkpoint change.
    assert {k: v for k, v in after.items() if k != "db_bytes"} == {
        k: v for k, v in before.items() if k != "db_bytes"
    }
    verify = station(root, "verify", "-c", str(config))
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout) == {"ok": True, "records": 3, "last_seq": 3}
    backup = root / "var/lib/station/backup/station-before-upgrade.db"
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT count(*) FROM records").fetchone() == (3,)
    assert not (root / "etc/station/.station-upgrade.toml").exists()


def test_upgrade_stops_at_a_store_it_cannot_read_and_leaves_it_alone(
    root: Path, wheel: Path
) -> None:
    ok(install(root, "--wheel", str(wheel)))
    db = root / "var/lib/station/station.db"
    db.write_bytes(b"not a database\n")

    result = install(root, "--upgrade", "--wheel", str(wheel))

    assert result.returncode == 1
    assert f"{db}: file is not a database" in result.stderr
    assert "could not back the store up before migrating it" in result.stderr
    assert "migrating the store" not in result.stdout
    assert db.read_bytes() == b"not a database\n"


def test_upgrade_without_an_installation_is_refused(root: Path) -> None:
    result = install(root, "--upgrade")
    assert result.returncode == 1
    assert "--upgrade: nothing to upgrade (no " in result.stderr
    assert "run without --upgrade" in result.stderr
    assert not (root / "opt/station/venv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--bench-tty", "ttyUSB0"],
            "--bench-tty: expected a console like tty1 or none (got ttyUSB0)",
        ),
        (
            ["--wheel", "/nonexistent/station.whl"],
            "--wheel: no such file: /nonexistent/station.whl",
        ),
        (["--source", "/"], "--source / is not a station checkout (no pyproject.toml)"),
        (["--frobnicate"], "unknown option: --frobnicate"),
    ],
)
def test_bad_options_are_named(root: Path, args: list[str], message: str) -> None:
    result = install(root, *args)
    assert result.returncode == 1
    assert message in result.stderr
