"""A store client run as a separate process by the crash and two-process tests.

    python store_worker.py crash DB      append forever, print each committed seq (one line)
    python store_worker.py race DB SECS  append + mark delivered at full speed for SECS,
                                         then print the number of records it appended

Any exception goes to stderr with exit status 1.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

from station.store import Store


def inspection(i: int) -> dict[str, Any]:
    m = {
        "characteristic": "bore-dia",
        "sample": 1,
        "kind": "variable",
        "value": 12.3 + (i % 100) / 1000,
        "unit": "mm",
        "raw": "x",
        "verdict": "pass",
        "instrument": f"CAL-{i % 3}",
        "ts": "2026-11-21T08:00:00.000Z",
    }
    return {
        "plan": {"id": "P-1", "rev": "A"},
        "part": {"number": "PN-1", "serial": f"SN-{i}"},
        "operator": "op-1",
        "reason": "production",
        "started": "2026-11-21T08:00:00.000Z",
        "completed": "2026-11-21T08:00:01.000Z",
        "result": "accept",
        "measurements": [m, {**m, "sample": 2}],
    }


def event(i: int) -> dict[str, Any]:
    return {"kind": "tick", "operator": None, "detail": {"i": i, "pid": "é€"}}


def crash(db: Path) -> None:
    out = sys.stdout
    with Store.open(db, site="plant-a", station="bench-01") as store:
        i = 0
        while True:
            i += 1
            roll = random.random()
            if roll < 0.4:
                seqs = [store.append("event", event(i)).seq]
            elif roll < 0.8:
                seqs = [store.append("inspection", inspection(i)).seq]
            elif roll < 0.95:
                items = [("event", event(i)), ("inspection", inspection(i))] * 2
                seqs = [r.seq for r in store.append_many(items)]  # type: ignore[arg-type]
            else:
                store.mark_delivered_upto(store.last_seq() - 5)
                continue
            out.write("".join(f"{s}\n" for s in seqs))
            out.flush()


def race(db: Path, seconds: float) -> None:
    appended = 0
    with Store.open(db, site="plant-a", station="bench-01") as store:
        end = time.monotonic() + seconds
        mine: list[int] = []
        while time.monotonic() < end:
            rec = store.append(
                "inspection" if appended % 2 else "event",
                inspection(appended) if appended % 2 else event(appended),
            )
            appended += 1
            mine.append(rec.seq)
            if len(mine) >= 5:
                store.mark_published(mine)
                store.mark_delivered(mine[:3])
                store.pending(limit=20)
                mine = mine[3:]
            if appended % 25 == 0:
                store.mark_delivered_upto(rec.seq - 50)
                store.status()
    print(appended)


def main(argv: list[str]) -> int:
    mode, db = argv[1], Path(argv[2])
    if mode == "crash":
        crash(db)
    elif mode == "race":
        race(db, float(argv[3]))
    else:
        print(f"unknown mode {mode!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
