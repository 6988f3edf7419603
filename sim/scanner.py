"""A simulated barcode scanner in USB CDC-ACM mode, on a pty published at a stable link.

`scan(text)` writes the raw scan exactly as a scanner with AIM identifiers enabled would
(GS1 General Specifications §5, scanner programming guides): e.g. ``"]d2010952123454321317250101" +
"10ABC123\\x1d21XYZ"``, then the
suffix (CR by default). Unplug/replug behave like `sim.serial_gauge`.

Command line (each stdin line is scanned; ``<GS>`` in it becomes 0x1D)::

    python -m sim.scanner --link /tmp/scanner
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from sim._pty import PtyDevice

GS = "\x1d"


class ScannerSim:
    """A scanner that only talks: every method writes from the caller's thread."""

    def __init__(self, link: Path | str, *, suffix: bytes = b"\r") -> None:
        self.device = PtyDevice(link)
        self.suffix = suffix
        self._lock = threading.Lock()

    @property
    def path(self) -> str:
        """The stable symlink a `SerialScanner` opens."""
        return str(self.device.link)

    def start(self) -> ScannerSim:
        """Create the pty and its link."""
        with self._lock:
            self.device.plug()
        return self

    def stop(self) -> None:
        """Close the pty and remove the link; safe to call twice."""
        with self._lock:
            self.device.unplug()

    def __enter__(self) -> ScannerSim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def scan(self, text: str) -> None:
        """Send one scan: the text's bytes (latin-1, so GS and AIM prefix pass as is) + suffix."""
        self.send_raw(text.encode("latin-1") + self.suffix)

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (partial scans, noise)."""
        with self._lock:
            self.device.write(data)

    def unplug(self) -> None:
        """Pull the cable: the pty goes away and the link is removed."""
        with self._lock:
            self.device.unplug()

    def replug(self) -> str:
        """A new pty behind the same link; returns its slave name."""
        with self._lock:
            return self.device.plug()


def main(argv: list[str] | None = None) -> int:
    """Scan each stdin line until EOF or Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m sim.scanner",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--link",
        required=True,
        help="path of the symlink to the pty; point [scanner] port at it",
    )
    parser.add_argument(
        "--suffix",
        default="\r",
        help="characters sent after each scan, as the scanner's suffix setting (default CR)",
    )
    args = parser.parse_args(argv)
    sim = ScannerSim(args.link, suffix=args.suffix.encode("latin-1")).start()
    print(f"scanner on {sim.device.slave_name} via {sim.path}; type a code per line", flush=True)
    try:
        for line in sys.stdin:
            sim.scan(line.rstrip("\n").replace("<GS>", GS))
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
