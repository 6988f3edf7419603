"""A real mosquitto on a loopback port: the one launcher for the tests, the benches and the demo.

Facts it relies on (mosquitto.conf(5), mosquitto 2.0): a config with a `listener` needs
`allow_anonymous
true` (or a password file); as root, mosquitto needs `user root` to write its files;
persistence is off, so a SIGKILL loses every session and queued message (what the crash tests
want); the per-client queue for offline persistent sessions defaults to 1,000 messages and
silently drops the excess, so it is raised here deliberately.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sim.net import free_port, wait_for_port


class MosquittoNotInstalled(RuntimeError):
    """The mosquitto binary is not on this machine."""


def mosquitto_binary() -> str | None:
    """The mosquitto executable, or None (Debian installs it in /usr/sbin)."""
    found = shutil.which("mosquitto")
    if found is None and Path("/usr/sbin/mosquitto").exists():
        found = "/usr/sbin/mosquitto"
    return found


def conf_text(
    port: int,
    *,
    log_path: Path | None = None,
    max_queued: int = 100_000,
    log_types: tuple[str, ...] = ("all",),
    extra: str = "",
) -> str:
    """A mosquitto.conf for a loopback listener on `port`; `extra` lines are appended."""
    lines = [f"listener {port} 127.0.0.1", "persistence false", f"max_queued_messages {max_queued}"]
    if log_path is not None:
        lines.append(f"log_dest file {log_path}")
    lines += [f"log_type {t}" for t in log_types]
    if "allow_anonymous" not in extra:
        lines.append("allow_anonymous true")
    if os.geteuid() == 0:
        lines.append("user root")
    return "\n".join(lines) + "\n" + extra


@dataclass
class Mosquitto:
    """mosquitto on 127.0.0.1:`port` (0 = a free one), restartable on the same port."""

    workdir: Path
    port: int = 0
    extra_conf: str = ""
    max_queued: int = 100_000
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / "mosquitto.log"
        if self.port == 0:
            self.port = free_port()

    def conf_text(self) -> str:
        """The config this broker runs with."""
        return conf_text(
            self.port, log_path=self.log_path, max_queued=self.max_queued, extra=self.extra_conf
        )

    def start(self) -> None:
        """Start and return once the port accepts connections.

        Raises:
            MosquittoNotInstalled: no binary (`apt-get install mosquitto`).
            RuntimeError: it exited or did not listen; the message carries its stderr.
        """
        binary = mosquitto_binary()
        if binary is None:
            raise MosquittoNotInstalled("mosquitto is not installed (apt-get install mosquitto)")
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self.conf_text())
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_for_port(self.port, proc=self.proc)
        except (RuntimeError, TimeoutError) as exc:
            err = ""
            if self.proc.stderr is not None and self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")
            self.stop()
            raise RuntimeError(f"mosquitto did not start: {exc}\n{err}") from exc

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: with persistence off, the broker forgets every session and queued message."""
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._forget()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.alive():
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._forget()

    def restart(self) -> None:
        """Stop and start again on the same port."""
        self.stop()
        self.start()

    def _forget(self) -> None:
        # Close the stderr pipe now: left to the garbage collector it raises a ResourceWarning.
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None


__all__ = ["Mosquitto", "MosquittoNotInstalled", "conf_text", "mosquitto_binary"]
