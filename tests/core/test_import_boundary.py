"""The quality core stays pure: no I/O libraries, no clock.

Every module in `station.core` is discovered by listing the package (so modules added later,
like the SPC one, are covered), imported, and its source checked with `ast`:

- imports only from an allow-list: pure stdlib modules, biip (GS1 parsing) and the core
  itself. So no serial, pymodbus, paho, sqlite3, textual, time, random, os or socket, and no
  other part of the station (store, sync, config, bench, drivers): the core is what they call,
  never what calls them;
- no call of ``.now(``, ``.utcnow(``, ``.today(`` and no ``time.time``: `now` is an argument,
  so verdicts and fitness are reproducible from the record alone.

A fresh interpreter then imports the whole package and checks that none of the I/O libraries
and no station module outside the core got loaded indirectly (through biip, for instance).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import station.core

ALLOWED_ROOTS = {
    *("__future__", "collections", "dataclasses", "datetime", "decimal", "fractions"),
    *("functools", "itertools", "math", "re", "typing", "biip", "bisect", "statistics"),
    # PIN verifiers (21 CFR 11.300): scrypt and a constant-time compare are pure functions.
    *("hashlib", "hmac", "base64", "binascii"),
}
FORBIDDEN_CALLS = {"now", "utcnow", "today"}
# The stdlib imports `time`, `os` and friends itself, so sys.modules is checked for the I/O
# libraries and the station's own non-core modules only; the source check covers the rest.
FORBIDDEN_LOADED = {"serial", "pymodbus", "paho", "sqlite3", "sqlite_utils", "textual", "drivers"}

MODULES = sorted(
    info.name for info in pkgutil.iter_modules(station.core.__path__, prefix="station.core.")
)


def test_the_core_package_is_discovered() -> None:
    assert {"station.core.model", "station.core.verdict", "station.core.scan"} <= set(MODULES)


def _allowed(module: str) -> bool:
    return module.partition(".")[0] in ALLOWED_ROOTS or module.startswith("station.core.")


def _violations(source: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {a.name}" for a in node.names if not _allowed(a.name)
            ]
        elif isinstance(node, ast.ImportFrom):
            # A relative import of level 1 stays inside station.core; level 2 would leave it.
            inside = node.level == 1 or (node.level == 0 and _allowed(node.module or ""))
            if not inside:
                found.append(f"line {node.lineno}: from {'.' * node.level}{node.module} import …")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_CALLS:
                found.append(f"line {node.lineno}: call .{func.attr}()")
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "time"
            and isinstance(node.value, ast.Name)
            and node.value.id == "time"
        ):
            found.append(f"line {node.lineno}: time.time")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
        ):
            found.append(f"line {node.lineno}: __import__()")
    return found


@pytest.mark.parametrize("name", MODULES)
def test_core_module_is_pure(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    source = Path(module.__file__).read_text(encoding="utf-8")
    assert _violations(source) == [], f"{name} breaks the pure-core rule"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import time", ["line 1: import time"]),
        ("import serial.tools", ["line 1: import serial.tools"]),
        ("from paho.mqtt import client", ["line 1: from paho.mqtt import …"]),
        ("from datetime import datetime\nx = datetime.now()", ["line 2: call .now()"]),
        ("import datetime\nx = datetime.datetime.utcnow()", ["line 2: call .utcnow()"]),
        ("from datetime import date\nx = date.today()", ["line 2: call .today()"]),
        ("t = time.time", ["line 1: time.time"]),
        ("from datetime import datetime, UTC\nx = datetime(2026, 1, 1, tzinfo=UTC)", []),
        ("from . import time", []),  # a relative module named time is not the stdlib clock
        ("import random", ["line 1: import random"]),
        ("from station.store import Store", ["line 1: from station.store import …"]),
        ("from station import config", ["line 1: from station import …"]),
        ("from ..settings import Config", ["line 1: from ..settings import …"]),
        ("from station.core.units import exact\nimport biip.gtin", []),
    ],
)
def test_the_checker_itself(source: str, expected: list[str]) -> None:
    assert _violations(source) == expected


def test_importing_the_core_loads_no_io_library_and_no_other_station_module() -> None:
    forbidden = sorted(FORBIDDEN_LOADED)
    code = (
        "import importlib, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r}\n"
        "    or (m.startswith('station.') and not m.startswith('station.core'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
