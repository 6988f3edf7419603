"""The bench's always-visible sync state, read off the UI thread.

A Store is used only by the thread that opened it (station/store/store.py), so the poller opens its
own read connection on the same file (WAL makes that safe) and reports a `StatusSnapshot`
every `interval_s` through a callback (the app posts it as a message). A store that cannot be
read is reported, never raised: the status line says so and the bench keeps working.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from station.store import Store, StoreError

log = logging.getLogger(__name__)

STATUS_INTERVAL_S = 1.5


@dataclass(frozen=True)
class StatusSnapshot:
    """What the status line shows about delivery to the QMS."""

    online: bool = False
    reported: bool = False  # False when the sync daemon never wrote its state
    pending: int = 0
    delivered_seq: int = 0
    error: str = ""


def read_status(store: Store) -> StatusSnapshot:
    """One snapshot from `store` (in the calling thread)."""
    try:
        online, _detail, ts = store.sync_state()
        st = store.status()
    except StoreError as exc:
        return StatusSnapshot(error=str(exc))
    return StatusSnapshot(
        online=online, reported=ts is not None, pending=st.pending, delivered_seq=st.delivered_seq
    )


class StatusPoller:
    """A daemon thread that reads the store's status every `interval_s` seconds."""

    def __init__(
        self,
        path: Path,
        *,
        site: str,
        station: str,
        interval_s: float = STATUS_INTERVAL_S,
    ) -> None:
        self.path = path
        self.site = site
        self.station = station
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, callback: Callable[[StatusSnapshot], None]) -> None:
        """Start polling; `callback` is called from the poller's thread."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(callback,), name="bench-status", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop and wait for the thread (it is between two short reads at most)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def _run(self, callback: Callable[[StatusSnapshot], None]) -> None:
        store: Store | None = None
        try:
            while not self._stop.is_set():
                if store is None:
                    try:
                        store = Store.open(self.path, site=self.site, station=self.station)
                    except StoreError as exc:
                        callback(StatusSnapshot(error=str(exc)))
                        self._stop.wait(self.interval_s)
                        continue
                callback(read_status(store))
                self._stop.wait(self.interval_s)
        except Exception:  # the status line must never take the bench down
            log.exception("bench status poller stopped")
        finally:
            if store is not None:
                store.close()


__all__ = ["STATUS_INTERVAL_S", "StatusPoller", "StatusSnapshot", "read_status"]
