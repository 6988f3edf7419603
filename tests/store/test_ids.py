"""UUIDv7 ids (RFC 9562 §5.7, §6.2 Method 1), timestamps and canonical JSON."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from station.core.timefmt import format_ts
from station.store.ids import UUIDv7Generator, canonical, unix_ms

T0 = 1_795_000_000_000  # a millisecond in 2026


def fields(text: str) -> tuple[int, int, int, int]:
    """(unix_ts_ms, version, counter, variant) of a UUIDv7 string."""
    value = uuid.UUID(text).int
    return value >> 80, (value >> 76) & 0xF, (value >> 64) & 0xFFF, (value >> 62) & 0b11


def test_layout_carries_the_millisecond_version_7_and_the_rfc_variant() -> None:
    text = UUIDv7Generator().new(T0)
    ms, version, _, variant = fields(text)
    assert (ms, version, variant) == (T0, 7, 0b10)
    assert uuid.UUID(text).version == 7
    assert text == text.lower() and len(text) == 36


def test_ids_within_one_millisecond_are_unique_and_strictly_increasing() -> None:
    gen = UUIDv7Generator()
    ids = [gen.new(T0) for _ in range(3000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    # The counter starts with its top bit clear, so 2048+ increments fit in the millisecond.
    assert fields(ids[0])[2] < 0x800
    assert all(fields(i)[0] in (T0, T0 + 1) for i in ids)


def test_counter_rollover_moves_to_the_next_millisecond_and_stays_ordered() -> None:
    gen = UUIDv7Generator()
    ids = [gen.new(T0) for _ in range(10_000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert fields(ids[-1])[0] > T0


def test_small_clock_step_back_keeps_order_and_a_large_one_restarts_on_the_new_time() -> None:
    gen = UUIDv7Generator()
    a = gen.new(T0)
    b = gen.new(T0 - 2_000)  # NTP slew back 2 s: keep monotonic
    assert b > a and fields(b)[0] == T0
    c = gen.new(T0 - 3_600_000)  # an hour back (RTC-less boot fixed by NTP): follow the clock
    assert fields(c)[0] == T0 - 3_600_000


def test_out_of_range_time_is_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        UUIDv7Generator().new(-1)


def test_the_id_millisecond_is_the_ts_millisecond_whatever_the_zone() -> None:
    cet = timezone(timedelta(hours=1))
    moment = datetime(2026, 11, 21, 23, 4, 9, 520_999, tzinfo=cet)
    assert format_ts(moment) == "2026-11-21T22:04:09.520Z"
    assert unix_ms(moment) == unix_ms(datetime(2026, 11, 21, 22, 4, 9, 520_000, tzinfo=UTC))
    assert unix_ms(moment) == 1_795_298_649_520


def test_naive_clock_readings_are_refused() -> None:
    with pytest.raises(ValueError, match="clock reading must be timezone-aware"):
        unix_ms(datetime(2026, 11, 21, 8, 0))


def test_canonical_json_matches_the_contract_definition() -> None:
    obj = {"b": [1, 2.5, "ü€"], "a": {"z": None, "y": True}}
    assert canonical(obj) == '{"a":{"y":true,"z":null},"b":[1,2.5,"ü€"]}'
    with pytest.raises(ValueError):
        canonical({"x": float("nan")})
