"""What every step of the bench workflow works with: store, config, clock, master data, state.

The workflow's concepts (session, inspection, readings, binding, check, completion) are
functions over one `BenchContext`, so each module receives what it needs explicitly and none
of them imports `station.bench.workflow`. The context also writes the audit trail's events:
the operator they name is the one logged in when they are written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from station.bench import override
from station.bench.audit import DEFAULT_WINDOW_S, AttemptLog
from station.bench.debounce import Debouncer
from station.bench.pinledger import PinLedger
from station.bench.state import BenchState
from station.core.caldue import DueRow, due_list
from station.core.fitness import Fitness, assess_instrument
from station.core.inspection import pending
from station.core.model import Characteristic, Instrument, MasterData
from station.core.studygate import gate_fitness
from station.core.timefmt import parse_ts, site_date
from station.settings import Config
from station.store import Record, Store, StoreError

log = logging.getLogger(__name__)


class BenchContext:
    """The bench's store, config and clock, the master-data snapshot and the state.

    Args:
        store: the record store (used from the calling thread only).
        config: the station config (inputs and their fixed instruments).
        clock: returns the current UTC-aware datetime; tests pass a fixed one.
        reason: the inspection reason written into records ("production", "first-article"…).
        monotonic: seconds that never go back, for rate limits (`time.monotonic`).
        audit_window_s: at most one refused-attempt event per (kind, subject) this often.
    """

    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Callable[[], datetime],
        *,
        reason: str = "production",
        monotonic: Callable[[], float] = time.monotonic,
        audit_window_s: float = DEFAULT_WINDOW_S,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        # Set by the workflow: log the operator out (a lockout after wrong PINs ends the
        # session). A hook, because `session` imports the modules that need to call it.
        self.logout: Callable[[str], object] = lambda why: None
        self.reason = reason
        self.monotonic = monotonic
        self.state = BenchState()
        self.attempts = AttemptLog(audit_window_s)
        self.debounce = Debouncer(config.inputs)
        self.pins = PinLedger()  # PIN failures, lockouts, overrides: from the store
        self._master_version = store.master_version()  # read first: a later change shows
        self.master: MasterData = store.master_data()

    def refresh_master(self) -> None:
        """Re-read master data when the sync daemon has applied new versions since last time.

        Called on every scan and reading, so it must not rebuild the whole snapshot each time
        (20-30 ms with 300 plans and 300 instruments); the version check is one indexed query.
        """
        version = self.store.master_version()
        if version != self._master_version:
            self.master = self.store.master_data()
            self._master_version = version

    @property
    def zone(self) -> tzinfo:
        """The site's `[station] timezone`: calendar dates (cal_due, expiry) are judged in it."""
        return self.config.station.timezone

    def calibration_due(self, horizon_days: int) -> tuple[list[DueRow], dict[str, str]]:
        """The due list for today at the site, and the instruments quarantined here (a failed
        check or calibration at this station), with why: they need calibrating too."""
        self.refresh_master()
        today = site_date(self.clock(), self.zone)
        return due_list(self.master, today, horizon_days), self.store.local_quarantines()

    def fixed_instrument(self, input_name: str) -> str | None:
        """The instrument the config fixes to `input_name`, if any."""
        for i in self.config.inputs:
            if i.name == input_name:
                return i.instrument
        return None

    def bound_instrument_id(self, input_name: str) -> str | None:
        """The instrument currently bound to an input: fixed in the config, else scanned."""
        return self.fixed_instrument(input_name) or self.store.bindings().get(input_name)

    def fitness(self, instrument: Instrument, characteristic: Characteristic | None) -> Fitness:
        """The calibration interlock for `instrument` now (and for `characteristic`)."""
        last = self.store.last_passing_check(instrument.id)
        fit = assess_instrument(
            instrument,
            now=self.clock(),
            zone=self.zone,
            characteristic=characteristic,
            local_quarantine_reason=self.store.local_quarantines().get(instrument.id),
            last_passing_check_at=None if last is None else parse_ts(last.ts),
        )
        if characteristic is not None:  # the gauge studies' verdicts (`core.studygate`)
            fit = gate_fitness(
                fit, self.store.study_results(instrument.id), instrument.id, characteristic
            )
        # The interlock's only door: a signed override for this part (`bench.override`).
        return fit if fit.usable else override.under_override(self, instrument, characteristic, fit)

    def pending_samples(self) -> tuple[tuple[Characteristic, int], ...]:
        """(characteristic, sample) still to take in the current inspection."""
        d = self.state.draft
        return () if d is None else pending(d.plan, d.measurements.values())

    # -- the audit trail's events ----------------------------------------------------------

    def event_body(self, kind: str, **detail: Any) -> dict[str, Any]:
        """An `event` record body naming the operator logged in now."""
        op = self.state.operator.id if self.state.operator else None
        return {"kind": kind, "operator": op, "detail": detail}

    def event(self, kind: str, **detail: Any) -> Record:
        """Append an `event` record (raises `StoreError` when the store cannot take it)."""
        return self.store.append("event", self.event_body(kind, **detail))

    def record_attempt(self, kind: str, subject: str, **detail: Any) -> None:
        """A refused attempt as an `event` record, rate-limited (see `station.bench.audit`).

        Never raises: a refusal must reach the operator even when the store cannot take its
        event (the attempt is then counted and carried by the next one written).
        """
        now = self.monotonic()
        owed = self.attempts.admit(kind, subject, now, detail)
        if owed is None:
            log.info("%s %s: repeat within %g s, counted", kind, subject, self.attempts.window_s)
            return
        try:
            self.event(kind, **detail, suppressed=owed)
        except StoreError as exc:
            log.warning("%s %s: could not record the attempt: %s", kind, subject, exc)
            self.attempts.failed(kind, subject, now, detail)
        else:
            self.attempts.written(kind, subject, now)

    def flush_attempts(self) -> None:
        """Write the repeat counts still owed (one summary event per key)."""
        for owed in self.attempts.owed():
            try:
                self.event(owed.kind, **owed.detail, suppressed=owed.suppressed, summary=True)
            except StoreError as exc:
                log.warning("%s %s: repeats not recorded: %s", owed.kind, owed.subject, exc)
                self.attempts.restore(owed, self.monotonic())


__all__ = ["BenchContext"]
