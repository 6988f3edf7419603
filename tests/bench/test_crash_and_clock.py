"""Issue 13.11 (bench part): SIGKILL mid-inspection and clock jumps must not damage the draft.

The bench runs as a real child process on a real store (tests/bench/kill_child.py) and is
killed with SIGKILL 20 times at random points, some while a reading is being written; each
time the draft must hold every sample the child reported accepted, at most the one in flight
besides, and nothing else, with the values it read.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from drivers.base import Reading
from station.bench.draft import draft_from_doc
from station.bench.workflow import Mode, Workflow
from station.settings import Config
from station.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kill_child import value_of

RD = Callable[[float, str | None, str], Reading]
CHILD = Path(__file__).resolve().parent / "kill_child.py"
KILLS = 20

KILL_PLAN = {
    "schema": "qms.master/plan@1",
    "id": "P-KILL",
    "rev": "A",
    "status": "released",
    "title": "many samples of one length",
    "part_numbers": ["PN-KILL"],
    "qualifications": ["DIM-2"],
    "characteristics": [
        {
            "id": "len",
            "name": "Length",
            "kind": "variable",
            "nominal": 10.25,
            "lsl": 10.0,
            "usl": 10.5,
            "unit": "mm",
            "instrument_type": "caliper",
            "samples": 1000,
            "rule": "simple",
        }
    ],
}


def run_until_killed(data_dir: Path, life: int, rng: random.Random) -> tuple[set[int], set[int]]:
    """One child life: (samples it reported accepted, sample in flight when killed).

    The child goes on working between the line that triggers the kill and the kill, so
    after its death the rest of its output (still in the pipe) is read too: what counts is
    everything it said before it died.
    """
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(data_dir), str(life)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    lines: list[str] = []
    stop_after = rng.randint(1, 12)  # lines of output before the kill
    mid_write = rng.random() < 0.5  # kill right after "taking": during the draft commit
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            assert line, f"the child ended early: {child.stderr.read()}"
            lines.append(line)
            if line.startswith("taking "):
                stop_after -= 1
                if stop_after <= 0 and mid_write:
                    break
            elif line.startswith("accepted ") and stop_after <= 0:
                break
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        lines += child.stdout.read().splitlines()
    finally:
        child.kill()
        child.wait(10)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    accepted: set[int] = set()
    in_flight: set[int] = set()
    for line in lines:
        if line.startswith("start "):  # what the child resumed (shown on a failure)
            continue
        word, sample = line.split()[:2]
        assert word in ("taking", "accepted"), lines
        if word == "taking":
            in_flight = {int(sample)}
        else:
            accepted.add(int(sample))
            in_flight = set()
    return accepted, in_flight


def test_sigkill_mid_inspection_keeps_the_draft_whole(
    store: Store, config: Config, tmp_path: Path
) -> None:
    store.bootstrap_master([("plan", "P-KILL", KILL_PLAN)])
    store.close()
    data_dir = config.station.data_dir
    rng = random.Random(1311)
    accepted: set[int] = set()
    for life in range(KILLS):
        got, in_flight = run_until_killed(data_dir, life, rng)
        accepted |= got
        with Store.open(
            config.station.db_path, site=config.station.site, station=config.station.id
        ) as after:
            doc = after.load_draft()
            assert doc is not None
            draft = draft_from_doc(doc, after.master_data().plans)
            assert after.verify().ok
        samples = {s for (_, s) in draft.measurements}
        assert accepted <= samples, sorted(accepted - samples)  # nothing accepted is lost
        assert samples <= accepted | in_flight, sorted(samples - accepted)  # nothing extra
        accepted = samples  # the in-flight one, when committed, is part of the draft now
        for (_, s), m in draft.measurements.items():
            assert m.value == value_of(s) and m.instrument == "CAL-0042"
    assert len(accepted) > KILLS // 2


def test_clock_jumps_do_not_corrupt_the_draft(
    wf: Workflow,
    store: Store,
    config: Config,
    clock: Any,
    rd: RD,
    store_factory: Callable[..., Store],
) -> None:
    wf.scan("B-1017")
    wf.scan("PN-778")
    wf.scan("CAL-0042")
    assert wf.reading("caliper", rd(12.35, "mm", "01A+0012.350")).level == "ok"
    clock.now -= timedelta(hours=5)  # the clock jumps back before the next reading
    clock.advance(days=400)  # ... then 400 days ahead: CAL-0042 (due 2027-06-30) is overdue
    n = wf.reading("caliper", rd(25.0, "mm", "01A+0025.000"))
    assert n.refused and any("overdue" in d for d in n.details)
    clock.advance(days=-400)
    # The draft reloads whole in a restarted bench, with the values and times it had.
    wf2 = Workflow(store_factory(), config, clock)
    wf2.load_unfinished()
    wf2.scan("B-1017")
    assert wf2.state.mode is Mode.INSPECTING and wf2.state.draft is not None
    assert wf.state.draft is not None
    assert wf2.state.draft.to_doc() == wf.state.draft.to_doc()
    assert wf2.scan("CAL-0042").level == "ok"
    assert wf2.reading("caliper", rd(25.0, "mm", "01A+0025.000")).level == "ok"
    done = wf2.judge_attribute(True)
    assert "ACCEPTED" in done.text, done.lines()
    [insp] = [r for r in wf2.store.records() if r.type == "inspection"]
    body = insp.body
    assert [m["value"] for m in body["measurements"]] == [12.35, 25.0, None]
    assert body["completed"] >= body["started"]  # completed never before started
