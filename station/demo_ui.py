"""The demo's keys: scans through the simulated scanner, data buttons on the simulated gauges.

Every key acts on the simulators only (never on the workflow), so what the bench shows is
exactly what it would show with real hardware: the scan travels through the scanner's pty and
the serial scanner driver, the value through the caliper's pty and the Mitutoyo driver.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from station.bench.workflow import Mode, Workflow
from station.config import load_config
from station.demo import DemoEnvironment
from station.demo_master import BADGE_EXPIRED, BADGE_QUALIFIED, PART_GTIN
from station.ui.app import DemoKey, run_bench

GOOD_BORES = ("12.346", "12.352", "12.339", "12.361", "12.344", "12.357")
BAD_BORE = "12.412"
GS = "\x1d"


class DemoKeys:
    """State behind the demo keys: next serial number, next good value."""

    def __init__(self, env: DemoEnvironment, wf: Workflow) -> None:
        self.env = env
        self.wf = wf
        self.serial = 0
        self.good = 0

    def scan(self, text: str) -> Callable[[], None]:
        return lambda: self.env.scanner.scan(text)

    def next_part(self) -> None:
        # A GS1 DataMatrix as a scanner sends it: AIM prefix ]d2, GTIN, serial, GS, lot.
        self.serial += 1
        self.env.scanner.scan(f"]d201{PART_GTIN}21SN-{self.serial:04d}{GS}10LOT-DEMO")

    def _press(self, value: str) -> None:
        self.env.caliper.value = value
        self.env.caliper.press_button()

    def _check_value(self, bias: str) -> str | None:
        """In instrument-check mode, the caliper reads the standard (plus a bias)."""
        check = self.wf.state.check
        if self.wf.state.mode is Mode.CHECK and check is not None and check.standard:
            return str(Decimal(str(check.standard.value)) + Decimal(bias))
        return None

    def data_good(self) -> None:
        value = self._check_value("0.004")
        if value is None:
            value = GOOD_BORES[self.good % len(GOOD_BORES)]
            self.good += 1
        self._press(value)

    def data_bad(self) -> None:
        self._press(self._check_value("0.060") or BAD_BORE)

    def keys(self) -> Sequence[DemoKey]:
        return [
            ("f3", "Badge", self.scan(BADGE_QUALIFIED)),
            ("f4", "Part", self.next_part),
            ("f5", "Caliper", self.scan("CAL-0042")),
            ("f7", "DATA ok", self.data_good),
            ("f9", "DATA bad", self.data_bad),
            ("f10", "Overdue cal", self.scan("CAL-0007")),
            ("f11", "Gauge blk", self.scan("GB-25")),
            ("f12", "Badge 2", self.scan(BADGE_EXPIRED)),
        ]


HINTS: dict[Mode, str] = {
    Mode.IDLE: "demo: F3 badge of Ana (qualified)  F12 badge of Ben (qualification expired)",
    Mode.READY: "demo: F4 scan a part  F6 check an instrument  F3 log out",
    Mode.INSPECTING: "demo: F5 caliper  F7 DATA ok  F9 DATA bad  ^P/^F visual  F10 overdue cal",
    Mode.NONCONFORMANCE: "demo: pick a reason code, describe the defect, Enter",
    Mode.CHECK: "demo: F5 caliper, F11 gauge block, then F7 x3 (pass) or F9 x3 (fail)",
    Mode.SPC_SIGNAL: "demo: pick an assignable cause for the SPC signal",
}


def demo_hint(wf: Workflow) -> str:
    """The hint line for the current mode (the bench's own keys stay in the key bar)."""
    st = wf.state
    plan = st.draft.plan if st.draft is not None else None
    if (
        st.mode is Mode.INSPECTING
        and plan is not None
        and any(c.instrument_type == "balance" for c in plan.characteristics)
    ):
        return "demo: Space polls the balance and the torque instrument"
    return HINTS[st.mode]


def run_demo_bench(env: DemoEnvironment) -> int:
    """The bench UI on the demo config, with the demo keys and hints."""
    cfg = load_config(env.config_path)
    return run_bench(cfg, demo_keys=lambda wf: DemoKeys(env, wf).keys(), demo_hint=demo_hint)


__all__ = ["HINTS", "DemoKeys", "demo_hint", "run_demo_bench"]
