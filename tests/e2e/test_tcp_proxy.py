"""The chaos run's link breaker: a real loopback proxy in front of a real TCP echo server.

Forwarding must be byte-exact both ways; `drop` must reset open connections and refuse new
ones; `stall` must hold bytes back while keeping the connection open and deliver them on
`restore`. The command-line form is driven through its stdin, as an operator would.
"""

from __future__ import annotations

import json
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from sim.tcp_proxy import TcpProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        try:
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except ConnectionError:
            pass  # the proxy reset this side: what the drop tests ask of it


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def echo() -> Iterator[int]:
    server = _Server(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxy(echo: int) -> Iterator[TcpProxy]:
    with TcpProxy("127.0.0.1", echo) as p:
        yield p


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(5)
    return s


def recv_exactly(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError(f"closed after {len(out)} of {n} bytes")
        out += chunk
    return out


def test_forwards_bytes_exactly_both_ways(proxy: TcpProxy) -> None:
    payload = bytes(range(256)) * 2000  # 512 KB, more than one chunk and one socket buffer
    with connect(proxy.port) as s:
        sender = threading.Thread(target=s.sendall, args=(payload,))
        sender.start()
        assert recv_exactly(s, len(payload)) == payload
        sender.join()
    stats = proxy.stats()
    assert stats.accepted == 1 and stats.bytes_up == len(payload) == stats.bytes_down


def test_drop_resets_open_connections_and_refuses_new_ones_until_restore(
    proxy: TcpProxy,
) -> None:
    with connect(proxy.port) as s:
        s.sendall(b"ping")
        assert recv_exactly(s, 4) == b"ping"
        proxy.drop()
        with pytest.raises(ConnectionError):
            s.sendall(b"x")
            recv_exactly(s, 1)
    # Reset at connect, at send or at receive: all the same to a client.
    with pytest.raises(ConnectionError), connect(proxy.port) as s2:
        s2.sendall(b"y")
        recv_exactly(s2, 1)
    proxy.restore()
    with connect(proxy.port) as s3:
        s3.sendall(b"back")
        assert recv_exactly(s3, 4) == b"back"
    assert proxy.stats().reset >= 2


def test_stall_holds_bytes_on_an_open_connection_and_delivers_them_on_restore(
    proxy: TcpProxy,
) -> None:
    with connect(proxy.port) as s:
        proxy.stall()
        s.sendall(b"held back")
        s.settimeout(0.5)
        with pytest.raises(TimeoutError):
            s.recv(100)  # nothing passes, and the connection is not closed either
        assert proxy.stats().mode == "stall" and proxy.stats().open == 1
        proxy.restore()
        s.settimeout(5)
        assert recv_exactly(s, 9) == b"held back"


def test_new_connections_during_a_stall_are_accepted_but_silent(proxy: TcpProxy) -> None:
    proxy.stall()
    with connect(proxy.port) as s:
        s.sendall(b"hello")
        s.settimeout(0.5)
        with pytest.raises(TimeoutError):
            s.recv(10)
        proxy.restore()
        s.settimeout(5)
        assert recv_exactly(s, 5) == b"hello"


def test_an_unreachable_target_resets_the_client() -> None:
    """A broker that is down looks, through the proxy, like a connection reset at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = int(probe.getsockname()[1])  # bound, not listening: connection refused
        with TcpProxy("127.0.0.1", dead) as p:
            with pytest.raises(ConnectionResetError), connect(p.port) as s:
                s.recv(10)
            assert p.stats().refused_upstream == 1


def test_unknown_mode_is_refused_by_name(proxy: TcpProxy) -> None:
    with pytest.raises(ValueError, match="unknown proxy mode 'cut'"):
        proxy.set_mode("cut")  # type: ignore[arg-type]


def test_command_line_proxy_obeys_stdin_commands(echo: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.tcp_proxy", "--target", f"127.0.0.1:{echo}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        first = json.loads(proc.stdout.readline())
        port = int(first["listening"])
        with connect(port) as s:
            s.sendall(b"abc")
            assert recv_exactly(s, 3) == b"abc"
        proc.stdin.write("stall\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["mode"] == "stall"
        proc.stdin.write("cut\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline()) == {"error": "unknown command 'cut'"}
        proc.stdin.write("restore\nquit\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["mode"] == "forward"
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        proc.stdout.close()
