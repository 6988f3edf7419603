"""The units start once the clock is synchronised (issue 12.17).

A Raspberry Pi has no real-time clock: before NTP answers, calibration due dates and daily
checks would be judged against a stale clock. Both units must want *and* be ordered after
time-sync.target (systemd.special(7): After= alone orders against a target nobody pulls in;
Wants= alone starts it in parallel). Read as systemd reads the files: a key may repeat and
each line adds to the list.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"


def unit_dependencies(path: Path, section: str, key: str) -> set[str]:
    """Every value of `key` in `[section]` (space-separated lists, repeated lines)."""
    values: set[str] = set()
    current = ""
    for raw in path.read_text("utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            continue
        name, _, value = line.partition("=")
        if current == section and name.strip() == key:
            if not value.strip():
                values.clear()  # an empty assignment resets the list
            values.update(value.split())
    return values


@pytest.mark.parametrize("unit", ["station-bench@.service", "station-sync.service"])
def test_the_unit_waits_for_a_synchronised_clock(unit: str) -> None:
    path = SYSTEMD / unit
    missing = [
        key
        for key in ("Wants", "After")
        if "time-sync.target" not in unit_dependencies(path, "Unit", key)
    ]
    assert missing == [], f"{unit}: time-sync.target missing from {', '.join(missing)}="
