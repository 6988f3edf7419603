"""`pip install .` works on a machine without a C compiler (README quickstart, issue 12.16).

python-evdev 2.0.0 has no wheel for Raspberry Pi OS, so the station's first install command
failed without gcc and python3-dev. The evdev reader is now pure Python
(drivers/linux_input.py) and no dependency is built from source.

The check runs offline, like tests/deploy/test_install.py: a fresh venv sees the test venv's
installed packages through a .pth file (they stand in for the package index: pip treats them
as installed, so the resolver must find every requirement there), **except python-evdev**,
which is hidden, and the station itself, which pip builds from a clean copy of this checkout
with `CC=/bin/false` (any attempt to compile fails), `--no-cache-dir`, `--no-index`. Before
the fix the resolver stopped at the unsatisfiable `evdev` requirement.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEST_SITE = Path(sysconfig.get_paths()["purelib"])

# What the new venv must not see from the test venv: python-evdev, and the editable station.
HIDDEN = ("evdev", "station-", "__editable__", "__pycache__")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=300, env=env, check=False, cwd="/"
    )


@pytest.mark.slow
def test_pip_install_needs_no_compiler_and_no_evdev(tmp_path: Path) -> None:
    assert sys.prefix != sys.base_prefix, "the tests must run from the project venv"
    src = tmp_path / "src"
    shutil.copytree(
        REPO,
        src,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "*cache*"),
    )
    deps = tmp_path / "deps"
    deps.mkdir()
    for entry in TEST_SITE.iterdir():
        if not entry.name.startswith(HIDDEN):
            (deps / entry.name).symlink_to(entry)
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", "--without-pip", str(venv)).returncode == 0
    python = venv / "bin" / "python"
    site = run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    Path(site.stdout.strip(), "_deps.pth").write_text(f"{deps}\n")
    assert run(str(python), "-c", "import evdev").returncode != 0, "evdev must be hidden"

    env = {
        **os.environ,
        "CC": "/bin/false",
        "CXX": "/bin/false",
        "LDSHARED": "/bin/false",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": "",
    }
    installed = run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(python),
        "install",
        "--no-cache-dir",
        "--no-index",
        "--no-build-isolation",
        str(src),
        env=env,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    demo = run(str(venv / "bin" / "station"), "demo", "--help")
    assert demo.returncode == 0, demo.stderr
    assert "Usage: station demo" in demo.stdout
    # The keyboard driver and the evdev scanner load without python-evdev.
    probe = run(
        str(python),
        "-I",
        "-c",
        "import drivers.evdev_input as m, station.devices as f; print(m.__file__);"
        "print(f.DRIVER_CLASSES['keyboard'])",
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith(str(venv)), probe.stdout  # the installed copy
    requires = run(
        str(python),
        "-I",
        "-c",
        "import importlib.metadata as m; print('\\n'.join(m.requires('station') or []))",
    )
    assert requires.returncode == 0, requires.stderr
    assert not [r for r in requires.stdout.splitlines() if r.lower().startswith("evdev")]
