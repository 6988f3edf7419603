"""End to end: `station sync` and `python -m sim.central` as real processes, a real mosquitto,
a backlog of 10,000 records in a real store, and the failures the field brings: a broker
killed (SIGKILL, persistence off), the daemon killed, the QMS away for a while.

The acceptance in every case: the central holds exactly 10,000 unique records, no seq gap,
every hash link valid, and the station sees every one of them delivered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sim.net import wait_until
from station.schemas import schema_errors

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

N = 10_000
STATUS = "qms/v1/plant-a/bench-01/status"


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


def assert_all_delivered(st: Any, kit: Any, central_db: Path, n: int = N) -> None:
    """The store sees nothing pending and the central holds exactly seq 1..n, chain valid."""
    st.wait_pending(lambda p: p == 0, 120.0, f"all {n} records acked by the central")
    assert_exact(kit.wait_summary(central_db, lambda s: complete(s, n), 10.0, f"{n} unique"), n)


@pytest.fixture
def mid_drain(
    mosquitto: Any,
    start_central: Callable[..., Any],
    station_env: Callable[..., Any],
    template_db: Path,
) -> tuple[Any, Any]:
    """(central, station): the daemon draining the backlog at 2,500 records/s, 30% acked."""
    central = start_central(mosquitto.port)
    st = station_env(mosquitto.port, ack="central", max_rate=2500)
    st.use_backlog(template_db)
    st.start()
    st.wait_pending(lambda n: n <= N - 3000, 60.0, "30% delivered")
    return central, st


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

    assert_all_delivered(st, kit, tmp_path / "central.db")
    assert st.cli_status()["delivered_seq"] == N

    probe = probe_factory(mosquitto.port)
    probe.subscribe(STATUS)
    probe.pump_until(lambda: probe.payloads(STATUS), 5.0, "the retained status")
    birth = json.loads(probe.payloads(STATUS)[-1])
    assert schema_errors("status", birth) == [] and birth["state"] == "online"
    assert birth["last_seq"] == N and birth["version"]
    assert [m.retain for m in probe.messages] == [True]

    assert daemon.terminate() == 0
    probe.pump_until(
        lambda: b'"state":"offline"' in probe.payloads(STATUS)[-1], 5.0, "offline status"
    )
    assert schema_errors("status", json.loads(probe.payloads(STATUS)[-1])) == []
    assert st.sync_state() == (False, "stopped")


def test_broker_killed_mid_drain_loses_nothing(
    mosquitto: Any, mid_drain: tuple[Any, Any], kit: Any, tmp_path: Path
) -> None:
    _, st = mid_drain
    mosquitto.kill()  # SIGKILL, persistence off: sessions, queues and in-flight are gone
    # The daemon notices before the broker is back (it tells the bench it is offline).
    wait_until("the daemon offline", lambda: not st.sync_state()[0], 10.0)
    assert st.sync_state()[1].startswith(f"connection to 127.0.0.1:{mosquitto.port} ")
    mosquitto.start()

    assert_all_delivered(st, kit, tmp_path / "central.db")


def test_daemon_killed_mid_drain_and_restarted_loses_nothing(
    mosquitto: Any, mid_drain: tuple[Any, Any], probe_factory: Any, kit: Any, tmp_path: Path
) -> None:
    _, st = mid_drain
    probe = probe_factory(mosquitto.port)
    probe.subscribe(STATUS)
    st.daemon.kill()  # SIGKILL: no offline status of its own, uncommitted marks are lost
    # The broker publishes the daemon's last will instead (contract mqtt.md, "Status").
    probe.pump_until(
        lambda: any(b'"state":"offline"' in p for p in probe.payloads(STATUS)), 10.0, "the will"
    )
    will = json.loads(probe.payloads(STATUS)[-1])
    assert schema_errors("status", will) == [] and will["state"] == "offline"

    st.start()
    assert_all_delivered(st, kit, tmp_path / "central.db")


def test_central_away_for_a_while_then_back(
    mosquitto: Any,
    start_central: Callable[..., Any],
    mid_drain: tuple[Any, Any],
    kit: Any,
    tmp_path: Path,
) -> None:
    central, st = mid_drain
    log_mark = len(st.daemon.log)
    assert central.terminate() == 0  # its session (and queue) stay at the broker
    at_stop = st.cli_status()["pending"]
    st.fill(500)  # the bench keeps inspecting meanwhile
    # After resend_after_s (2 s) without an ack the daemon re-publishes into the void.
    st.daemon.wait_log("no ack from the QMS for seq", 15.0, since=log_mark)
    while_away = st.cli_status()
    assert while_away["pending"] > at_stop >= 1000, (at_stop, while_away)  # it rose
    assert while_away["last_seq"] == N + 500

    start_central(mosquitto.port)
    assert_all_delivered(st, kit, tmp_path / "central.db", N + 500)
    assert st.cli_status()["delivered_seq"] == N + 500
