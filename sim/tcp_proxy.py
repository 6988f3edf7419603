"""A loopback TCP proxy that cuts or stalls the link between a station and its broker.

The chaos run (`benchmarks/chaos.py`) points `station sync` at this proxy instead of at mosquitto,
then breaks the network on a schedule. Two failure modes, because stations meet both:

- ``drop``: every open connection is reset (RST, as when a switch port or a NAT entry dies) and
  new connections are accepted and reset at once, until `restore()`. The client learns of
  it immediately.
- ``stall``: nothing is forwarded in either direction, but every connection stays open and new
  ones are accepted (a black-holed route, a Wi-Fi link that keeps its association but passes
  no traffic). The client learns of it only through its own timers (MQTT keep-alive, a
  PUBACK that never comes). On `restore()` the bytes held back flow again, late, as TCP
  would deliver them after a partition heals.

One thread runs a `selectors` loop over every socket; commands from other threads are handed
to it through a wake-up socket pair and applied between two passes, so a command never races
a half-done transfer. The methods return once the command is applied.

Command line (until ``quit`` or end of input; commands on stdin, one JSON status line each)::

    python -m sim.tcp_proxy --target 127.0.0.1:1883 [--listen 127.0.0.1:0]
    > drop | stall | restore | status | quit
"""

from __future__ import annotations

import argparse
import contextlib
import json
import selectors
import socket
import struct
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["forward", "drop", "stall"]
MODES: tuple[Mode, ...] = ("forward", "drop", "stall")
COMMANDS: dict[str, Mode] = {"drop": "drop", "stall": "stall", "restore": "forward"}  # stdin
CHUNK = 65536
BUFFER_MAX = 1 << 20  # bytes held per direction before the proxy stops reading that side


@dataclass
class _Side:
    """One socket of a connection pair and the bytes waiting to be written to it."""

    sock: socket.socket
    out: bytearray = field(default_factory=bytearray)
    connected: bool = True


@dataclass
class _Pair:
    """A client connection and its upstream connection to the target."""

    client: _Side
    upstream: _Side

    def other(self, side: _Side) -> _Side:
        return self.upstream if side is self.client else self.client


@dataclass(frozen=True)
class ProxyStats:
    """Counters since start (for the chaos report and the CLI's status line)."""

    mode: Mode
    open: int
    accepted: int
    reset: int
    refused_upstream: int
    bytes_up: int
    bytes_down: int

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _reset(sock: socket.socket) -> None:
    """Close with an RST rather than a FIN (SO_LINGER on, zero timeout)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class TcpProxy:
    """Forward 127.0.0.1:`port` to `target`; `drop()`, `stall()`, `restore()` on command."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
    ) -> None:
        self.target = (target_host, target_port)
        self._listen_addr = (listen_host, listen_port)
        self.mode: Mode = "forward"
        self._sel = selectors.DefaultSelector()
        self._pairs: dict[socket.socket, tuple[_Pair, _Side]] = {}
        self._watched: set[socket.socket] = set()  # pair sockets registered in the selector
        self._listener: socket.socket | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._commands: list[tuple[Callable[[], None], threading.Event]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running = False
        self._accepted = self._reset_count = self._refused = 0
        self._up = self._down = 0

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port clients connect to (known once started)."""
        if self._listener is None:
            raise RuntimeError("the proxy is not started")
        return int(self._listener.getsockname()[1])

    def start(self) -> TcpProxy:
        """Listen and start forwarding in a daemon thread."""
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind(self._listen_addr)
        lst.listen(64)
        lst.setblocking(False)
        self._listener = lst
        self._sel.register(lst, selectors.EVENT_READ, "accept")
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="tcp-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every socket and end the thread; safe to call twice."""
        if self._thread is None:
            return
        self._call(self._shutdown)
        self._thread.join(timeout=5)
        self._thread = None
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- commands (any thread) -----------------------------------------------------------------

    def drop(self) -> None:
        """Reset every connection now and every new one until `restore()`."""
        self.set_mode("drop")

    def stall(self) -> None:
        """Forward nothing (connections stay open, new ones are accepted) until `restore()`."""
        self.set_mode("stall")

    def restore(self) -> None:
        """Forward again; bytes held back by a stall are delivered."""
        self.set_mode("forward")

    def set_mode(self, mode: Mode) -> None:
        """`forward`, `drop` or `stall` by name."""
        if mode not in MODES:
            raise ValueError(f"unknown proxy mode {mode!r}; expected one of {MODES}")
        self._call(lambda: self._set_mode(mode))

    def stats(self) -> ProxyStats:
        """The counters (read without stopping the loop)."""
        with self._lock:
            return ProxyStats(
                mode=self.mode,
                open=len({id(p) for p, _ in self._pairs.values()}),
                accepted=self._accepted,
                reset=self._reset_count,
                refused_upstream=self._refused,
                bytes_up=self._up,
                bytes_down=self._down,
            )

    def _call(self, action: Callable[[], None], timeout: float = 5.0) -> None:
        if self._thread is None or not self._thread.is_alive():
            raise RuntimeError("the proxy is not running")
        done = threading.Event()
        with self._lock:
            self._commands.append((action, done))
        self._wake_w.send(b"x")
        if not done.wait(timeout):
            raise TimeoutError(f"proxy command not applied within {timeout}s")

    # -- the loop (proxy thread only) ----------------------------------------------------------

    def _loop(self) -> None:
        while self._running:
            for key, events in self._sel.select(timeout=1.0):
                if key.data == "wake":
                    self._run_commands()
                elif key.data == "accept":
                    self._accept()
                else:
                    self._io(key.fileobj, events)  # type: ignore[arg-type]

    def _run_commands(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self._wake_r.recv(4096)
        with self._lock:
            commands, self._commands = self._commands, []
        for action, done in commands:
            try:
                action()
            finally:
                done.set()

    def _set_mode(self, mode: Mode) -> None:
        with self._lock:
            self.mode = mode
        if mode == "drop":
            for pair in list({id(p): p for p, _ in self._pairs.values()}.values()):
                self._close_pair(pair, rst=True)
        for sock in list(self._pairs):
            self._update(sock)

    def _shutdown(self) -> None:
        for pair in list({id(p): p for p, _ in self._pairs.values()}.values()):
            self._close_pair(pair, rst=False)
        if self._listener is not None:
            self._sel.unregister(self._listener)
            self._listener.close()
        self._running = False

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        with self._lock:
            self._accepted += 1
        if self.mode == "drop":
            with self._lock:
                self._reset_count += 1
            _reset(client)
            return
        client.setblocking(False)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        up = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        up.setblocking(False)
        up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = up.connect_ex(self.target)
        pair = _Pair(_Side(client), _Side(up, connected=err == 0))
        with self._lock:
            self._pairs[client] = (pair, pair.client)
            self._pairs[up] = (pair, pair.upstream)
        self._update(client)
        self._update(up)

    def _update(self, sock: socket.socket) -> None:
        """Register the events `sock` needs in the current mode."""
        entry = self._pairs.get(sock)
        if entry is None:
            return
        pair, side = entry
        events = 0
        if not side.connected:
            events = selectors.EVENT_WRITE  # completion of the non-blocking connect
        elif self.mode == "forward":
            if len(pair.other(side).out) < BUFFER_MAX and pair.other(side).connected:
                events |= selectors.EVENT_READ
            if side.out:
                events |= selectors.EVENT_WRITE
        registered = sock in self._watched
        if events and registered:
            self._sel.modify(sock, events, "io")
        elif events:
            self._sel.register(sock, events, "io")
            self._watched.add(sock)
        elif registered:
            # Stalled: watch nothing; the kernel buffers fill and the peers' writes block.
            self._sel.unregister(sock)
            self._watched.discard(sock)

    def _io(self, sock: socket.socket, events: int) -> None:
        entry = self._pairs.get(sock)
        if entry is None:
            return
        pair, side = entry
        if not side.connected:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                with self._lock:
                    self._refused += 1
                self._close_pair(pair, rst=True)
                return
            side.connected = True
            self._update(sock)
            self._update(pair.other(side).sock)
            return
        if events & selectors.EVENT_READ and not self._read(pair, side):
            return
        if events & selectors.EVENT_WRITE and side.out and not self._write(pair, side):
            return
        self._update(sock)
        self._update(pair.other(side).sock)

    def _read(self, pair: _Pair, side: _Side) -> bool:
        try:
            data = side.sock.recv(CHUNK)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            data = b""
        if not data:
            self._close_pair(pair, rst=False)
            return False
        pair.other(side).out += data
        with self._lock:
            if side is pair.client:
                self._up += len(data)
            else:
                self._down += len(data)
        return True

    def _write(self, pair: _Pair, side: _Side) -> bool:
        try:
            sent = side.sock.send(side.out)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            self._close_pair(pair, rst=True)
            return False
        del side.out[:sent]
        return True

    def _close_pair(self, pair: _Pair, *, rst: bool) -> None:
        for side in (pair.client, pair.upstream):
            with self._lock:
                known = self._pairs.pop(side.sock, None) is not None
            if not known:
                continue
            if side.sock in self._watched:
                self._watched.discard(side.sock)
                self._sel.unregister(side.sock)
            if rst:
                _reset(side.sock)
            else:
                # Whatever the peer sent before closing still reaches the other side.
                if side.out:
                    with contextlib.suppress(OSError):
                        side.sock.setblocking(True)
                        side.sock.settimeout(1.0)
                        side.sock.sendall(side.out)
                with contextlib.suppress(OSError):
                    side.sock.close()
        if rst:
            with self._lock:
                self._reset_count += 1


def _addr(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> int:
    """Run one proxy, driven by commands on stdin (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m sim.tcp_proxy",
        description="Loopback TCP proxy that drops or stalls connections on command.",
    )
    parser.add_argument("--target", type=_addr, required=True, help="HOST:PORT to forward to")
    parser.add_argument("--listen", type=_addr, default=("127.0.0.1", 0), help="HOST:PORT")
    args = parser.parse_args(argv)
    proxy = TcpProxy(*args.target, listen_host=args.listen[0], listen_port=args.listen[1])
    proxy.start()
    print(json.dumps({"listening": proxy.port, "target": list(args.target)}), flush=True)
    try:
        for raw in sys.stdin:
            cmd = raw.strip()
            if cmd == "quit":
                break
            if cmd in COMMANDS:
                proxy.set_mode(COMMANDS[cmd])
            elif cmd and cmd != "status":
                print(json.dumps({"error": f"unknown command {cmd!r}"}), flush=True)
                continue
            if cmd:
                print(json.dumps(proxy.stats().as_dict()), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
