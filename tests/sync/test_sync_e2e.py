"""End to end: `station sync` and `python -m sim.central` as real processes, a real mosquitto,
a backlog of 10,000 records in a real store, and the failures the field brings: a broker
killed (SIGKILL, persistence off), the daemon killed, the QMS away for a while.

The acceptance in every case: the central holds exactly 10,000 unique records, no seq gap,
every hash link valid, and the station sees every one of them delivered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

N = 10_000


def complete(summary: dict[str, Any], n: int = N) -> bool:
    return bool(summary["unique"] == n)


def assert_exact(summary: dict[str, Any], n: int = N) -> None:
    brief = {k: v for k, v in summary.items() if k not in ("stations", "rejected")}
    assert summary["unique"] == n, brief
    assert summary["gaps"] == 0, brief
    assert summary["chain_valid"] is True, brief
    assert summary["invalid"] == 0 and summary["conflicts"] == 0, brief
    station = summary["stations"]["plant-a/bench-01"]
    assert station["contiguous_seq"] == n and station["last_seq"] == n, station


def test_backlog_drains_to_the_central_exactly_once_per_id(
    mosquitto: Any,
    start_central: Callable[..., Any],
    station_env: Callable[..., Any],
    template_db: Path,
    probe_factory: Any,
    kit: Any,
    tmp_path: Path,
) -> None:
    start_central(mosquitto.port)
    st = station_env(mosquitto.port, ack="central")
    st.use_backlog(template_db)
    daemon = st.start()

    st.wait_pending(lambda n: n == 0, 90.0, "every record acked by the central")
    summary = kit.wait_summary(tmp_path / "central.db", complete, 10.0, "10,000 unique")
    assert_exact(summary)
    assert st.cli_status()["delivered_seq"] == N

    probe = probe_factory(mosquitto.port)
    probe.subscribe("qms/v1/plant-a/bench-01/status")
    birth = json.loads(probe.payloads("qms/v1/plant-a/bench-01/status")[-1])
    assert birth["state"] == "online" and birth["schema"] == "station.status/1"
    assert birth["last_seq"] == N and birth["version"]

    assert daemon.terminate() == 0
    probe.pump_until(
        lambda: b'"state":"offline"' in probe.payloads("qms/v1/plant-a/bench-01/status")[-1],
        5.0,
        "offline status",
    )
    with st.store() as store:
        online, _, _ = store.sync_state()
    assert online is False


def test_broker_killed_mid_drain_loses_nothing(
    mosquitto: Any,
    start_central: Callable[..., Any],
    station_env: Callable[..., Any],
    template_db: Path,
    kit: Any,
    tmp_path: Path,
) -> None:
    start_central(mosquitto.port)
    st = station_env(mosquitto.port, ack="central", max_rate=2500)
    st.use_backlog(template_db)
    st.start()
    st.wait_pending(lambda n: n <= N - 3000, 60.0, "a third delivered")

    mosquitto.kill()  # SIGKILL, persistence off: sessions, queues and in-flight are gone
    time.sleep(0.5)
    mosquitto.start()

    st.wait_pending(lambda n: n == 0, 120.0, "every record acked after the broker restart")
    summary = kit.wait_summary(tmp_path / "central.db", complete, 10.0, "10,000 unique")
    assert_exact(summary)
    assert "lost" in st.daemon.log or "closed" in st.daemon.log


def test_daemon_killed_mid_drain_and_restarted_loses_nothing(
    mosquitto: Any,
    start_central: Callable[..., Any],
    station_env: Callable[..., Any],
    template_db: Path,
    kit: Any,
    tmp_path: Path,
) -> None:
    start_central(mosquitto.port)
    st = station_env(mosquitto.port, ack="central", max_rate=2500)
    st.use_backlog(template_db)
    first = st.start()
    st.wait_pending(lambda n: n <= N - 3000, 60.0, "a third delivered")
    first.kill()  # SIGKILL: no offline status, marks not yet committed are lost

    st.start()
    st.wait_pending(lambda n: n == 0, 120.0, "every record acked after the restart")
    summary = kit.wait_summary(tmp_path / "central.db", complete, 10.0, "10,000 unique")
    assert_exact(summary)


def test_central_away_for_a_while_then_back(
    mosquitto: Any,
    start_central: Callable[..., Any],
    station_env: Callable[..., Any],
    template_db: Path,
    kit: Any,
    tmp_path: Path,
) -> None:
    central = start_central(mosquitto.port)
    st = station_env(mosquitto.port, ack="central", max_rate=2500)
    st.use_backlog(template_db)
    st.start()
    st.wait_pending(lambda n: n <= N - 3000, 60.0, "a third delivered")

    assert central.terminate() == 0  # its session (and queue) stay at the broker
    at_stop = st.cli_status()["pending"]
    with st.store() as store:  # the bench keeps inspecting meanwhile
        store.append_many([("event", {"kind": "test", "operator": None, "detail": {}})] * 500)
    time.sleep(3.0)  # longer than resend_after_s: the daemon re-publishes into the void
    while_away = st.cli_status()
    assert while_away["pending"] > at_stop >= 1000, (at_stop, while_away)  # it rose
    assert while_away["last_seq"] == N + 500
    assert "no ack from the QMS for seq" in st.daemon.log  # it re-published meanwhile

    start_central(mosquitto.port)
    st.wait_pending(lambda n: n == 0, 120.0, "every record acked once the central is back")
    back = st.cli_status()
    assert back["pending"] == 0 and back["delivered_seq"] == N + 500
    summary = kit.wait_summary(tmp_path / "central.db", lambda s: complete(s, N + 500), 10.0, "all")
    assert_exact(summary, N + 500)
