"""A simulated serial gauge on a pty: Mitutoyo, Sylvac, Mahr, MT-SICS balance or ASCII device.

Tests and demos point a driver at `SerialGaugeSim.path` (a stable symlink to the current pty
slave) and the real pyserial reads the simulator's bytes. The simulator answers requests
byte-exactly in its own thread, pushes a value when its "data button" is pressed, and injects
the faults a shop floor produces: garbage, status/error replies, silence, frames split across
writes with delays, and unplug/replug (the pty goes away and a new one appears at the same
link).

Every action that touches the pty runs in the simulator's thread, in order: `press_button`,
`send_raw` and friends return at once (pass ``wait=True`` or call `flush` to wait until the
bytes are written), while `unplug`/`replug` wait.

Command line (a demo gauge until Ctrl-C; stdin commands ``p``, ``v 12.35``, ``g``, ``u``,
``r``, ``q``)::

    python -m sim.serial_gauge mitutoyo --link /tmp/caliper --value 12.346
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import random
import re
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Literal, get_args

from sim import gauge_formats as fmt
from sim._pty import PtyDevice
from sim.net import wait_until

GaugeProtocol = Literal["mitutoyo", "sylvac", "mahr", "mtsics", "ascii"]
PROTOCOLS: tuple[str, ...] = get_args(GaugeProtocol)
DEFAULT_UNITS = {"mitutoyo": "mm", "sylvac": "mm", "mahr": "mm", "mtsics": "g", "ascii": "mm"}

_REQUEST_END = re.compile(rb"[\r\n]")


class SerialGaugeSim:
    """One simulated gauge. Attributes tests may set at any time: `value`, `unit`, `silent`
    (ignore requests), `split`/`split_delay_s` (send every frame in that many pieces with that
    pause between them), `stable` (MT-SICS: ``SI`` answers ``S D`` and ``S`` answers ``S I``
    while False), `style` (Mahr: ``"c1202"`` or ``"optors"``)."""

    def __init__(
        self,
        protocol: GaugeProtocol,
        link: Path | str,
        *,
        value: Decimal | str | float = "0.000",
        unit: str | None = None,
        style: str = "c1202",
        ascii_request: bytes = b"?",
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
        self.protocol = protocol
        self.device = PtyDevice(link)
        self._value = Decimal(str(value))
        self.unit = unit if unit is not None else DEFAULT_UNITS[protocol]
        self.style = style
        self.ascii_request = ascii_request
        self.silent = False
        self.stable = True
        self.split = 1
        self.split_delay_s = 0.0
        # What a real gauge does between calibrations: read off by a systematic error
        # (`bias`, e.g. worn jaws), and scatter (`noise`, a standard deviation: the
        # repeatability a Type-1 study measures). Both in the displayed unit, applied at
        # each frame and rounded to the display's digits; `seed` makes the scatter repeatable.
        self.bias = Decimal(0)
        self.noise = Decimal(0)
        self._rng = random.Random(0)
        self._received = bytearray()
        self._requests: list[bytes] = []
        self._pending = bytearray()
        self._replies: list[bytes] = []
        self._lock = threading.Lock()
        self._actions: queue.Queue[tuple[Callable[[], object], threading.Event]] = queue.Queue()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The stable symlink a driver opens (survives replug)."""
        return str(self.device.link)

    def start(self) -> SerialGaugeSim:
        """Create the pty and link, and start answering."""
        self.device.plug()
        self._wake_r, self._wake_w = os.pipe()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"sim-{self.protocol}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread, close the pty and remove the link; safe to call twice."""
        if self._thread is not None:
            self._stop.set()
            os.write(self._wake_w, b"x")
            self._thread.join(timeout=5)
            self._thread = None
            os.close(self._wake_r)
            os.close(self._wake_w)
        self.device.unplug()

    def __enter__(self) -> SerialGaugeSim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests and demos drive ----------------------------------------------------------

    @property
    def value(self) -> Decimal:
        """The displayed value (Decimal; its exponent sets the decimals sent)."""
        return self._value

    @value.setter
    def value(self, value: Decimal | str | float) -> None:
        self._value = Decimal(str(value))

    def seed(self, seed: int) -> None:
        """Restart the scatter's random sequence (repeatable noise)."""
        self._rng = random.Random(seed)

    def shown(self) -> Decimal:
        """The value the gauge sends now: its value plus bias plus scatter, in its digits."""
        value = self._value
        if not self.bias and not self.noise:
            return value
        value += self.bias
        if self.noise:
            value += Decimal(repr(self._rng.gauss(0.0, float(self.noise))))
        return value.quantize(self._value)

    def frame(self) -> bytes:
        """The value frame this gauge sends now (what a request or the button produces)."""
        value, unit = self.shown(), self.unit
        if self.protocol == "mitutoyo":
            return fmt.format_mitutoyo(value)
        if self.protocol == "sylvac":
            return fmt.format_sylvac(value)
        if self.protocol == "mahr":
            if self.style == "optors":
                return fmt.format_mahr_optors(value, unit)
            return fmt.format_mahr(value, unit)
        if self.protocol == "mtsics":
            return fmt.format_mtsics(value, unit, stable=self.stable)
        return fmt.format_ascii(value, unit)

    def press_button(self, *, wait: bool = False) -> None:
        """The DATA button / footswitch: push the current value frame."""
        frame = self.frame()  # the value at the press, even if changed before it is sent
        self._do(lambda: self._emit(frame), wait)

    def send_raw(self, data: bytes, *, wait: bool = False) -> None:
        """Write arbitrary bytes (garbage, status codes, a frame of your own) as they are."""
        self._do(lambda: self._emit(data), wait)

    def send_garbage(self, data: bytes = b"\x00\xff#~noise", *, wait: bool = False) -> None:
        """Line noise followed by a CR (what a plug-in glitch looks like)."""
        self.send_raw(data + b"\r", wait=wait)

    def queue_reply(self, data: bytes, times: int = 1) -> None:
        """Answer the next `times` requests with `data` instead of the normal reply."""
        with self._lock:
            self._replies.extend([data] * times)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every queued action (writes, button presses) has been done."""
        self._do(lambda: None, wait=True, timeout=timeout)

    def unplug(self) -> None:
        """Pull the cable: close the pty (clients see a disconnect) and remove the link."""
        self._do(self.device.unplug, wait=True)

    def replug(self) -> str:
        """Plug back in: a new pty behind the same link. Returns the new slave name."""
        self._do(self.device.plug, wait=True)
        return str(self.device.slave_name)

    @property
    def received(self) -> bytes:
        """Every byte the client has written, exactly."""
        with self._lock:
            return bytes(self._received)

    @property
    def requests(self) -> list[bytes]:
        """The request lines received so far, without terminators."""
        with self._lock:
            return list(self._requests)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """Block until `count` requests have arrived (readiness by polling, not a sleep)."""
        try:
            wait_until(f"{count} requests", lambda: len(self.requests) >= count, timeout, 0.005)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; got {self.requests!r}") from None
        return self.requests

    # --- the simulator thread ----------------------------------------------------------------

    def _do(self, action: Callable[[], object], wait: bool, timeout: float = 5.0) -> None:
        if self._thread is None:
            raise RuntimeError("the simulator is not started")
        done = threading.Event()
        self._actions.put((action, done))
        os.write(self._wake_w, b"x")
        if wait and not done.wait(timeout):
            raise TimeoutError(f"simulator action not done within {timeout} s")

    def _run(self) -> None:
        while not self._stop.is_set():
            while True:
                try:
                    action, done = self._actions.get_nowait()
                except queue.Empty:
                    break
                # The pty may go away mid-write: the bytes are lost, as on a real cable.
                with contextlib.suppress(OSError):
                    action()
                done.set()
            data = self.device.read(0.2, self._wake_r)
            if data:
                self._on_bytes(data)

    def _emit(self, data: bytes) -> None:
        if self.split <= 1 or len(data) < 2:
            self.device.write(data)
            return
        size = max(1, -(-len(data) // self.split))
        for start in range(0, len(data), size):
            if start:
                time.sleep(self.split_delay_s)
            self.device.write(data[start : start + size])

    def _on_bytes(self, data: bytes) -> None:
        with self._lock:
            self._received += data
        self._pending += data
        *lines, rest = _REQUEST_END.split(self._pending)
        self._pending = bytearray(rest)
        for line in lines:
            if not line:
                continue
            with self._lock:
                self._requests.append(bytes(line))
                queued = self._replies.pop(0) if self._replies else None
            if self.silent:
                continue
            reply = queued if queued is not None else self._answer(bytes(line))
            if reply:
                self._emit(reply)

    def _answer(self, request: bytes) -> bytes | None:
        """The protocol's reply to one request line (Mitutoyo USB-ITN manual)."""
        if self.protocol == "mitutoyo":
            return self.frame() if request == b"1" else None
        if self.protocol == "sylvac":
            return self.frame() if request.upper() in (b"?", b"PRI") else b"ERR1\r"
        if self.protocol == "mahr":
            return self.frame() if request in (b"?", b"M1?") else b"ERR1\r"
        if self.protocol == "ascii":
            return self.frame() if request == self.ascii_request else None
        return self._answer_mtsics(request)

    def _answer_mtsics(self, command: bytes) -> bytes:
        if command == b"S":
            return self.frame() if self.stable else b"S I\r\n"
        if command == b"SI":
            return self.frame()
        if command == b"Z":
            self._value = Decimal(0).quantize(self._value)
            return b"Z A\r\n"
        if command == b"T":
            tare, self._value = self._value, Decimal(0).quantize(self._value)
            return fmt.format_mtsics_tare(tare, self.unit)
        if command == b"@":
            return b'I4 A "0123456789"\r\n'
        return b"ES\r\n"


def main(argv: list[str] | None = None) -> int:
    """Serve one simulated gauge until Ctrl-C or ``q``."""
    parser = argparse.ArgumentParser(
        prog="python -m sim.serial_gauge",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "protocol", choices=PROTOCOLS, help="the gauge's wire protocol (frame format)"
    )
    parser.add_argument(
        "--link",
        required=True,
        help="path of the symlink to the pty; point the input's port at it",
    )
    parser.add_argument(
        "--value",
        default="0.000",
        help="the value the gauge shows, as its display has it (default %(default)s;"
        " change it later with the stdin command 'v VALUE')",
    )
    parser.add_argument(
        "--unit",
        default=None,
        help="unit sent in frames that carry one (default: mm; g for mtsics)",
    )
    parser.add_argument(
        "--style",
        default="c1202",
        choices=("c1202", "optors"),
        help="mahr only: Millimar C1202 or C1208/C1216 'OPTORS' replies (default %(default)s)",
    )
    parser.add_argument(
        "--bias",
        default="0",
        help="systematic error added to every value sent, in the displayed unit (default 0)",
    )
    parser.add_argument(
        "--noise",
        default="0",
        help="standard deviation of random scatter added to every value sent (default 0)",
    )
    args = parser.parse_args(argv)
    sim = SerialGaugeSim(
        args.protocol, args.link, value=args.value, unit=args.unit, style=args.style
    )
    sim.bias, sim.noise = Decimal(args.bias), Decimal(args.noise)
    sim.start()
    print(f"{args.protocol} gauge on {sim.device.slave_name} via {sim.path}", flush=True)
    print("commands: p (press button), v VALUE, g (garbage), u (unplug), r (replug), q", flush=True)
    try:
        for raw in sys.stdin:
            cmd, _, arg = raw.strip().partition(" ")
            if cmd == "p":
                sim.press_button(wait=True)
            elif cmd == "v" and arg:
                sim.value = arg
            elif cmd == "g":
                sim.send_garbage(wait=True)
            elif cmd == "u":
                sim.unplug()
            elif cmd == "r":
                print(f"replugged on {sim.replug()}", flush=True)
            elif cmd == "q":
                break
        else:
            threading.Event().wait()  # stdin closed (e.g. under a supervisor): serve on
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
