"""The independent AQDEF reader the DFQ tests check the files with, in a venv of its own.

`aqdefreader` 1.3.0 (PyPI) imports numpy, pandas and chardet without declaring them. They
must not enter the station's venv: sqlite-utils imports pandas and numpy whenever they are
installed, so every station process would grow by ~25 MB (the chaos run's sync daemon reached
85 MB against its 60 MB limit). So the reader lives in its own venv, built once per machine
under a cache folder (`$STATION_TEST_CACHE`, else `$XDG_CACHE_HOME/station-tests`, else
`~/.cache/station-tests`) with `python -m venv` and pip from PyPI (about 20 s on a first run;
CI's `.ci/test` installs from PyPI already), and the tests talk to it through
`aqdef_probe.py`, run as a subprocess that prints what the reader parsed as JSON.

The reader is never mocked and never skipped: when its venv cannot be built (no network, no
wheel for this Python) the tests using it fail with pip's output.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

PROBE = Path(__file__).with_name("aqdef_probe.py")
# Pinned: the versions the tests were written against (dateutil parses K0004's date, so its
# version matters as much as the reader's). All are wheels for CPython 3.11+.
REQUIREMENTS = (
    "aqdefreader==1.3.0",
    "numpy==2.4.6",
    "pandas==3.1.1",
    "chardet==5.2.0",  # aqdefreader uses chardet's pre-6 API
    "python-dateutil==4.0.0",
)

AqdefReader = Callable[..., list[dict[str, Any]]]


def cache_root() -> Path:
    explicit = os.environ.get("STATION_TEST_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "station-tests"


def venv_dir() -> Path:
    """One venv per interpreter version and requirement set."""
    key = f"{sys.version_info[:3]} {' '.join(REQUIREMENTS)}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache_root() / f"aqdefreader-py{sys.version_info[0]}{sys.version_info[1]}-{digest}"


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        pytest.fail(
            f"cannot build the AQDEF reader's venv ({what}: exit {done.returncode}):\n"
            f"$ {' '.join(argv)}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}",
            pytrace=False,
        )


def build_reader_venv(target: Path) -> Path:
    """The reader venv's python: built into a temporary folder and renamed, under a lock, so
    that two test sessions never use a half-installed venv."""
    python = target / "bin" / "python"
    ready = target / "READY"
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / (target.name + ".lock")).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.exists():
            return python
        shutil.rmtree(target, ignore_errors=True)
        tmp = target.with_name(target.name + ".building")
        shutil.rmtree(tmp, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(tmp)], "python -m venv")
        pip = [str(tmp / "bin" / "python"), "-m", "pip"]
        _run(
            [*pip, "install", "--disable-pip-version-check", "--no-input", *REQUIREMENTS],
            "pip install",
        )
        check = "import aqdefreader; assert aqdefreader.__version__ == '1.3.0'"
        _run([str(tmp / "bin" / "python"), "-c", check], "import aqdefreader")
        # A venv's scripts name its folder: it is usable only once renamed, from its python.
        tmp.rename(target)
        _run([str(python), "-c", "import aqdefreader, pandas, numpy"], "import in the final venv")
        ready.write_text(" ".join(REQUIREMENTS) + "\n", "utf-8")
    return python


@pytest.fixture(scope="session")
def aqdef_python() -> Path:
    """The python of the reader's venv (built on first use)."""
    return build_reader_venv(venv_dir())


@pytest.fixture(scope="session")
def aqdef(aqdef_python: Path) -> Iterator[AqdefReader]:
    """`aqdef(*paths, encoding="cp1252")`: what aqdefreader parsed from each file (see
    aqdef_probe.py for the shape), in one reader process for all of them."""

    def read(*paths: Path, encoding: str = "cp1252") -> list[dict[str, Any]]:
        argv = [str(aqdef_python), str(PROBE), encoding, *map(str, paths)]
        done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"aqdef_probe failed:\n{done.stderr}"
        out = json.loads(done.stdout)
        assert out["version"] == "1.3.0"
        files: list[dict[str, Any]] = out["files"]
        return files

    yield read
