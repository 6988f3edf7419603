"""End to end (issue 16, 21 CFR Part 11) in a real terminal: `station bench` in tmux with a
keyboard-wedge scanner (send-keys) and a pty Mitutoyo caliper, a real mosquitto, the reference
central (`python -m sim.central`) and the real `station sync` daemon over the bench's store.

The operators' master data carry PIN verifiers made by `station pin-hash`; `[signatures]
required = ["nonconformance"]`, `max_pin_failures = 3`.

1. T. Terminal rejects a part, describes the NC and signs it in the PIN dialog (badge again,
   then the PIN: `badge+pin`, 11.200(a)(1)). The NC reaches the central with its
   manifestation (11.50: id, printed name, meaning, time, method).
2. U. Locked types three wrong PINs: three `pin-failed` events and one `operator-locked` reach
   the central (11.300(d)); the badge is refused at once, and again after the bench is quit
   and started anew (the lock is re-derived from the store).

Throughout, no PIN (right or wrong) is on any screen capture, in the bench's log,
the sync daemon's or the central's log, or in the bytes of the SQLite store (11.300(a),(b)).
Every wait observes the screen or the central's database with a deadline.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sim.mosquitto import Mosquitto
from sim.net import wait_until
from sim.serial_gauge import SerialGaugeSim
from sim.supervisor import Supervisor
from tests.helpers.central import central_records, contract_errors
from tests.helpers.terminal import STATION, Tmux, pin_verifier, write_bench_master

pytestmark = [pytest.mark.mosquitto]

ROOT = Path(__file__).resolve().parents[2]
PIN_70 = "739164"  # T. Terminal's PIN
PIN_71 = "582047"  # U. Locked's PIN, never typed
WRONG = ("916305", "916306", "916307")  # U. Locked's three guesses
SECRETS = (PIN_70, PIN_71, *WRONG)
IDLE = "S C A N   Y O U R   B A D G E"
BULLET = "\N{BULLET}"  # how Textual's password Input draws each character


def write_master(folder: Path) -> None:
    """Two operators with PIN verifiers, a caliper and a one-characteristic plan."""
    ops = {
        "op-70": {"name": "T. Terminal", "badge": "B-7001", "pin": pin_verifier(PIN_70)},
        "op-71": {"name": "U. Locked", "badge": "B-7101", "pin": pin_verifier(PIN_71)},
    }
    write_bench_master(folder, ops)


def write_config(path: Path, port: int, gauge: Path) -> None:
    path.write_text(
        '[station]\nid = "bench-sig"\nsite = "plant-a"\ndata_dir = "data"\n\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nack = "central"\nresend_after_s = 2\n\n'
        '[master]\ndir = "master"\n\n'
        f'[[inputs]]\nname = "caliper"\ndriver = "mitutoyo"\nport = "{gauge}"\n\n'
        '[signatures]\nrequired = ["nonconformance"]\nsession_timeout_s = 900\n'
        "max_pin_failures = 3\n",
        encoding="utf-8",
    )


class World:
    """The processes of one test and where their output goes."""

    def __init__(self, root: Path, broker: Mosquitto, gauge: SerialGaugeSim) -> None:
        self.root = root
        self.gauge = gauge
        self.cfg = root / "station.toml"
        self.central_db = root / "central.db"
        write_master(root / "master")
        write_config(self.cfg, broker.port, Path(gauge.path))
        argv = [sys.executable, "-m", "sim.central", "--port", str(broker.port)]
        argv += ["--site", "plant-a", "--db", str(self.central_db)]
        self.central = Supervisor("central", argv, root / "central.log", cwd=ROOT)
        sync_argv = [str(STATION), "sync", "-c", str(self.cfg)]
        self.sync = Supervisor("sync", sync_argv, root / "sync.log", cwd=ROOT)
        self.tmux = Tmux()

    def start_bench(self) -> str:
        """`station bench` in tmux; the idle screen once it is up. (Textual draws on stderr,
        so stderr stays the terminal; the bench logs to `data/bench.log`.)"""
        self.tmux.start(f"env TERM=linux {STATION} bench -c {self.cfg}")
        return self.tmux.wait_text(IDLE, "the idle screen")

    def records(self) -> list[dict[str, Any]]:
        return central_records(self.central_db)

    def events(self, kind: str, operator: str) -> list[dict[str, Any]]:
        return [
            r
            for r in self.records()
            if r["type"] == "event"
            and r["body"]["kind"] == kind
            and r["body"].get("operator") == operator
        ]

    def wait_central(self, what: str, cond: Any, timeout: float = 20.0) -> None:
        def holds() -> bool:
            for p in (self.central, self.sync):
                if not p.alive():
                    raise AssertionError(f"{p.role} exited:\n{p.log}")
            return bool(cond())

        try:
            wait_until(what, holds, timeout, every=0.2)
        except TimeoutError as exc:
            kinds = [(r["seq"], r["type"], r["body"].get("kind")) for r in self.records()]
            screen = self.tmux.screen()
            raise AssertionError(f"{exc}; the central holds {kinds}; screen:\n{screen}") from None

    def outputs(self) -> dict[str, bytes]:
        """Every byte the station side wrote: the bench's log, the sync daemon's and the
        central's, the store (and its WAL)."""
        files = [*(self.root / "data").glob("*"), *self.root.glob("*.log")]
        return {str(p): p.read_bytes() for p in files if p.is_file()}

    def close(self) -> None:
        self.tmux.kill_server()
        for p in (self.sync, self.central):
            p.close()


@pytest.fixture
def world(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[World]:
    with SerialGaugeSim("mitutoyo", tmp_path / "dev" / "caliper", value="10.500") as gauge:
        w = World(tmp_path, mosquitto, gauge)
        try:
            w.central.start()
            w.central.wait_ready(
                lambda: "connected (session present" in w.central.log, 15, "connected"
            )
            w.sync.start()
            yield w
        finally:
            w.close()


def reject_part(w: World, badge: str, name: str) -> None:
    """Log in, scan the part and the caliper, press the data button (10.50 mm, over the USL):
    the inspection completes rejected and the NC dialog opens; describe it and submit."""
    t = w.tmux
    t.type(badge)
    t.wait_text(f"welcome {name}: scan a part", f"the login of {name}")
    t.type("PN-700")
    # The last part's outcome (REJECTED) stays on screen until the next part starts.
    t.wait(lambda s: "plan P-7001 rev A" in s and "REJECTED" not in s, "the plan screen")
    t.type("CAL-7")
    t.wait_text("instrument CAL-7 (caliper) selected", "the instrument")
    w.gauge.press_button()
    screen = t.wait_text("up/down: choose", "the NC dialog")
    rows = dialog_rows(screen, "REJECTED: nonconformance", "up/down: choose")
    before = t.styled()
    t.key("Tab")  # to the text field; the first code (dimension-out-of-tolerance) stays
    t.wait_restyled(rows, before, "the focus on the NC's text field")
    typed(t, "length over the upper limit", "length over the upper limit")


def dialog_rows(screen: str, first: str, last: str) -> range:
    """The rows of a dialog on `screen`, from the line holding `first` to the one with `last`."""
    lines = screen.splitlines()
    top = next(i for i, line in enumerate(lines) if first in line)
    bottom = next(i for i, line in enumerate(lines) if last in line)
    return range(top, bottom + 1)


def typed(t: Tmux, text: str, shown: str) -> None:
    """Type `text` into the focused field, wait until the screen shows `shown` (the text, or
    bullets for a PIN), then Enter."""
    t.keys(text)
    t.wait_text(shown, f"{shown!r} in the field", 5.0)
    t.key("Enter")


def sign_dialog(w: World, name: str, badge: str) -> None:
    """The PIN dialog shows the manifestation; the first signing wants the badge again."""
    t = w.tmux
    screen = t.wait_text("ELECTRONIC SIGNATURE", "the PIN dialog")
    assert "I sign this nonconformance report as its author" in screen, screen
    assert "scan your badge again" in screen, screen
    t.type(badge)
    # Not "scan your badge again, then type your PIN": the prompt once the badge is taken.
    # Typing the PIN before it shows would put it into the (plain) badge field.
    t.wait(lambda s: f"{name} (" in s and "): type your PIN" in s, f"the PIN step of {name}")


def refused(screen: str) -> bool:
    """U. Locked's badge refused for the lockout (not for another reason)."""
    flat = " ".join(screen.split())
    return (
        "operator op-71 (U. Locked) is locked at this station" in flat and "login refused" in flat
    )


def test_a_signed_nc_reaches_the_central_and_three_wrong_pins_lock_the_operator(
    world: World,
) -> None:
    w, t = world, world.tmux
    idle = w.start_bench()
    assert "bench-sig" in idle
    t.wait_text("link ok", "the caliper connected")

    # 1. T. Terminal's NC, signed with badge and PIN.
    reject_part(w, "B-7001", "T. Terminal")
    sign_dialog(w, "T. Terminal", "B-7001")
    typed(t, PIN_70, BULLET * len(PIN_70))  # the PIN typed shows as bullets only

    def nc_arrived() -> bool:
        return any(r["type"] == "nonconformance" for r in w.records())

    w.wait_central("the signed NC at the central", nc_arrived)
    t.screen()
    [nc] = [r for r in w.records() if r["type"] == "nonconformance"]
    assert contract_errors(nc) == [], nc
    [sig] = nc["body"]["signatures"]
    assert sig["operator"] == "op-70" and sig["name"] == "T. Terminal", sig
    assert sig["meaning"] == "authorship" and sig["method"] == "badge+pin", sig
    signed_at = datetime.fromisoformat(sig["ts"])
    assert abs(datetime.now(UTC) - signed_at) < timedelta(minutes=2), sig
    assert nc["body"]["operator"] == "op-70"

    t.wait_text("nonconformance recorded", "the NC recorded on screen")

    # 2. U. Locked: three wrong PINs.
    t.type("B-7001")  # T. Terminal logs out
    t.wait_text("logged out", "the logout of T. Terminal")
    reject_part(w, "B-7101", "U. Locked")
    sign_dialog(w, "U. Locked", "B-7101")
    for n, guess in enumerate(WRONG, start=1):
        typed(t, guess, BULLET * len(guess))
        if n < len(WRONG):
            t.wait_text(f"{len(WRONG) - n} attempt(s) left", f"wrong PIN #{n}")
    t.wait_text("U. Locked (op-71) is locked at this station", "the lockout")

    def locked_at_central() -> bool:
        return (
            len(w.events("pin-failed", "op-71")) == 3
            and len(w.events("operator-locked", "op-71")) == 1
        )

    w.wait_central("3 pin-failed and 1 operator-locked at the central", locked_at_central)
    failed = w.events("pin-failed", "op-71")
    assert [e["body"]["detail"]["failures"] for e in failed] == [1, 2, 3]
    [lock] = w.events("operator-locked", "op-71")
    assert lock["seq"] > failed[-1]["seq"]
    for r in [*failed, lock]:
        assert contract_errors(r) == [], r
    assert not any(
        r["type"] == "nonconformance" and r["body"]["operator"] == "op-71" for r in w.records()
    )

    t.type("B-7101")
    t.wait(refused, "U. Locked refused at the next badge scan")

    # The lock survives a restart of the bench (re-derived from the store; the master folder
    # applied again at start is the same document, so it does not unlock).
    t.quit_bench()
    w.start_bench()
    t.type("B-7101")
    t.wait(refused, "U. Locked refused after the restart")
    t.quit_bench()

    # No PIN anywhere: screens, logs, the store's bytes.
    assert len(t.captures) > 20
    for screen in t.captures:
        for pin in SECRETS:
            assert pin not in screen, screen
    outputs = w.outputs()
    assert any(name.endswith("station.db") for name in outputs), list(outputs)
    for name, data in outputs.items():
        for pin in SECRETS:
            assert pin.encode() not in data, f"a PIN in {name}"
