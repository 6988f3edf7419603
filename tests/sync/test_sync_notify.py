"""systemd notifications: READY=1, WATCHDOG=1 only while the loop is healthy, STOPPING=1.

The test plays systemd: it binds the AF_UNIX datagram socket named by NOTIFY_SOCKET and reads
what `station sync` sends, then wedges the daemon's store with another process holding the
write lock (BEGIN EXCLUSIVE) for longer than the watchdog period, and expects the pings to
stop for that long and come back after.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from station.sync.notify import Notifier


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.1)
    yield sock, str(path)
    sock.close()


def receive(sock: socket.socket, seconds: float) -> list[tuple[float, str]]:
    """Every datagram arriving within `seconds`, with its arrival time."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        out.append((time.monotonic(), data.decode()))
    return out


def test_notifier_sends_datagrams_to_a_path_socket(
    notify_socket: tuple[socket.socket, str],
) -> None:
    sock, path = notify_socket
    n = Notifier.from_env({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "3000000"})
    assert n.watchdog_interval_s == 1.5
    assert n.ready("up")
    assert n.watchdog()
    assert sock.recv(100) == b"READY=1\nSTATUS=up"
    assert sock.recv(100) == b"WATCHDOG=1"
    n.close()


def test_notifier_handles_abstract_sockets() -> None:
    name = f"station-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        n = Notifier.from_env({"NOTIFY_SOCKET": "@" + name})
        assert n.stopping()
        assert sock.recv(100) == b"STOPPING=1"
        n.close()


def test_notifier_ignores_a_watchdog_meant_for_another_process() -> None:
    env = {"NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}
    assert Notifier.from_env(env).watchdog_interval_s is None
    assert Notifier.from_env({"WATCHDOG_USEC": "1000000"}).watchdog_interval_s is None


def test_notifier_reports_a_broken_socket_once(caplog: pytest.LogCaptureFixture) -> None:
    n = Notifier.from_env({"NOTIFY_SOCKET": "/nonexistent/notify.sock"})
    with caplog.at_level(logging.ERROR, logger="station.sync.notify"):
        assert n.watchdog() is False
        assert n.watchdog() is False
    errors = [r.getMessage() for r in caplog.records]
    assert len(errors) == 1
    assert "cannot notify systemd at NOTIFY_SOCKET=/nonexistent/notify.sock" in errors[0]
    n.close()


HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


@pytest.mark.mosquitto
@pytest.mark.slow
def test_watchdog_pings_stop_while_the_store_is_wedged(
    mosquitto: Any,
    station_env: Callable[..., Any],
    notify_socket: tuple[socket.socket, str],
) -> None:
    sock, path = notify_socket
    st = station_env(mosquitto.port, ack="broker")
    st.env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"}  # ping every 0.5 s
    daemon = st.start()

    first = receive(sock, 2.5)
    messages = [m for _, m in first]
    assert messages[0].startswith("READY=1"), messages
    assert messages.count("WATCHDOG=1") >= 3, messages
    assert f"STATUS=connected to 127.0.0.1:{mosquitto.port}" in messages

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(st.db), "3.0"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    locked_at = time.monotonic()
    during = receive(sock, 2.7)  # the lock is held 3 s: stop listening before it is released
    assert holder.wait(timeout=10) == 0
    holder.stdout.close()
    after = receive(sock, 2.0)

    pings = [t for t, m in during if m == "WATCHDOG=1"]
    # At most one ping already under way when the lock was taken; then silence.
    assert all(t - locked_at < 0.6 for t in pings), [round(t - locked_at, 2) for t in pings]
    assert sum(m == "WATCHDOG=1" for _, m in after) >= 2, after
    assert daemon.alive()

    assert daemon.terminate() == 0
    assert "STOPPING=1" in [m for _, m in receive(sock, 0.5)]
