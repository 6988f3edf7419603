"""systemd's notification protocol (sd_notify(3)), written out instead of using `sdnotify`.

`sdnotify` 0.3.2 connects in its constructor and swallows every error with a bare `except`
(systemd.service(5), systemd.exec(5), systemd 252), so a wrong `NOTIFY_SOCKET` would go unnoticed
while systemd waits for READY=1
and later kills the service for missing watchdog pings. The protocol is one datagram of
newline-separated `KEY=VALUE` lines to the AF_UNIX socket named by `$NOTIFY_SOCKET`; a
leading `@` names a Linux abstract socket (the `@` stands for a NUL byte), sd_notify(3).

The watchdog interval comes from `$WATCHDOG_USEC` (sd_watchdog_enabled(3)), honoured only
when `$WATCHDOG_PID` is unset or names this process; the daemon pings at half of it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends sd_notify messages; does nothing when not under systemd."""

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        self.address = address
        self.watchdog_usec = watchdog_usec
        self._sock: socket.socket | None = None
        self._failed = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """Read `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` (sd_watchdog_enabled(3))."""
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        usec: int | None = None
        raw = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        if raw:
            try:
                usec = int(raw)
            except ValueError:
                log.warning("WATCHDOG_USEC=%r is not a number of microseconds; ignored", raw)
            if usec is not None and usec <= 0:
                usec = None
            if pid and pid != str(os.getpid()):
                usec = None  # the watchdog belongs to another process (e.g. our parent)
        return cls(address, usec)

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to ping: half the watchdog period (sd_watchdog_enabled(3)), or None."""
        if self.address is None or self.watchdog_usec is None:
            return None
        return self.watchdog_usec / 2_000_000

    def _target(self) -> str:
        assert self.address is not None
        return "\0" + self.address[1:] if self.address.startswith("@") else self.address

    def notify(self, *lines: str) -> bool:
        """Send one datagram of `KEY=VALUE` lines; False (logged, never raised) on failure."""
        if self.address is None:
            return False
        data = "\n".join(lines).encode("utf-8")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(data, self._target())
        except OSError as exc:
            if not self._failed:
                log.error("cannot notify systemd at NOTIFY_SOCKET=%s: %s", self.address, exc)
                self._failed = True
            return False
        if self._failed:
            log.info("systemd notifications work again (NOTIFY_SOCKET=%s)", self.address)
            self._failed = False
        return True

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


__all__ = ["Notifier"]
