"""drivers/ stands alone: no driver module imports the station (issue 14).

A driver is read and tested with its own parameters (`drivers.params`); the station maps its
config onto them (`station.devices`). So the dependency goes one way, station -> drivers,
checked twice: in the source (`ast`, so a lazy import inside a function counts too) and in a
fresh interpreter that imports every drivers module and then looks at `sys.modules`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import drivers

DRIVERS = Path(drivers.__file__).resolve().parent
MODULES = sorted(
    "drivers" if p.name == "__init__.py" else f"drivers.{p.stem}" for p in DRIVERS.glob("*.py")
)


def imported_names(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_the_module_list_is_not_empty() -> None:
    assert {"drivers.base", "drivers.params", "drivers.modbus", "drivers.evdev_input"} <= set(
        MODULES
    )


def test_no_drivers_source_imports_station() -> None:
    offenders = {
        path.name: [n for n in imported_names(ast.parse(path.read_text("utf-8"))) if bad(n)]
        for path in sorted(DRIVERS.glob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def bad(name: str) -> bool:
    return name == "station" or name.startswith("station.")


def test_importing_every_drivers_module_loads_no_station_module() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m == 'station' or "
        "m.startswith('station.'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []
