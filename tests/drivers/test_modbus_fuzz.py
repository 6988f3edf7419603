"""The Modbus driver against hostile servers: garbage frames and exception storms.

* A hand-written Modbus/TCP responder on 127.0.0.1 (real sockets, real pymodbus client in
  the driver) answers each request with a seeded-random mutation: random bytes, a valid MBAP
  header around a random PDU, a wrong byte count, a wrong transaction id, a truncated reply,
  an absurd length field, or a closed connection. Every read must return a `Reading` or
  raise from the driver error tree (`drivers.base`), within its timeout, and the driver must
  read a good reply again afterwards.
* The pymodbus simulator (sim.modbus_instrument) answers every request with an exception code
  for a bounded storm of reads at full rate: each read raises the right error, one
  connection is used throughout, memory stays flat, and the first normal answer is read.

Bounded: 150 mutated replies (timeout 0.15 s each), a storm of 400 reads.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time
import tracemalloc
from collections.abc import Iterator

import pytest

from drivers.base import CommandError, DeviceBusy, DriverError, Reading
from drivers.modbus import ModbusDriver
from drivers.params import ModbusParams
from sim.modbus_instrument import ModbusInstrument

GOOD = struct.pack(">HH", *struct.unpack(">HH", struct.pack(">f", 12.5)))  # 0x4148 0x0000


class HostileServer:
    """Answers Modbus/TCP requests with mutated replies; counts and closes connections."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.good_only = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.live: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.live.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            while True:
                header = _recv_exactly(conn, 7)
                if header is None:
                    return
                tid, _pid, length, unit = struct.unpack(">HHHB", header)
                pdu = _recv_exactly(conn, length - 1)
                if pdu is None:
                    return
                reply = self._reply(tid, unit, pdu)
                if reply is None:
                    return  # close the connection
                conn.sendall(reply)
        except OSError:
            return
        finally:
            with self.lock:
                self.live.discard(conn)
            conn.close()

    def _reply(self, tid: int, unit: int, pdu: bytes) -> bytes | None:
        function = pdu[0]
        good_pdu = bytes([function, len(GOOD)]) + GOOD
        if self.good_only:
            return _mbap(tid, unit, good_pdu)
        r = self.rng
        kind = r.randrange(9)
        if kind == 0:
            return r.randbytes(r.randrange(0, 40))
        if kind == 1:
            return _mbap(tid, unit, r.randbytes(r.randrange(1, 20)))
        if kind == 2:  # byte count disagrees with the 4 data bytes
            count = r.choice([n for n in range(256) if n != len(GOOD)])
            return _mbap(tid, unit, bytes([function, count]) + r.randbytes(4))
        if kind == 3:  # an answer to another transaction
            return _mbap((tid + 1 + r.randrange(100)) & 0xFFFF, unit, good_pdu)
        if kind == 4:  # truncated: the rest never comes
            return _mbap(tid, unit, good_pdu)[: r.randrange(1, 11)]
        if kind == 5:  # absurd length field
            return struct.pack(">HHHB", tid, 0, 0xFFFF, unit) + r.randbytes(8)
        if kind == 6:
            return None
        if kind == 7:  # exception response with a random code
            return _mbap(tid, unit, bytes([function | 0x80, r.randrange(256)]))
        return _mbap(tid, unit, good_pdu)

    def close(self) -> None:
        self.stopping = True
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        with self.lock:
            for conn in list(self.live):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        self.thread.join(5)


def _mbap(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def _recv_exactly(conn: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer(seed=1312)
    try:
        yield server
    finally:
        server.close()


def settings_for(url: str, timeout_s: float = 0.15) -> ModbusParams:
    return ModbusParams(url=url, unit="N.m", timeout_s=timeout_s)


@pytest.mark.slow
def test_mutated_replies_raise_only_driver_errors_and_recover(hostile: HostileServer) -> None:
    driver = ModbusDriver("torque", settings_for(f"tcp://127.0.0.1:{hostile.port}"))
    outcomes: dict[str, int] = {}
    with contextlib.suppress(DriverError):
        driver.open()
    try:
        for _ in range(150):
            started = time.monotonic()
            try:
                reading = driver.read(0.6)
            except DriverError as exc:
                kind = type(exc).__name__
            else:
                assert isinstance(reading, Reading)
                assert reading.value == 12.5  # a value comes only from a well-formed reply
                kind = "Reading"
            # Each read is bounded: its budget plus one reconnect backoff step at most.
            assert time.monotonic() - started < 1.5, kind
            outcomes[kind] = outcomes.get(kind, 0) + 1
        assert outcomes.get("Reading", 0) > 0 and len(outcomes) >= 3, outcomes
        hostile.good_only = True
        deadline = time.monotonic() + 10
        while True:  # recovers: the backoff may still run, then a good reply is read
            try:
                assert driver.read(1.0).value == 12.5
                break
            except DriverError:
                assert time.monotonic() < deadline, "never recovered"
    finally:
        driver.close()
    with hostile.lock:  # every connection the driver dropped is closed
        assert len(hostile.live) <= 1, hostile.live


@pytest.fixture
def storm_sim() -> Iterator[ModbusInstrument]:
    instrument = ModbusInstrument(unit_ids=(1,), value=12.5)
    instrument.start()
    try:
        yield instrument
    finally:
        instrument.stop()


@pytest.mark.parametrize(("code", "error"), [(0x04, CommandError), (0x06, DeviceBusy)])
def test_exception_storm_is_reported_each_time_without_leaks(
    storm_sim: ModbusInstrument, code: int, error: type[DriverError]
) -> None:
    storm_sim.set_exception(1, code)
    driver = ModbusDriver("torque", settings_for(storm_sim.url, timeout_s=1.0))
    driver.open()
    try:
        tracemalloc.start()
        try:
            for i in range(400):
                if i == 50:  # after warm-up (pymodbus' caches, logging)
                    before, _ = tracemalloc.get_traced_memory()
                    connections = storm_sim.connections()  # the server saw the connection
                with pytest.raises(error, match=rf"Modbus exception 0x{code:02X} "):
                    driver.read(1.0)
            after, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert after - before < 256 * 1024, (before, after)
        assert storm_sim.requests(1) == 400  # one request per read: no hidden retries
        assert storm_sim.connections() == connections  # the same connection throughout
        storm_sim.set_exception(1, None)
        assert driver.read(1.0).value == 12.5  # the first normal answer is read
    finally:
        driver.close()
