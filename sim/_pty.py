"""A pty that plays a USB serial device: its slave is published at a stable symlink (like
``/dev/serial/by-id/…``), and it can be unplugged and plugged back in.

The pty is set raw at creation (no echo, no CR→LF translation), before any client opens it,
so the bytes a driver reads are exactly the bytes the simulator wrote. The simulator keeps its
own slave fd open so that a client closing and reopening the port does not hang up the master.
Unplug closes both ends, which is what a client sees when a USB adapter is pulled: the fd
turns readable with no data (pyserial raises `SerialException`). The link is replaced
atomically on plug, so a reopen by path never sees a half-made link.
"""

from __future__ import annotations

import os
import select
import tty
from pathlib import Path


class PtyDevice:
    """The master side of a pty published at `link`."""

    def __init__(self, link: Path | str) -> None:
        self.link = Path(link)
        self.master_fd: int | None = None
        self._slave_fd: int | None = None
        self.slave_name: str | None = None

    @property
    def plugged(self) -> bool:
        """True while the pty exists."""
        return self.master_fd is not None

    def plug(self) -> str:
        """Create a new pty, point the link at its slave and return the slave's name."""
        if self.master_fd is not None:
            raise RuntimeError(f"{self.link} is already plugged in")
        master, slave = os.openpty()
        tty.setraw(slave)
        name = os.ttyname(slave)
        self.link.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}.new")
        tmp.unlink(missing_ok=True)
        os.symlink(name, tmp)
        os.replace(tmp, self.link)
        self.master_fd, self._slave_fd, self.slave_name = master, slave, name
        return name

    def unplug(self) -> None:
        """Remove the link and close both ends; safe to call twice."""
        if self.link.is_symlink() and self.slave_name is not None:
            try:
                if os.readlink(self.link) == self.slave_name:
                    self.link.unlink()
            except FileNotFoundError:
                pass
        for fd in (self.master_fd, self._slave_fd):
            if fd is not None:
                os.close(fd)
        self.master_fd = self._slave_fd = None
        self.slave_name = None

    def write(self, data: bytes) -> None:
        """Write everything to the master (the client reads it from the slave)."""
        if self.master_fd is None:
            return  # unplugged: bytes go nowhere, like a cable with no host
        view = memoryview(data)
        while view:
            written = os.write(self.master_fd, view)
            view = view[written:]

    def read(self, timeout: float, wake_fd: int | None = None) -> bytes:
        """Bytes the client wrote, or b'' after `timeout` (or when `wake_fd` turns readable)."""
        fds = [fd for fd in (self.master_fd, wake_fd) if fd is not None]
        if not fds:
            return b""
        ready, _, _ = select.select(fds, [], [], timeout)
        if wake_fd is not None and wake_fd in ready:
            os.read(wake_fd, 4096)
        if self.master_fd is not None and self.master_fd in ready:
            try:
                return os.read(self.master_fd, 4096)
            except OSError:
                return b""
        return b""


__all__ = ["PtyDevice"]
