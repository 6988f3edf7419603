"""Operator gate: active, and every required qualification held and unexpired."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from station.core.gate import assess_operator
from station.core.model import Characteristic, Operator, Plan, Qualification

PLAN = Plan(
    id="P-1001", rev="C", status="released", part_numbers=("PN-778",),
    characteristics=(Characteristic("burr-free", "attribute"),), qualifications=("DIM-1", "DIM-2"),
)  # fmt: skip
ANN = Operator(
    "op-17", "Ann Smith", "B17",
    (Qualification("DIM-1"), Qualification("DIM-2", date(2026, 6, 30))),
)  # fmt: skip


def at(y: int, m: int, d: int, h: int = 12) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


def test_qualified_operator_is_allowed() -> None:
    assert assess_operator(ANN, PLAN, at(2026, 5, 1), zone=UTC).allowed


@pytest.mark.parametrize(
    ("now", "allowed"),
    [
        (at(2026, 6, 30, 0), True),
        (datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC), True),  # valid through the date
        (at(2026, 7, 1, 0), False),
    ],
)
def test_expiry_is_inclusive(now: datetime, allowed: bool) -> None:
    assert assess_operator(ANN, PLAN, now, zone=UTC).allowed is allowed


def test_expired_message_names_code_and_date() -> None:
    g = assess_operator(ANN, PLAN, at(2026, 7, 1), zone=UTC)
    assert g.reasons == ("qualification DIM-2 expired on 2026-06-30",)


def test_expiry_is_judged_on_the_site_calendar() -> None:
    # 08:00 in Tokyo on July 1st is June 30th in UTC, but the Tokyo plant's calendar says
    # July 1st: DIM-2 (valid through June 30th) has expired there.
    tokyo = ZoneInfo("Asia/Tokyo")
    now = datetime(2026, 7, 1, 8, tzinfo=tokyo)
    assert not assess_operator(ANN, PLAN, now, zone=tokyo).allowed
    assert assess_operator(ANN, PLAN, now, zone=UTC).allowed


def test_expiry_in_a_plant_west_of_utc_lasts_until_local_midnight() -> None:
    # 23:30 on June 30th in Chicago (UTC-5 in summer) is 04:30 on July 1st in UTC.
    chicago = ZoneInfo("America/Chicago")
    now = datetime(2026, 6, 30, 23, 30, tzinfo=chicago)
    assert assess_operator(ANN, PLAN, now, zone=chicago).allowed
    g = assess_operator(ANN, PLAN, now + timedelta(hours=1), zone=chicago)
    assert g.reasons == ("qualification DIM-2 expired on 2026-06-30",)


def test_the_zone_must_be_given() -> None:
    with pytest.raises(TypeError, match="zone"):
        assess_operator(ANN, PLAN, at(2026, 5, 1))  # type: ignore[call-arg]


def test_every_gap_is_named() -> None:
    bob = Operator("op-9", "Bob", "B9", (Qualification("DIM-2", date(2026, 1, 31)),), active=False)
    g = assess_operator(bob, PLAN, at(2026, 5, 1), zone=UTC)
    assert not g.allowed
    assert g.reasons == (
        "operator op-9 (Bob) is not active",
        "qualification DIM-1 missing (required by plan P-1001 rev C)",
        "qualification DIM-2 expired on 2026-01-31",
    )


def test_a_renewed_entry_wins_over_an_expired_one() -> None:
    renewed = Operator(
        "op-3", "Cy", "B3",
        (Qualification("DIM-1"), Qualification("DIM-2", date(2025, 1, 1)),
         Qualification("DIM-2", date(2027, 1, 1))),
    )  # fmt: skip
    assert assess_operator(renewed, PLAN, at(2026, 5, 1), zone=UTC).allowed


def test_qualification_expiring_soon_warns() -> None:
    g = assess_operator(ANN, PLAN, at(2026, 6, 20), zone=UTC)
    assert g.allowed
    assert g.warnings == ("qualification DIM-2 expires on 2026-06-30 (in 10 days)",)


def test_plan_without_requirements_only_needs_an_active_operator() -> None:
    open_plan = Plan("P-2", "A", "released", ("PN-1",), PLAN.characteristics)
    assert assess_operator(Operator("op-1", "D", "B1"), open_plan, at(2026, 5, 1), zone=UTC).allowed


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        assess_operator(ANN, PLAN, datetime(2026, 5, 1), zone=UTC)
