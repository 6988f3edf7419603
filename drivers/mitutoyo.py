"""Mitutoyo "01A±value" ASCII frames from USB-ITN (VCP mode), RS-232 and USB interfaces.

Wire format (Mitutoyo Digimatic output format, USB-ITN manual): ``0`` code, channel digit, item
``A``, sign, the value
with a floating decimal point, CR; e.g. ``01A+0000.123<CR>`` (QM-Height, 8 value characters)
or ``01A+00012.345<CR>`` (9 characters): the width varies by product, so the frame is parsed by
pattern, never by columns. The unit is not in the frame: it comes from the input's ``unit``
setting, else mm.

Push mode: the DATA button / footswitch sends a frame. Poll mode: ``1<CR>`` requests one.
Replies starting with ``9`` are status codes (DEMCON USB_ITN class, code-derived):
``911`` no gauge answered (not connected or off) → `NoGauge`; ``918`` busy → `DeviceBusy`,
retried in poll mode after ~50 ms up to `BUSY_RETRIES` times; any other ``9xx`` →
`DeviceStatusError`. Replies starting with ``1`` are device information (answer to ``V<CR>``)
and are ignored. Line default 9600 8N1 (the vendors' default line settings, QM-Height USB output).
"""

from __future__ import annotations

import re
import time

from drivers.base import DeviceBusy, DeviceStatusError, NoGauge, ParseError
from drivers.frames import Frame, plausible_decimal, show
from drivers.line_driver import LineDriver
from drivers.serial_line import LineParams

REQUEST = b"1\r"
BUSY_RETRIES = 5
BUSY_PAUSE_S = 0.05

# Channel digit (a multiplexer puts its port number there, GageMux §6), item "A", sign, value
# with optional leading blanks and a floating point.
_FRAME = re.compile(rb"0([0-9])A([+-]) *([0-9]+(?:\.[0-9]+)?)")
_STATUS = re.compile(rb"9[0-9]{2}")


def parse_frame(line: bytes) -> Frame | None:
    """Parse one Mitutoyo line (contract in `drivers.frames`).

    Raises:
        ParseError: not ``0<channel>A±value``, a ``9xx`` status or a ``1…`` info line.
        ImplausibleValue: the value is absurd.
        NoGauge, DeviceBusy, DeviceStatusError: status codes 911, 918, other 9xx.
    """
    match = _FRAME.fullmatch(line)
    if match is not None:
        sign, digits = match.group(2, 3)
        text = (sign + digits).decode("ascii")
        return Frame(plausible_decimal(text, f"mitutoyo frame {show(line)}"))
    if _STATUS.fullmatch(line):
        code = line.decode("ascii")
        if code == "911":
            raise NoGauge("status 911: no gauge answered the interface (not connected or off)")
        if code == "918":
            raise DeviceBusy("status 918: interface busy, retry after ~50 ms")
        raise DeviceStatusError(f"status {code}: the interface could not read the gauge")
    if line.startswith(b"1"):
        return None  # device information, the reply to V<CR>
    raise ParseError(f"mitutoyo: got {show(line)}, expected a frame like b'01A+0012.345'")


class MitutoyoDriver(LineDriver):
    """A Mitutoyo interface in push (DATA button) or poll (``1<CR>``) mode."""

    PROTOCOL = "mitutoyo"
    DEFAULT_LINE = LineParams(baudrate=9600, bytesize=8, parity="N", stopbits=1)
    REQUEST = REQUEST
    DEFAULT_UNIT = "mm"

    _busy_retries = 0

    def request(self) -> None:
        """Poll mode: send ``1<CR>`` (busy replies are retried from `read`)."""
        self._busy_retries = 0
        super().request()

    def parse(self, line: bytes) -> Frame | None:
        return parse_frame(line)

    def retry_after_status(self, exc: DeviceStatusError, deadline: float) -> bool:
        """On ``918`` to our own request, wait ~50 ms and ask again, a bounded number of times.

        The busy reply only arrives here, in `read`, so the retry of `request()` happens here.
        """
        if not (isinstance(exc, DeviceBusy) and self._request_pending):
            return False
        if self._busy_retries >= BUSY_RETRIES or time.monotonic() + BUSY_PAUSE_S >= deadline:
            self._request_pending = False
            raise DeviceBusy(
                f"{self.name}: status 918: interface still busy after {self._busy_retries} retries"
            ) from exc
        self._busy_retries += 1
        time.sleep(BUSY_PAUSE_S)
        self._send_request(REQUEST)
        return True


__all__ = ["BUSY_RETRIES", "REQUEST", "MitutoyoDriver", "parse_frame"]
