"""A simulated Modbus instrument: a real pymodbus 3.16 server on 127.0.0.1.

Serves Modbus/TCP, or Modbus RTU frames over TCP (`rtu=True`), which a serial client reaches
as the pyserial URL ``socket://127.0.0.1:PORT``. Each unit id holds one settable value,
exposed in every encoding a real instrument might use. Holding (0x03) and input (0x04)
registers share one map (0-based wire addresses)::

    0-1   float32 ABCD (big word order)       value
    2-3   float32 CDAB (little word order)    value
    4     int16                                round(value * 100)
    5     uint16                               round(value * 100)
    6-7   int32 ABCD                           round(value * 100)
    8-9   int32 CDAB                           round(value * 100)
    10-11 uint32 ABCD                          round(value * 100)
    12-13 uint32 CDAB                          round(value * 100)
    14-   not mapped: reads answer exception 0x02 (illegal data address)

Integer encodings are fixed-point with two decimals (read them with scale = 0.01) and wrap
like a register would. A non-finite value stores NaN/inf in the float registers and 0 in the
integer ones. A unit can be made *silent* (never answers, like a switched-off device on an
RS-485 bus) or made to answer every request with a given exception code. Unknown unit ids are
silent too. Writes are refused with exception 0x01: this instrument is read-only.

Built on `SimDevice`/`SimData` (the 3.13+ datastore; the legacy `ModbusSequentialDataBlock`
path logs a deprecation). The per-unit `action` callback rewrites the registers from the
thread-safe state on every request, so `set_value()` from another thread is seen at once.

Command line::

    python -m sim.modbus_instrument --port 5020 --value 12.5 [--units 1,2] [--rtu] [--silent 2]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import math
import signal
import struct
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.framer import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.transport import ModbusProtocol

from sim.net import wait_for_port

MAP_SIZE = 14
# (data type, word order) -> first register address, as in the map above.
ADDRESS: dict[tuple[str, str], int] = {
    ("float32", "big"): 0,
    ("float32", "little"): 2,
    ("int16", "big"): 4,
    ("uint16", "big"): 5,
    ("int32", "big"): 6,
    ("int32", "little"): 8,
    ("uint32", "big"): 10,
    ("uint32", "little"): 12,
}
FIXED_POINT = 100  # integer registers carry value * 100
FLOAT32_MAX = 3.4028234663852886e38


def encode_value(value: float) -> list[int]:
    """The whole register map for `value` (see the module docstring)."""
    if math.isfinite(value) and abs(value) > FLOAT32_MAX:
        raise ValueError(f"{value} does not fit a float32 register pair")
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    n = round(value * FIXED_POINT) if math.isfinite(value) else 0
    n16 = n & 0xFFFF
    n32_hi, n32_lo = (n >> 16) & 0xFFFF, n & 0xFFFF
    return [
        hi,
        lo,
        lo,
        hi,
        n16,
        n16,
        n32_hi,
        n32_lo,
        n32_lo,
        n32_hi,
        n32_hi,
        n32_lo,
        n32_lo,
        n32_hi,
    ]


@dataclass
class _Unit:
    registers: list[int]
    silent: bool = False
    exception: int | None = None
    requests: int = 0
    overrides: dict[int, int] = field(default_factory=dict)


class ModbusInstrument:
    """A Modbus server emulating one instrument per unit id, for tests, demos and benches.

    Start with `start()` (returns once a TCP connect succeeds), stop with `stop()`; usable as
    a context manager. `port=0` binds a free port; `url` tells clients where to connect.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        unit_ids: Iterable[int] = (1,),
        value: float = 0.0,
        rtu: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.rtu = rtu
        self._lock = threading.Lock()
        self._units = {uid: _Unit(encode_value(value)) for uid in unit_ids}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: _TrackingServer | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """`tcp://127.0.0.1:PORT`, or `socket://127.0.0.1:PORT` for RTU framing."""
        return f"{'socket' if self.rtu else 'tcp'}://{self.host}:{self.port}"

    def start(self, deadline_s: float = 10.0) -> None:
        """Start serving in a background thread; return when a TCP connect succeeds."""
        if self._thread is not None:
            raise RuntimeError("already started")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="modbus-instrument", daemon=True)
        self._thread.start()
        if not self._ready.wait(deadline_s) or self._error is not None:
            self.stop()
            raise RuntimeError(f"modbus instrument did not start on {self.url}: {self._error}")
        try:
            wait_for_port(self.port, deadline_s, host=self.host)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"nothing accepts on {self.url}") from None

    def stop(self) -> None:
        """Close the listener and every client connection; safe to call twice."""
        loop, server, thread = self._loop, self._server, self._thread
        if loop is not None and server is not None and not loop.is_closed():
            shutdown = _shutdown(server)
            try:
                future = asyncio.run_coroutine_threadsafe(shutdown, loop)
            except RuntimeError:  # the loop closed meanwhile
                shutdown.close()
            else:
                future.result(timeout=5)
        if thread is not None:
            thread.join(timeout=5)
        self._thread = self._loop = self._server = None

    def __enter__(self) -> ModbusInstrument:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- behaviour (thread-safe) -----------------------------------------------------------

    def set_value(self, value: float, unit_id: int | None = None) -> None:
        """Set the value of one unit (or all units); clears raw overrides."""
        registers = encode_value(value)
        with self._lock:
            for uid in self._targets(unit_id):
                self._units[uid].registers = list(registers)
                self._units[uid].overrides.clear()

    def set_registers(self, unit_id: int, address: int, words: Sequence[int]) -> None:
        """Override raw registers (e.g. a NaN pattern in one word order only)."""
        if address < 0 or address + len(words) > MAP_SIZE:
            raise ValueError(f"registers {address}..{address + len(words) - 1} outside 0..13")
        with self._lock:
            for i, word in enumerate(words):
                self._units[unit_id].overrides[address + i] = word & 0xFFFF

    def set_silent(self, unit_id: int, silent: bool = True) -> None:
        """A silent unit never answers (the client times out)."""
        with self._lock:
            self._units[unit_id].silent = silent

    def set_exception(self, unit_id: int, code: int | None) -> None:
        """Answer every request to `unit_id` with Modbus exception `code` (None = normal)."""
        with self._lock:
            self._units[unit_id].exception = code

    def connections(self) -> int:
        """How many TCP connections this server accepted since `start()` (readiness probe
        included)."""
        server = self._server
        return 0 if server is None else len(server.handlers)

    def requests(self, unit_id: int) -> int:
        """How many requests reached `unit_id` (answered or not)."""
        with self._lock:
            return self._units[unit_id].requests

    # -- server side -----------------------------------------------------------------------

    def _targets(self, unit_id: int | None) -> list[int]:
        if unit_id is None:
            return list(self._units)
        if unit_id not in self._units:
            raise KeyError(f"unit {unit_id} not simulated (have {sorted(self._units)})")
        return [unit_id]

    async def _action(  # noqa: PLR0917 (signature fixed by pymodbus SimAction)
        self,
        unit_id: int,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        with self._lock:
            unit = self._units.get(unit_id)
            if unit is None or unit.silent:
                if unit is not None:
                    unit.requests += 1
                # With ignore_missing_devices=True the request handler sends nothing.
                raise NoSuchIdException(f"unit {unit_id} is silent")
            unit.requests += 1
            if unit.exception is not None:
                return ExcCodes(unit.exception)
            if set_values is not None:
                return ExcCodes.ILLEGAL_FUNCTION
            registers = list(unit.registers)
            for addr, word in unit.overrides.items():
                registers[addr] = word
        current_registers[0:MAP_SIZE] = registers
        return None

    def _devices(self) -> list[SimDevice]:
        devices = [
            SimDevice(
                id=uid,
                simdata=[SimData(0, count=MAP_SIZE, values=0, datatype=DataType.REGISTERS)],
                action=functools.partial(self._action, uid),
            )
            for uid in sorted(self._units)
        ]
        # id 0 is the catch-all for every other unit id: silent, as on a real bus.
        devices.append(
            SimDevice(
                id=0,
                simdata=[SimData(0, count=1, values=0, datatype=DataType.REGISTERS)],
                action=functools.partial(self._action, -1),
            )
        )
        return devices

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported through start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        server = _TrackingServer(
            self._devices(),
            framer=FramerType.RTU if self.rtu else FramerType.SOCKET,
            address=(self.host, self.port),
            ignore_missing_devices=True,
        )
        await server.serve_forever(background=True)
        listener = server.transport
        sockets = getattr(listener, "sockets", None)
        if not sockets:
            raise RuntimeError(f"could not listen on {self.host}:{self.port}")
        self.port = int(sockets[0].getsockname()[1])
        self._server = server
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        await server.serving
        # shutdown() closes the connections it knows, but a connection accepted just before
        # (e.g. start()'s readiness probe) may get its transport only afterwards; close those
        # too, and give the loop a few iterations to release the sockets (else: an
        # "unclosed transport" ResourceWarning when the loop is closed).
        for _ in range(3):
            await asyncio.sleep(0)
        for handler in server.handlers:
            transport = handler.transport
            if transport is not None and not transport.is_closing():
                transport.close()
        for _ in range(3):
            await asyncio.sleep(0)


async def _shutdown(server: ModbusTcpServer) -> None:
    """Let already accepted connections get their transports, then shut down.

    CPython 3.11 creates the transport of an accepted connection in a task; if the server
    closes before that task runs, the transport is half-made and leaks its socket.
    """
    for _ in range(3):
        await asyncio.sleep(0)
    await server.shutdown()  # type: ignore[no-untyped-call]


class _TrackingServer(ModbusTcpServer):
    """Remembers every connection handler so that none outlives the server."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handlers: list[ModbusProtocol] = []

    def callback_new_connection(self) -> ModbusProtocol:
        handler: ModbusProtocol = super().callback_new_connection()  # type: ignore[no-untyped-call]
        self.handlers.append(handler)
        return handler


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM; print the URL clients should use."""
    parser = argparse.ArgumentParser(
        prog="python -m sim.modbus_instrument", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=5020, help="TCP port (default %(default)s; 0 picks a free one)"
    )
    parser.add_argument(
        "--value",
        type=float,
        default=0.0,
        help="the value every unit holds, in every register encoding (default %(default)s)",
    )
    parser.add_argument("--units", default="1", help="comma-separated unit ids (default 1)")
    parser.add_argument("--rtu", action="store_true", help="RTU framing over TCP (socket://)")
    parser.add_argument(
        "--silent", type=int, action="append", default=[], help="a unit id that never answers"
    )
    args = parser.parse_args(argv)
    try:
        units = [int(u) for u in args.units.split(",") if u.strip()]
    except ValueError:
        parser.error(f"--units: expected comma-separated integers (got {args.units!r})")
    instrument = ModbusInstrument(
        port=args.port, host=args.host, unit_ids=units, value=args.value, rtu=args.rtu
    )
    for uid in args.silent:
        if uid in units:  # unknown unit ids are silent anyway
            instrument.set_silent(uid)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        instrument.start()
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"serving {instrument.url} units {','.join(map(str, units))}", flush=True)
    stop.wait()
    instrument.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
