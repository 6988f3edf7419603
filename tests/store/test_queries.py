"""Indexed queries: reverse traceability, checks, SPC values, serial history."""

from __future__ import annotations

from typing import Any

import pytest

from station.store import Store, StoreError


def test_reverse_traceability_finds_inspections_by_measurement_time(store: Store, mk: Any) -> None:
    m = mk.measurement
    early = store.append("inspection", mk.inspection(m(ts="2026-11-20T10:00:00.000Z")))
    both = store.append(
        "inspection",
        mk.inspection(
            m(ts="2026-11-21T07:00:00.000Z"),
            m("length", 40.0, instrument="MIC-0099", ts="2026-11-21T07:00:05.000Z"),
        ),
    )
    other = store.append(
        "inspection", mk.inspection(m(instrument="MIC-0099", ts="2026-11-21T09:00:00.000Z"))
    )
    assert store.inspections_using("CAL-0042", None) == [early, both]
    assert store.inspections_using("CAL-0042", "2026-11-21T00:00:00Z") == [both]
    assert store.inspections_using("MIC-0099", "2026-11-21T07:00:05.000Z") == [both, other]
    assert store.inspections_using("MIC-0099", "2026-11-21T08:00:05+01:00") == [both, other]
    assert store.inspections_using("NOPE", None) == []


def test_since_must_carry_a_zone(store: Store) -> None:
    with pytest.raises(StoreError, match="not an RFC 3339 timestamp with a zone"):
        store.inspections_using("CAL-0042", "2026-11-21 07:00")
    with pytest.raises(StoreError, match="not an RFC 3339 timestamp"):
        store.inspections_using("CAL-0042", "yesterday")


def test_last_passing_check_skips_failed_checks_and_other_instruments(
    store: Store, mk: Any
) -> None:
    assert store.last_passing_check("CAL-0042") is None
    store.append("instrument-check", mk.instrument_check())
    ok = store.append("instrument-check", mk.instrument_check())
    store.append("instrument-check", mk.instrument_check("MIC-0099"))
    store.append("instrument-check", mk.instrument_check(verdict="fail"))
    assert store.last_passing_check("CAL-0042") == ok
    assert store.last_passing_check("MIC-0099") is not None
    assert store.last_passing_check("NOPE") is None


def test_last_values_per_characteristic_in_order_with_revision_filter(
    store: Store, mk: Any
) -> None:
    m = mk.measurement
    for i in range(10):
        rev = "B" if i < 5 else "C"
        store.append(
            "inspection",
            mk.inspection(
                m(value=float(i), sample=1),
                m(value=i + 0.5, sample=2),
                m("length", 100.0 + i),
                {
                    "characteristic": "visual",
                    "sample": 1,
                    "kind": "attribute",
                    "verdict": "pass",
                    "ts": "2026-11-21T08:00:00.000Z",
                },
                plan=("P-1001", rev),
            ),
        )
    store.append("inspection", mk.inspection(m(value=99.0), plan=("P-2001", "A")))
    assert store.last_values("P-1001", "bore-dia", n=4) == [8.0, 8.5, 9.0, 9.5]
    assert store.last_values("P-1001", "bore-dia", n=3, rev="B") == [3.5, 4.0, 4.5]
    assert store.last_values("P-1001", "length", n=125) == [100.0 + i for i in range(10)]
    assert store.last_values("P-1001", "visual") == []
    assert store.last_values("P-2001", "bore-dia") == [99.0]
    # The SPC baseline: the first values of one revision, and how many there are.
    assert store.first_values("P-1001", "bore-dia", n=3, rev="C") == [5.0, 5.5, 6.0]
    assert store.count_values("P-1001", "bore-dia", rev="C") == 10
    assert store.count_values("P-1001", "visual", rev="C") == 0


def test_inspections_by_serial_and_recent(store: Store, mk: Any) -> None:
    a = store.append("inspection", mk.inspection(serial="SN-1"))
    store.append("event", mk.event())
    b = store.append("inspection", mk.inspection(serial="SN-2"))
    c = store.append("inspection", mk.inspection(serial="SN-1", result="reject"))
    d = store.append("inspection", mk.inspection(serial=None))
    assert store.inspections_by_serial("SN-1") == [a, c]
    assert store.recent_inspections(3) == [d, c, b]
    assert store.recent_inspections() == [d, c, b, a]
