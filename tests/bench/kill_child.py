"""The bench workflow in a child process, for the SIGKILL test (test_crash_and_clock.py).

`python tests/bench/kill_child.py DATA_DIR LIFE`: opens the store in DATA_DIR, resumes the draft
(or starts part PN-KILL), then takes readings of the pending samples through
`Workflow.reading`, printing `taking N` before and `accepted N` after each, until killed.
The value of sample N is `value_of(N)`, so the parent can check every value it finds.
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from drivers.base import Reading
from station.bench.workflow import Workflow
from station.config import load_config
from station.store import Store

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)


def value_of(sample: int) -> float:
    """The value the child reads for `sample` (inside 10.0 .. 10.5)."""
    return round(10.0 + (sample % 500) / 1000, 3)


def main(data_dir: str, life: int) -> int:
    cfg = load_config(ROOT / "config" / "station.toml")
    cfg = dataclasses.replace(
        cfg, station=dataclasses.replace(cfg.station, data_dir=Path(data_dir))
    )
    ticks = iter(range(10**9))

    def clock() -> datetime:
        # Each life an hour after the last: the clock moves forward only, as a real one.
        return START + timedelta(hours=life, milliseconds=next(ticks))

    store = Store.open(
        cfg.station.db_path, site=cfg.station.site, station=cfg.station.id, clock=clock
    )
    wf = Workflow(store, cfg, clock)
    offered = wf.load_unfinished()
    wf.scan("B-1017")
    d = wf.state.draft
    held = "none" if d is None else ",".join(str(s) for _, s in sorted(d.measurements))
    print(f"start {held} {None if offered is None else offered.lines()}", flush=True)
    if wf.state.draft is None:
        assert wf.scan("PN-KILL").level == "ok"
    assert wf.scan("CAL-0042").level == "ok"
    press = 0
    while wf.state.draft is not None:
        _, sample = wf.pending_samples()[0]
        value = value_of(sample)
        print(f"taking {sample}", flush=True)
        press += 1
        r = Reading(value, "mm", f"01A+{value:08.3f}", float(press), clock())
        n = wf.reading("caliper", r)
        if n.level != "ok":
            print(f"refused {sample} {n.lines()}", flush=True)
            return 1
        print(f"accepted {sample}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
