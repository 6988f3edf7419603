"""Contract timestamps: UTC, milliseconds, Z; naive datetimes refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station.core.timefmt import format_date, format_ts, parse_date, parse_ts, site_date


def test_format_is_utc_with_milliseconds_and_z() -> None:
    dt = datetime(2026, 11, 21, 22, 4, 9, 512345, tzinfo=UTC)
    assert format_ts(dt) == "2026-11-21T22:04:09.512Z"


def test_other_offsets_are_converted_to_utc() -> None:
    cet = timezone(timedelta(hours=1))
    assert format_ts(datetime(2026, 11, 21, 23, 4, 9, tzinfo=cet)) == "2026-11-21T22:04:09.000Z"


def test_sub_milliseconds_are_truncated_never_rolled_into_the_next_day() -> None:
    dt = datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert format_ts(dt) == "2026-12-31T23:59:59.999Z"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(
        ValueError, match=r"timestamp must be timezone-aware \(UTC\), got the naive"
    ):
        format_ts(datetime(2026, 11, 21, 22, 4, 9))
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        site_date(datetime(2026, 11, 21), UTC)


def test_parse_round_trips() -> None:
    assert parse_ts("2026-11-21T22:04:09.512Z") == datetime(
        2026, 11, 21, 22, 4, 9, 512000, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-21T22:04:09Z",
        "2026-11-21T22:04:09.512+00:00",
        "2026-11-21 22:04:09.512Z",
        "",
        "2026-11-21T22:04:09.512Z\n",  # `$` would accept a final newline
        "\u0662\u0660\u0662\u0666-11-21T22:04:09.512Z",  # Arabic-Indic digits: `\d` takes them
    ],
)
def test_parse_rejects_other_forms_with_the_expected_one(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected e\.g\. 2026-11-21T22:04:09\.512Z"):
        parse_ts(text)


def test_parse_rejects_impossible_instants() -> None:
    with pytest.raises(ValueError, match=r"'2026-02-30T00:00:00.000Z' is not a valid instant"):
        parse_ts("2026-02-30T00:00:00.000Z")


def test_site_date_uses_the_site_calendar() -> None:
    instant = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert site_date(instant, UTC) == date(2026, 6, 30)
    assert site_date(instant, ZoneInfo("Europe/Berlin")) == date(2026, 7, 1)
    assert site_date(instant, timezone(timedelta(hours=-5))) == date(2026, 6, 30)
    # the zone of `dt` itself does not matter, only the instant and the site's zone
    tokyo = datetime(2026, 7, 1, 8, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert site_date(tokyo, UTC) == date(2026, 6, 30)


def test_dates() -> None:
    assert format_date(date(2027, 3, 1)) == "2027-03-01"
    assert parse_date("2027-03-01") == date(2027, 3, 1)
    with pytest.raises(ValueError, match=r"date '2027-3-1' is not YYYY-MM-DD"):
        parse_date("2027-3-1")
    with pytest.raises(ValueError, match=r"date '2027-03-01\\n' is not YYYY-MM-DD"):
        parse_date("2027-03-01\n")


@given(st.datetimes(timezones=st.just(UTC)))
def test_format_then_parse_is_the_instant_to_the_millisecond(dt: datetime) -> None:
    back = parse_ts(format_ts(dt))
    assert back == dt.replace(microsecond=dt.microsecond // 1000 * 1000)
