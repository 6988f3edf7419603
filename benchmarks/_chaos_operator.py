"""A simulated operator at the bench: the chaos run's source of records.

It drives `station.bench.workflow.Workflow` exactly as the bench UI does: the badge scan, a
GS1 part scan with a serial and a lot, the instrument's label scan, one reading per variable
characteristic taken from a simulated Mitutoyo gauge on a pty (the real `MitutoyoDriver`
behind the bench's own `InputReader` thread, so a pulled cable is met by the same reconnect
loop as at the bench), the pass/fail key for the attribute, the nonconformance dialog for a
rejected part, and the SPC acknowledgement when a run rule fires. When the storage budget
refuses a new part the operator waits and scans it again, as a person would.

While `bounce` is set, each press sends its frame twice in one write (a footswitch whose
contacts bounce, issue 13.6); the operator hands the second copy to the workflow too, as the
bench UI would, and counts it as `fabricated` when it filled a sample: two samples from one
press. The bench's clock is a `ShiftedClock`, so a clock jump can be injected.

Every reading must come back as the frame the gauge sent for it; a reading that does not
(a frame left over from before an unplug) is counted and not used. Anything the workflow
answers that a correct bench would not answer is counted as `unexpected` and fails the run.
"""

from __future__ import annotations

import json
import queue
import random
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from drivers.base import Reading
from sim.serial_gauge import SerialGaugeSim
from station.bench.inputs import InputEvent, InputLink, InputProblem, InputReader, InputValue
from station.bench.workflow import Mode, Workflow

BADGE = "B-1017"  # op-17, qualified for plan P-1001 (config/master)
INSTRUMENT = "CAL-0042"  # the caliper, cal_due 2027-06-30 in the shipped master data
GTIN = "09506000134352"  # a part number of plan P-1001 rev C (released)
REFUSED = "new inspections are refused"
READ_TIMEOUT_S = 1.0  # per button press; then the press is repeated
GAUGE_GIVE_UP_S = 120.0


def make_master(src: Path, dst: Path, today: date) -> list[str]:
    """Copy the shipped master data, moving the dates this run relies on into the future.

    The shipped files are valid on the day they were written (CAL-0042 due 2027-06-30, op-17's
    qualifications until 2027-12-31). With a real clock the run must not start failing on the
    day they lapse, so any of those dates less than 30 days ahead becomes today + 1 year.
    Returns what was changed (empty while the shipped dates are still good).
    """
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    soon = today + timedelta(days=30)
    later = (today + timedelta(days=365)).isoformat()
    changed: list[str] = []
    inst = dst / f"instrument-{INSTRUMENT}.json"
    doc = json.loads(inst.read_text("utf-8"))
    if date.fromisoformat(doc["cal_due"]) < soon:
        changed.append(f"{INSTRUMENT} cal_due {doc['cal_due']} -> {later}")
        doc["cal_due"] = later
        inst.write_text(json.dumps(doc, indent=2), "utf-8")
    op = dst / "operator-op-17.json"
    doc = json.loads(op.read_text("utf-8"))
    for q in doc["qualifications"]:
        if q.get("expires") and date.fromisoformat(q["expires"]) < soon:
            changed.append(f"op-17 {q['code']} expires {q['expires']} -> {later}")
            q["expires"] = later
    op.write_text(json.dumps(doc, indent=2), "utf-8")
    return changed


@dataclass
class OperatorStats:
    """What the operator did and met (all counts since start)."""

    inspections: int = 0
    results: Counter[str] = field(default_factory=Counter)
    nonconformances: int = 0
    spc_acknowledged: int = 0
    budget_refusals: int = 0
    budget_message: str | None = None
    refusal_episodes: list[tuple[float, float]] = field(default_factory=list)  # wall times
    readings: int = 0
    stale_readings: int = 0
    presses_without_value: int = 0
    longest_gauge_wait_s: float = 0.0
    problems: Counter[str] = field(default_factory=Counter)
    links: list[tuple[float, str, str]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    bounced_presses: int = 0
    bounces_seen: int = 0  # second copies that reached the workflow
    fabricated: int = 0  # second copies that filled a sample (must stay 0)
    fabricated_examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "inspections": self.inspections,
            "results": dict(self.results),
            "nonconformances": self.nonconformances,
            "spc_acknowledged": self.spc_acknowledged,
            "budget_refusals": self.budget_refusals,
            "budget_message": self.budget_message,
            "refusal_episodes": len(self.refusal_episodes),
            "readings": self.readings,
            "stale_readings": self.stale_readings,
            "presses_without_value": self.presses_without_value,
            "longest_gauge_wait_s": round(self.longest_gauge_wait_s, 2),
            "gauge_problems": dict(self.problems),
            "gauge_link_changes": [f"{s}: {d}"[:120] for _, s, d in self.links[:10]],
            "unexpected": self.unexpected[:20],
            "bounced_presses": self.bounced_presses,
            "bounces_seen": self.bounces_seen,
            "fabricated": self.fabricated,
            "fabricated_examples": self.fabricated_examples[:5],
        }


class ShiftedClock:
    """The bench's wall clock (aware UTC) plus `offset`: a clock jump, injected."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class Operator:
    """Inspects parts one after another through the workflow (see the module docstring)."""

    def __init__(
        self,
        wf: Workflow,
        gauge: SerialGaugeSim,
        reader: InputReader,
        *,
        rng: random.Random,
        run_id: str,
        reject_rate: float = 0.03,
    ) -> None:
        self.wf = wf
        self.gauge = gauge
        self.reader = reader
        self.input = reader.name
        self.rng = rng
        self.run_id = run_id
        self.reject_rate = reject_rate
        self.stats = OperatorStats()
        self.events: queue.SimpleQueue[InputEvent] = queue.SimpleQueue()
        self._refused_since: float | None = None
        self.bounce = False  # set by the chaos run's bounce fault
        self._bounced = False  # the last press sent its frame twice
        self._last_frame = 0.0  # driver stamp of the last frame read

    # -- the gauge -------------------------------------------------------------------------

    def start(self) -> None:
        self.reader.start(self.events.put)

    def stop(self) -> None:
        self.reader.stop()

    def _note(self, ev: InputEvent) -> InputValue | None:
        if isinstance(ev, InputValue):
            return ev
        if isinstance(ev, InputProblem):
            self.stats.problems[ev.kind] += 1
        elif isinstance(ev, InputLink):
            self.stats.links.append((time.time(), ev.state, ev.detail))
        return None

    def _read(self, value: Decimal) -> Reading:
        """Press the gauge's DATA button until its frame for `value` comes back."""
        while True:  # leftovers from before (a frame buffered across an unplug): not used
            try:
                ev = self.events.get_nowait()
            except queue.Empty:
                break
            if self._note(ev) is not None:
                self.stats.stale_readings += 1
        self.gauge.value = value
        expected = self.gauge.frame().rstrip(b"\r").decode("latin-1")
        t0 = time.monotonic()
        while time.monotonic() - t0 < GAUGE_GIVE_UP_S:
            # A person cannot press twice within the input's debounce window; a press that
            # did would be refused ("too soon"), as it should be.
            # Measured from the last frame's driver stamp (`Reading.monotonic`, what the
            # debounce compares).
            window_s = self.wf.debounce.window_ms(self.input) / 1000 + 0.005
            time.sleep(max(0.0, self._last_frame + window_s - time.monotonic()))
            self._bounced = self.bounce
            if self._bounced:
                self.stats.bounced_presses += 1
                self.gauge.send_raw(self.gauge.frame() * 2)  # both copies in one write
            else:
                self.gauge.press_button()
            deadline = time.monotonic() + READ_TIMEOUT_S
            while (left := deadline - time.monotonic()) > 0:
                try:
                    got = self._note(self.events.get(timeout=left))
                except queue.Empty:
                    break
                if got is None:
                    continue
                self._last_frame = max(self._last_frame, got.reading.monotonic)
                if got.reading.raw != expected:
                    self.stats.stale_readings += 1
                    continue
                self.stats.readings += 1
                waited = time.monotonic() - t0
                self.stats.longest_gauge_wait_s = max(self.stats.longest_gauge_wait_s, waited)
                return got.reading
            self.stats.presses_without_value += 1
        raise RuntimeError(f"no value from the gauge for {GAUGE_GIVE_UP_S:.0f}s")

    def _second_copy(self, n: int, characteristic: str) -> None:
        """After a bounced press: hand the frame's second copy to the workflow, as the UI would."""
        deadline = time.monotonic() + READ_TIMEOUT_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                got = self._note(self.events.get(timeout=left))
            except queue.Empty:
                return
            if got is None:
                continue
            self.stats.bounces_seen += 1
            self._last_frame = max(self._last_frame, got.reading.monotonic)
            before = len(self.wf.pending_samples())
            answer = self.wf.reading(self.input, got.reading)
            if len(self.wf.pending_samples()) < before:
                self.stats.fabricated += 1
                self.stats.fabricated_examples.append(
                    f"part {n} after {characteristic}: {answer.text}"[:200]
                )
            return

    # -- one part --------------------------------------------------------------------------

    def _unexpected(self, what: str, lines: list[str]) -> None:
        self.stats.unexpected.append(f"{what}: {' | '.join(lines)}"[:300])

    def _value_for(self, characteristic: str, bad: bool) -> Decimal:
        r = self.rng
        if characteristic == "bore-dia":  # 12.30 .. 12.40, simple rule
            x = r.uniform(12.41, 12.44) if bad else r.gauss(12.35, 0.008)
            x = min(max(x, 12.31), 12.39) if not bad else x
        else:  # seat-dia 24.95 .. 25.05, guarded with U = 0.02: 25.03 < x <= 25.05 indeterminate
            x = min(max(r.gauss(25.0, 0.008), 24.975), 25.035)
        return Decimal(f"{x:.2f}")

    def _part_scan(self, n: int) -> str:
        serial = f"{self.run_id}{n:07d}"
        lot = f"L{n // 500:04d}"
        return f"]C101{GTIN}21{serial}\x1d10{lot}"

    def mode(self) -> Mode:
        """The bench's mode now (a call, so that type narrowing does not outlive an action)."""
        return self.wf.state.mode

    def inspect(self, n: int) -> bool:
        """Inspect part `n`; False when the storage budget refused to start it."""
        wf = self.wf
        if wf.state.mode is Mode.SPC_SIGNAL:
            self._ack_spc()
        if wf.state.operator is None:
            login = wf.scan(BADGE)
            if login.level != "ok":
                self._unexpected("login", login.lines())
        scan = wf.scan(self._part_scan(n))
        if scan.level == "error" and scan.text == REFUSED:
            self._refused(scan.lines())
            return False
        if self._refused_since is not None:
            self.stats.refusal_episodes.append((self._refused_since, time.time()))
            self._refused_since = None
        if wf.state.mode is not Mode.INSPECTING:
            self._unexpected(f"part {n}", scan.lines())
            return True
        inst = wf.scan(INSTRUMENT)
        if inst.level != "ok":
            self._unexpected(f"instrument scan, part {n}", inst.lines())
        before = wf.state.last_inspection
        bad = self.rng.random() < self.reject_rate
        burr = self.rng.random() < self.reject_rate / 3
        for c, _sample in wf.pending_samples():
            if c.kind != "variable":
                continue
            reading = self._read(self._value_for(c.id, bad))
            got = wf.reading(self.input, reading)
            if got.level == "error" and "FAIL" not in got.text:
                self._unexpected(f"reading {c.id}, part {n}", got.lines())
            if self._bounced:
                self._second_copy(n, c.id)
        done = wf.judge_attribute(not burr)
        if wf.state.draft is not None or wf.state.last_inspection in (None, before):
            self._unexpected(f"completion, part {n}", done.lines())
            wf.abandon()
            return True
        assert wf.state.last_inspection is not None
        result = str(wf.state.last_inspection.body["result"])
        self.stats.inspections += 1
        self.stats.results[result] += 1
        if self.mode() is Mode.NONCONFORMANCE:
            reason = "burr" if burr and not bad else "dimension-out-of-tolerance"
            nc = wf.submit_nonconformance(reason, f"part {n}: {done.text}")
            if nc.level != "ok":
                self._unexpected(f"nonconformance, part {n}", nc.lines())
            else:
                self.stats.nonconformances += 1
        if self.mode() is Mode.SPC_SIGNAL:
            self._ack_spc()
        return True

    def _ack_spc(self) -> None:
        n = len(self.wf.state.spc_alerts)
        ack = self.wf.acknowledge_spc("no-cause-found", "chaos run: simulated process")
        if ack.level != "ok":
            self._unexpected("SPC acknowledgement", ack.lines())
        else:
            self.stats.spc_acknowledged += n

    def _refused(self, lines: list[str]) -> None:
        self.stats.budget_refusals += 1
        if self.stats.budget_message is None:
            self.stats.budget_message = lines[1] if len(lines) > 1 else lines[0]
        if not any("storage budget reached" in line for line in lines):
            self._unexpected("refusal without the budget reason", lines)
        if self._refused_since is None:
            self._refused_since = time.time()


def utc_now() -> datetime:
    return datetime.now(UTC)
