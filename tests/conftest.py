"""Fixtures shared by every test area: free loopback ports and a real mosquitto broker.

A test that needs mosquitto fails loudly when the binary is missing (never a silent skip):
`bash .ci/test` installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int, deadline_s: float = 10.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until 127.0.0.1:`port` accepts TCP connections (readiness by connecting)."""
    end = time.monotonic() + deadline_s
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > end:
                raise TimeoutError(
                    f"nothing listening on 127.0.0.1:{port} after {deadline_s}s"
                ) from None
            time.sleep(0.02)


@dataclass
class Mosquitto:
    """A real mosquitto on a loopback port, restartable on the same port."""

    workdir: Path
    port: int
    extra_conf: str = ""
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / "mosquitto.log"

    def conf_text(self) -> str:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence false",
            f"log_dest file {self.log_path}",
            "log_type all",
            "max_queued_messages 100000",
        ]
        if "allow_anonymous" not in self.extra_conf:
            lines.append("allow_anonymous true")
        if os.geteuid() == 0:
            lines.append("user root")
        return "\n".join(lines) + "\n" + self.extra_conf

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.fail("mosquitto is not installed: run `bash .ci/test` (it apt-installs it)")
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self.conf_text())
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_for_port(self.port, proc=self.proc)
        except Exception as exc:
            err = (
                self.proc.stderr.read().decode()
                if self.proc.stderr and self.proc.poll() is not None
                else ""
            )
            raise RuntimeError(f"mosquitto did not start: {exc}\n{err}") from exc

    def kill(self) -> None:
        """SIGKILL: with persistence off, the broker forgets every session and queued message."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._close_pipe()
        self.proc = None

    def _close_pipe(self) -> None:
        # The stderr pipe would otherwise be closed by the garbage collector, which pytest's
        # filterwarnings=error turns into an unraisable ResourceWarning.
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._close_pipe()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh anonymous mosquitto on a free loopback port, stopped after the test."""
    broker = Mosquitto(workdir=tmp_path, port=free_port())
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[type[Mosquitto]]:
    """Build brokers with extra config (TLS, passwords, ACLs); all are stopped after the test."""
    started: list[Mosquitto] = []

    class _Factory(Mosquitto):
        def start(self) -> None:
            started.append(self)
            super().start()

    yield _Factory
    for b in started:
        b.stop()
