"""The station's own state of instruments: local quarantine (after a failed check; lifted by
a new calibration or a release) and the binding of inputs to instruments.

A mixin of `station.store.Store`. A quarantine or release appends its event in the same
transaction (ISO 9001 7.1.5.2: the status of a measuring resource is evidence); bindings are
plain state."""

from __future__ import annotations

from station.store import master_docs as master
from station.store.base import StoreBase
from station.store.model import Record


class InstrumentStateMixin(StoreBase):
    """Local quarantine and input bindings."""

    def quarantine_instrument(
        self, instrument_id: str, reason: str, operator: str | None
    ) -> Record:
        """Quarantine an instrument locally; returns the `instrument-quarantined` event."""
        now = self._now()
        with self._write(f"quarantine {instrument_id}") as conn:
            return master.quarantine(
                conn,
                self._appender(conn),
                instrument_id=instrument_id,
                reason=reason,
                operator=operator,
                ts=now,
            )

    def release_instrument(self, instrument_id: str, operator: str | None) -> Record:
        """Lift a local quarantine; returns the `instrument-released` event.

        Raises:
            StoreError: the instrument is not in local quarantine.
        """
        with self._write(f"release {instrument_id}") as conn:
            return master.release(
                conn, self._appender(conn), instrument_id=instrument_id, operator=operator
            )

    def local_quarantines(self) -> dict[str, str]:
        """Instrument id → reason, for every local quarantine."""
        with self._guard("read local quarantines") as conn:
            rows = conn.execute("SELECT instrument, reason FROM quarantine ORDER BY instrument")
            return {str(i): str(r) for i, r in rows}

    def bind_instrument(self, input_name: str, instrument_id: str | None) -> None:
        """Bind an input to an instrument (None unbinds)."""
        now = self._now()
        with self._write(f"bind input {input_name}") as conn:
            if instrument_id is None:
                conn.execute("DELETE FROM bindings WHERE input = ?", (input_name,))
            else:
                conn.execute(
                    "INSERT INTO bindings (input, instrument, ts) VALUES (?, ?, ?) "
                    "ON CONFLICT (input) DO UPDATE SET instrument = excluded.instrument, "
                    "ts = excluded.ts",
                    (input_name, instrument_id, now),
                )

    def bindings(self) -> dict[str, str]:
        """Input name → bound instrument id."""
        with self._guard("read bindings") as conn:
            rows = conn.execute("SELECT input, instrument FROM bindings ORDER BY input")
            return {str(i): str(b) for i, b in rows}


__all__ = ["InstrumentStateMixin"]
