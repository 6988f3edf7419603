"""Loopback helpers shared by the simulators, the demo, the benches and the tests.

Readiness is observed (a port that accepts, a predicate that holds), never slept for.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on `host` a moment ago."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port now."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_until(what: str, check: Callable[[], bool], timeout: float, every: float = 0.05) -> float:
    """Poll `check` until it holds; return the seconds it took.

    Raises:
        TimeoutError: naming `what`, when `timeout` seconds pass first.
    """
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{what}: not reached within {timeout:g}s")
        time.sleep(every)
    return time.monotonic() - t0


def wait_for_port(
    port: int,
    deadline_s: float = 10.0,
    proc: subprocess.Popen[bytes] | None = None,
    host: str = "127.0.0.1",
) -> None:
    """Block until host:port accepts connections; fail at once if `proc` exits meanwhile.

    Raises:
        RuntimeError: `proc` exited before listening.
        TimeoutError: nothing listened within `deadline_s`.
    """

    def ready() -> bool:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        return port_open(port, host)

    wait_until(f"something listening on {host}:{port}", ready, deadline_s, 0.02)


__all__ = ["free_port", "port_open", "wait_for_port", "wait_until"]
