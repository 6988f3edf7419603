"""`station demo` as a newcomer meets it: a real terminal (tmux, 80x24, TERM=linux), the
installed console script, nothing else running. The demo keys complete one inspection; it
reaches the central QMS; Ctrl+Q stops everything the demo started.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import closing, suppress
from pathlib import Path

import pytest

from sim._central_db import read_summary
from sim.net import wait_until

STATION = Path(sys.executable).with_name("station")


def tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], capture_output=True, text=True, check=False, timeout=10
    ).stdout


def wait_screen(
    session: str, predicate: Callable[[str], bool], what: str, deadline_s: float
) -> str:
    end = time.monotonic() + deadline_s
    screen = ""
    while time.monotonic() < end:
        screen = tmux("capture-pane", "-p", "-t", session)
        if predicate(screen):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")


def demo_processes_left(work: Path) -> list[str]:
    """The processes whose command line names the demo's folder, but the tmux server's: it
    keeps the argv of the `new-session` that started it and exits on its own after the last
    session (a moment later on a loaded machine)."""

    def left() -> list[str]:
        pids = subprocess.run(
            ["pgrep", "-f", str(work)], capture_output=True, text=True, check=False
        ).stdout.split()
        return [p for p in pids if not _comm(p).startswith("tmux")]

    with suppress(TimeoutError):
        wait_until("the demo's processes gone", lambda: not left(), 10.0, every=0.1)
    return [f"{p} ({_comm(p)})" for p in left()]


def _comm(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "(gone)"


@pytest.mark.parametrize("broker", ["embedded", "mosquitto"])
def test_demo_keys_complete_an_inspection_that_reaches_the_central(
    tmp_path: Path, broker: str
) -> None:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed: run `bash .ci/test` (it apt-installs it)")
    session = f"demo-{uuid.uuid4().hex[:8]}"
    work = tmp_path / "demo"
    cmd = f"TERM=linux {STATION} demo --workdir {work} --broker {broker}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", cmd], check=True
    )
    try:
        wait_screen(session, lambda s: "S C A N" in s and "online" in s, "the idle screen", 30)
        for key, shows in (
            ("F3", "welcome"),
            ("F4", "plan P-1001"),
            ("F5", "CAL-0042"),
            ("F7", "PASS"),
        ):
            tmux("send-keys", "-t", session, key)
            wait_screen(session, lambda s, shows=shows: shows in s, f"{key} -> {shows}", 15)
        tmux("send-keys", "-t", session, "C-p")
        wait_screen(session, lambda s: "ACCEPTED" in s, "the accepted banner", 15)
        wait_screen(session, lambda s: "| 0 pending" in s, "delivery to the central", 30)
        tmux("send-keys", "-t", session, "C-q")
        end = time.monotonic() + 20
        while session in tmux("ls") and time.monotonic() < end:
            time.sleep(0.2)
        assert session not in tmux("ls"), "the demo did not exit on Ctrl+Q"
    finally:
        tmux("kill-session", "-t", session)
    summary = read_summary(work / "central.db")
    assert summary["invalid"] == 0 and summary["gaps"] == 0 and summary["chain_valid"]
    with closing(sqlite3.connect(work / "central.db")) as db:
        rows = db.execute("SELECT type, payload FROM records WHERE type = 'inspection'").fetchall()
    assert len(rows) == 1
    body = json.loads(rows[0][1])["body"]
    assert body["result"] == "accept" and body["part"]["serial"] == "SN-0001"
    assert body["measurements"][0]["raw"].startswith("01A+")  # the caliper's own frame
    assert demo_processes_left(work) == [], "processes of the demo still running"
