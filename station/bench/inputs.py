"""One reader thread per configured input (and per station-read scanner), for the bench UI.

Driver calls block (serial reads, Modbus round trips), so they never run on the UI thread: a
hung or erroring device must never freeze or kill the bench (issue 6; pyserial's blocking
`read` with a timeout). Each reader owns its driver from open to close and reports everything
through one callback, called from the reader's thread:

- `InputValue`: a `Reading` arrived;
- `InputProblem`: the device answered badly or not at all (shown, never fatal);
- `InputLink`: the connection state changed (connecting / connected / disconnected / failed);
- `ScanValue`: a scan read from a serial or evdev scanner.

The Textual app turns each event into a posted message (`post_message` is thread-safe;
`call_from_thread` would block the reader while the UI is busy). Push inputs are read
continuously with a short timeout; poll inputs send `request()` only when `request()` is
called here (a key at the bench) and then wait for the reply. A disconnected device is
retried with capped exponential backoff. `stop()` sets an Event the loop checks between
reads; every read is bounded by its timeout, so a reader stops within about one timeout.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from drivers.base import DeviceDisconnected, DeviceTimeout, Driver, DriverError, Reading
from station.devices import Scanner, open_driver, open_scanner
from station.settings import InputSettings, ScannerSettings

log = logging.getLogger(__name__)

PUSH_READ_S = 0.25
"""Read slice for push inputs (and scanners): the longest a stop request waits."""

BACKOFF_INITIAL_S = 0.2
BACKOFF_MAX_S = 5.0
"""Retry delays after a failed open or a disconnect: doubling from 0.2 s, capped at 5 s."""

LinkState = Literal["connecting", "connected", "disconnected", "failed"]
_Device = TypeVar("_Device", Driver, Scanner)


@dataclass(frozen=True)
class InputValue:
    """A value read from input `input`."""

    input: str
    reading: Reading


@dataclass(frozen=True)
class InputProblem:
    """A device error that cost a value (bad frame, status code, no reply to a request)."""

    input: str
    message: str
    kind: str  # the driver exception's class name, e.g. "DeviceTimeout"


@dataclass(frozen=True)
class InputLink:
    """The connection state of an input changed; `detail` says why."""

    input: str
    state: LinkState
    detail: str = ""


@dataclass(frozen=True)
class ScanValue:
    """A scan read by a serial/evdev scanner (a keyboard-wedge scanner types into the UI)."""

    input: str
    text: str


InputEvent = InputValue | InputProblem | InputLink | ScanValue
Callback = Callable[[InputEvent], None]


class _Reader:
    """The thread, stop event, backoff and link-state bookkeeping shared by both readers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.state: LinkState = "connecting"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._callback: Callback | None = None
        self._delay = BACKOFF_INITIAL_S

    def start(self, callback: Callback) -> None:
        """Start the thread; `callback` receives every event (from that thread)."""
        if self._thread is not None:
            raise RuntimeError(f"input {self.name!r}: reader already started")
        self._callback = callback
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"input-{self.name}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the thread to stop without waiting (stop several readers at once)."""
        self._stop.set()

    def stop(self, timeout: float = 3.0) -> bool:
        """Ask the thread to stop and wait for it; False when it did not end in time."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _emit(self, event: InputEvent) -> None:
        if self._callback is None:
            return
        try:
            self._callback(event)
        except Exception:  # the UI went away mid-call: the reader must not die of it
            log.exception("input %s: event callback failed", self.name)

    def _link(self, state: LinkState, detail: str = "") -> None:
        """Record the link state; report only changes (a dead port is not re-reported)."""
        if state == "connected":
            self._delay = BACKOFF_INITIAL_S
        if state != self.state:
            self.state = state
            self._emit(InputLink(self.name, state, detail))

    def _backoff(self) -> None:
        """Wait the current delay (or until stopped), then double it up to the cap."""
        self._stop.wait(self._delay)
        self._delay = min(self._delay * 2, BACKOFF_MAX_S)

    def _open(self, opener: Callable[[], _Device]) -> _Device | None:
        """Open the device, retrying a disconnected one with backoff; None when stopped or
        when the config is unusable (reported as "failed": retrying would not help)."""
        while not self._stop.is_set():
            try:
                device = opener()
            except DeviceDisconnected as exc:
                self._link("disconnected", str(exc))
                self._backoff()
                continue
            except (DriverError, ValueError) as exc:
                self._link("failed", str(exc))
                return None
            self._link("connected")
            return device
        return None

    def _run(self) -> None:
        raise NotImplementedError


class InputReader(_Reader):
    """Reads one `[[inputs]]` entry through its driver (see the module docstring).

    Args:
        settings: the input's config entry.
        opener: builds and opens the driver; `station.devices.open_driver` by default.
    """

    def __init__(
        self,
        settings: InputSettings,
        opener: Callable[[InputSettings], Driver] = open_driver,
    ) -> None:
        super().__init__(settings.name)
        self.settings = settings
        self._opener = opener
        self._poll = threading.Event()

    @property
    def mode(self) -> str:
        """ "push" or "poll", from the config."""
        return self.settings.mode

    def request(self) -> None:
        """Ask a poll input for one value (coalesced while a request is pending)."""
        self._poll.set()

    def _run(self) -> None:
        driver = self._open(lambda: self._opener(self.settings))
        if driver is None:
            return
        try:
            while not self._stop.is_set():
                if self.settings.mode == "poll":
                    if not self._poll.wait(PUSH_READ_S):
                        continue
                    self._poll.clear()
                    self._read_once(driver, polled=True)
                else:
                    self._read_once(driver, polled=False)
        finally:
            try:
                driver.close()
            except Exception:
                log.exception("input %s: closing the driver failed", self.name)

    def _read_once(self, driver: Driver, *, polled: bool) -> None:
        try:
            if polled:
                driver.request()
            reading = driver.read(self.settings.timeout_s if polled else PUSH_READ_S)
        except DeviceTimeout as exc:
            # A timeout means the port is open (a lost port raises DeviceDisconnected).
            self._link("connected")
            if polled:
                self._emit(InputProblem(self.name, str(exc), type(exc).__name__))
            return
        except DeviceDisconnected as exc:
            self._link("disconnected", str(exc))
            if polled:
                self._emit(InputProblem(self.name, str(exc), type(exc).__name__))
            self._backoff()
            return
        except DriverError as exc:
            self._link("connected")
            self._emit(InputProblem(self.name, str(exc), type(exc).__name__))
            return
        except Exception as exc:  # a driver bug must cost a value, not the bench
            log.exception("input %s: unexpected driver error", self.name)
            self._emit(InputProblem(self.name, f"{self.name}: {exc!r}", type(exc).__name__))
            self._backoff()
            return
        self._link("connected")
        self._emit(InputValue(self.name, reading))


class ScannerReader(_Reader):
    """Reads a serial (CDC-ACM) or grabbed evdev scanner; each scan becomes a `ScanValue`."""

    def __init__(
        self,
        settings: ScannerSettings,
        opener: Callable[[ScannerSettings], Scanner | None] = open_scanner,
    ) -> None:
        super().__init__("scanner")
        self.settings = settings
        self._opener = opener

    def _open_scanner(self) -> Scanner:
        scanner = self._opener(self.settings)
        if scanner is None:
            raise ValueError("a keyboard scanner types into the bench: no reader needed")
        return scanner

    def _run(self) -> None:
        scanner = self._open(self._open_scanner)
        if scanner is None:
            return
        try:
            while not self._stop.is_set():
                try:
                    text = scanner.read_scan(PUSH_READ_S)
                except DeviceTimeout:
                    self._link("connected")
                    continue
                except DeviceDisconnected as exc:
                    self._link("disconnected", str(exc))
                    self._backoff()
                    continue
                except DriverError as exc:
                    self._emit(InputProblem(self.name, str(exc), type(exc).__name__))
                    continue
                self._link("connected")
                self._emit(ScanValue(self.name, text))
        finally:
            try:
                scanner.close()
            except Exception:
                log.exception("scanner: closing failed")


def readers_for(inputs: tuple[InputSettings, ...]) -> list[InputReader]:
    """One (not yet started) reader per configured input."""
    return [InputReader(s) for s in inputs]


__all__ = [
    "BACKOFF_INITIAL_S",
    "BACKOFF_MAX_S",
    "PUSH_READ_S",
    "Callback",
    "InputEvent",
    "InputLink",
    "InputProblem",
    "InputReader",
    "InputValue",
    "LinkState",
    "ScanValue",
    "ScannerReader",
    "readers_for",
]
