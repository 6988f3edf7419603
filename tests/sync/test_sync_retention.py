"""Retention: the sync daemon prunes delivered records older than `retention_days`, never an
undelivered one, and the chain stays verifiable (`station verify`) from the checkpoint."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sim.mosquitto import Mosquitto
from sim.net import wait_until
from station.store import Store


def test_daemon_prunes_delivered_records_and_keeps_the_undelivered(
    mosquitto: Mosquitto, station_env: Callable[..., Any]
) -> None:
    st = station_env(mosquitto.port, ack="broker")
    st.station_extra = {"retention_days": 1}
    st.write_config()
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    with Store.open(st.db, site="plant-a", station="bench-01", clock=lambda: three_days_ago) as s:
        s.append_many([("event", {"kind": "test", "operator": None, "detail": {}})] * 30)
        s.mark_delivered_upto(20)  # 21..30, as old, are still the QMS's to receive
    with Store.open(st.db, site="plant-a", station="bench-01") as s:
        # Today's work: retention is judged by the newest record's time as well as the
        # clock's (a clock set far ahead must not prune recent records).
        s.append("event", {"kind": "test", "operator": None, "detail": {}})
    st.start()

    def first_seq() -> int:
        with st.store() as s:
            return s.records(0, 1)[0].seq

    # Pruned at start: the delivered prefix older than a day goes, the rest is published.
    wait_until("the delivered prefix pruned", lambda: first_seq() > 1, 20)
    assert st.daemon is not None
    st.daemon.wait_log("retention: pruned 20 delivered records")
    with st.store() as s:
        kept = [r.seq for r in s.records(0, 100)]
    assert kept == list(range(21, 32))  # the first prune ran before anything else was acked
    out = subprocess.run(
        [st.daemon.argv[0], "verify", "-c", str(st.cfg)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
