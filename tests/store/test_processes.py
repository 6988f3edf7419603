"""Real processes against one store file: two writers at full speed, and SIGKILL at random
moments while appending. Bounded: ~4 s and ~20 s."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from station.store import Store

WORKER = str(Path(__file__).with_name("store_worker.py"))
pytestmark = pytest.mark.slow


def test_two_processes_append_and_mark_delivered_without_lock_errors(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    # Both start on a file that does not exist yet: they race through the migrations too.
    procs = [
        subprocess.Popen(
            [sys.executable, WORKER, "race", str(db_path), "4"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    for p, (_out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in err and "busy" not in err
    counts = [int(out) for out, _ in outputs]
    assert all(c > 50 for c in counts), counts
    with Store.open(db_path, site="plant-a", station="bench-01") as s:
        result = s.verify()
        assert result.ok, result
        assert result.checked == result.last_seq == sum(counts)


class Reader(threading.Thread):
    """Collects the complete lines a child writes (a line cut by SIGKILL is dropped)."""

    def __init__(self, stream: IO[str] | None) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.seqs: list[int] = []
        self.first = threading.Event()

    def run(self) -> None:
        assert self.stream is not None
        for line in self.stream:
            if line.endswith("\n"):
                self.seqs.append(int(line))
                self.first.set()


def test_sigkill_at_random_moments_never_loses_a_reported_record_or_breaks_the_chain(
    db_path: Path,
) -> None:
    db_path.parent.mkdir(parents=True)
    rng = random.Random(os.getpid())
    reported: list[int] = []
    kills = 0
    deadline = time.monotonic() + 25
    while kills < 20 or (kills < 30 and time.monotonic() < deadline):
        with subprocess.Popen(
            [sys.executable, WORKER, "crash", str(db_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as child:
            reader = Reader(child.stdout)
            reader.start()
            if kills % 5 == 4:
                time.sleep(rng.uniform(0.0, 0.3))  # sometimes while opening / migrating
            else:
                reader.first.wait(30)
                time.sleep(rng.uniform(0.0, 0.25))
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
            # Not communicate(): it would read stdout too, racing the reader for its lines
            # and closing the stream under it.
            reader.join(timeout=30)
            err = child.stderr.read() if child.stderr is not None else ""
        assert child.returncode == -signal.SIGKILL, err
        kills += 1
        reported.extend(reader.seqs)

        with Store.open(db_path, site="plant-a", station="bench-01") as s:
            result = s.verify()
            assert result.ok, f"after kill {kills}: {result}"
            assert result.checked == result.last_seq  # seq 1..last, no gap
            assert not reported or max(reported) <= result.last_seq
            stored = {r.seq for r in s.records(limit=result.last_seq + 1)}
            assert set(reported) <= stored
    assert len(reported) == len(set(reported)) > 100
