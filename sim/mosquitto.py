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
from pathlib import Path

from sim.net import free_port, port_open
from sim.supervisor import Supervisor


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
    max_queued: int = 100_000,
    log_types: tuple[str, ...] = ("all",),
    extra: str = "",
) -> str:
    """A mosquitto.conf for a loopback listener on `port`; `extra` lines are appended.

    No `log_dest`: mosquitto logs to stderr, which the supervisor appends to the log file.
    """
    lines = [f"listener {port} 127.0.0.1", "persistence false", f"max_queued_messages {max_queued}"]
    lines += [f"log_type {t}" for t in log_types]
    if "allow_anonymous" not in extra:
        lines.append("allow_anonymous true")
    if os.geteuid() == 0:
        lines.append("user root")
    return "\n".join(lines) + "\n" + extra


class Mosquitto(Supervisor):
    """mosquitto on 127.0.0.1:`port` (0 = a free one), restartable on the same port.

    Its config is `workdir/mosquitto.conf` and its log `workdir/mosquitto.log` (appended to
    across restarts). `die_with_parent` and `mark_starts` are the `Supervisor`'s.
    """

    def __init__(
        self,
        workdir: Path,
        port: int = 0,
        *,
        extra_conf: str = "",
        max_queued: int = 100_000,
        log_types: tuple[str, ...] = ("all",),
        die_with_parent: bool = False,
        mark_starts: bool = False,
    ) -> None:
        super().__init__(
            "mosquitto",
            [],
            workdir / "mosquitto.log",
            die_with_parent=die_with_parent,
            mark_starts=mark_starts,
        )
        self.workdir = workdir
        self.port = port or free_port()
        self.extra_conf = extra_conf
        self.max_queued = max_queued
        self.log_types = log_types

    def conf_text(self) -> str:
        """The config this broker runs with."""
        return conf_text(
            self.port, max_queued=self.max_queued, log_types=self.log_types, extra=self.extra_conf
        )

    def start(self) -> Mosquitto:
        """Start and return once the port accepts connections.

        Raises:
            MosquittoNotInstalled: no binary (`apt-get install mosquitto`).
            RuntimeError: it exited or did not listen; the message carries its log.
        """
        binary = mosquitto_binary()
        if binary is None:
            raise MosquittoNotInstalled("mosquitto is not installed (apt-get install mosquitto)")
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self.conf_text())
        self.argv = [binary, "-c", str(conf)]
        seen = len(self.log)
        super().start()
        try:
            self.wait_ready(lambda: port_open(self.port), 10.0, f"listening on {self.port}")
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(f"mosquitto did not start: {exc}\n{self.log[seen:]}") from exc
        return self

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        self.term(10.0)

    def restart(self) -> None:
        """Stop and start again on the same port."""
        self.stop()
        self.start()


__all__ = ["Mosquitto", "MosquittoNotInstalled", "conf_text", "mosquitto_binary"]
