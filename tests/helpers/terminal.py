"""A real terminal for end-to-end tests: one tmux server on a private socket, its screen read
back with `capture-pane`, keys sent with `send-keys` (a keyboard-wedge scanner types a scan
and Enter, so `type` is a scan).

Every screen read is kept (`Tmux.captures`) so a test can check afterwards that something
(a PIN, 21 CFR 11.300) never appeared on any of them. Waits poll the pane with a deadline
(`sim.net.wait_until`), never a fixed sleep. `pin_verifier` makes a PIN verifier the way a
QMS integrator does: `station pin-hash` with the PIN on stdin.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sim.net import wait_until

STATION = Path(sys.executable).with_name("station")


class Tmux:
    """One tmux server on a private socket; one session (`name`) at a time runs a command."""

    def __init__(self, name: str = "bench") -> None:
        assert shutil.which("tmux"), "tmux is required for this test (apt-get install tmux)"
        self.socket = f"station-test-{uuid.uuid4().hex[:8]}"
        self.name = name
        self.captures: list[str] = []

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """One tmux command against this server (no user config: `-f /dev/null`)."""
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=10,
        )

    def start(self, command: str, *, width: int = 80, height: int = 24) -> None:
        """Run `command` (a shell line) in a new detached session of `width` x `height`."""
        self.run("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), command)

    def screen(self) -> str:
        """The pane as text now (also kept in `captures`)."""
        text = self.run("capture-pane", "-p", "-t", self.name).stdout
        self.captures.append(text)
        return text

    def styled(self) -> list[str]:
        """The pane's lines with their colour escapes (`capture-pane -e`): focus shows only
        there (a focused field's border and a focused list's highlight change colour)."""
        text = self.run("capture-pane", "-p", "-e", "-t", self.name).stdout
        self.captures.append(text)
        return text.splitlines()

    def wait_restyled(
        self, rows: range, before: list[str], what: str, timeout: float = 5.0
    ) -> None:
        """Wait until `rows` of the styled pane differ from `before` (e.g. after Tab: the
        focus moved). Textual moves the focus on a later turn of its loop, so keys typed at
        once could still reach the widget that had it."""

        def changed() -> bool:
            now = self.styled()
            return [now[i] for i in rows if i < len(now)] != [before[i] for i in rows]

        wait_until(what, changed, timeout)

    def alive(self) -> bool:
        """True while the session (its command) runs."""
        return self.run("has-session", "-t", self.name, check=False).returncode == 0

    def wait(self, pred: Callable[[str], bool], what: str, timeout: float = 15.0) -> str:
        """Poll the pane until `pred` holds; the screen that matched. On timeout the test
        fails showing the last screen."""
        text = ""

        def shows() -> bool:
            nonlocal text
            text = self.screen()
            return pred(text)

        try:
            wait_until(what, shows, timeout)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; screen:\n{text}") from None
        return text

    def wait_text(self, text: str, what: str, timeout: float = 15.0) -> str:
        """`wait` for a literal text on the screen."""
        return self.wait(lambda s: text in s, what, timeout)

    def type(self, text: str) -> None:
        """Type `text` literally, then Enter (a keyboard-wedge scan, or a typed field)."""
        self.keys(text)
        self.run("send-keys", "-t", self.name, "Enter")

    def keys(self, text: str) -> None:
        """Type `text` literally, without Enter."""
        self.run("send-keys", "-t", self.name, "-l", text)

    def key(self, *keys: str) -> None:
        """Press tmux key names (`C-q`, `Enter`, `Escape`)."""
        self.run("send-keys", "-t", self.name, *keys)

    def quit_bench(self, timeout: float = 10.0) -> None:
        """Ctrl+Q, and wait until the session's command has exited."""
        self.key("C-q")
        wait_until("the bench quitting on Ctrl+Q", lambda: not self.alive(), timeout)

    def kill_server(self) -> None:
        """Teardown: the server and whatever still runs in it."""
        self.run("kill-server", check=False)


def pin_verifier(pin: str, ln: int = 15) -> str:
    """The verifier of `pin` from `station pin-hash` (the PIN on stdin, as a script does)."""
    out = subprocess.run(
        [str(STATION), "pin-hash", "--ln", str(ln)],
        input=pin + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    verifier = out.stdout.strip()
    assert verifier.startswith("$scrypt$") and pin not in out.stdout + out.stderr
    return verifier


def write_bench_master(
    folder: Path, operators: dict[str, dict[str, Any]], *, chamfer: bool = False
) -> None:
    """The master data of a terminal test, dated from today (the bench runs on the real
    clock): `operators` (id -> name, badge, pin...; each holds DIM-2), caliper CAL-7 and plan
    P-7001 for part PN-700: length 10 +/- 0.1 mm by caliper (and a chamfer attribute)."""
    later = (datetime.now(UTC).date() + timedelta(days=180)).isoformat()
    length = {
        "id": "length", "kind": "variable", "nominal": 10.0, "lsl": 9.9, "usl": 10.1,
        "unit": "mm", "instrument_type": "caliper",
    }  # fmt: skip
    docs: dict[str, dict[str, Any]] = {}
    for oid, fields in operators.items():
        docs[f"operator-{oid}.json"] = {
            "schema": "qms.master/operator@1", "id": oid, "active": True,
            "qualifications": [{"code": "DIM-2", "expires": later}], **fields,
        }  # fmt: skip
    docs["instrument-CAL-7.json"] = {
        "schema": "qms.master/instrument@1", "id": "CAL-7", "type": "caliper",
        "status": "active", "cal_due": later, "unit": "mm", "resolution": 0.01, "u": 0.01,
        "mpe": 0.03,
    }  # fmt: skip
    docs["plan-P-7001-A.json"] = {
        "schema": "qms.master/plan@1", "id": "P-7001", "rev": "A", "status": "released",
        "title": "Spacer SP-7", "part_numbers": ["PN-700"], "qualifications": ["DIM-2"],
        "instruction": "WI-7001 rev A",
        "characteristics": [length, *([{"id": "chamfer", "kind": "attribute"}] if chamfer else [])],
    }  # fmt: skip
    folder.mkdir(parents=True)
    for name, doc in docs.items():
        (folder / name).write_text(json.dumps(doc, indent=2), encoding="utf-8")


__all__ = ["STATION", "Tmux", "pin_verifier", "write_bench_master"]
