"""Operator gate: active, and every required qualification held and unexpired."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

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
    assert assess_operator(ANN, PLAN, at(2026, 5, 1)).allowed


@pytest.mark.parametrize(
    ("now", "allowed"),
    [
        (at(2026, 6, 30, 0), True),
        (datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC), True),  # valid through the date
        (at(2026, 7, 1, 0), False),
    ],
)
def test_expiry_is_inclusive(now: datetime, allowed: bool) -> None:
    assert assess_operator(ANN, PLAN, now).allowed is allowed


def test_expired_message_names_code_and_date() -> None:
    g = assess_operator(ANN, PLAN, at(2026, 7, 1))
    assert g.reasons == ("qualification DIM-2 expired on 2026-06-30",)


def test_dates_are_compared_in_utc() -> None:
    # 08:00 in Tokyo on July 1st is still June 30th in UTC.
    tokyo = datetime(2026, 7, 1, 8, tzinfo=timezone(timedelta(hours=9)))
    assert assess_operator(ANN, PLAN, tokyo).allowed


def test_every_gap_is_named() -> None:
    bob = Operator("op-9", "Bob", "B9", (Qualification("DIM-2", date(2026, 1, 31)),), active=False)
    g = assess_operator(bob, PLAN, at(2026, 5, 1))
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
    assert assess_operator(renewed, PLAN, at(2026, 5, 1)).allowed


def test_qualification_expiring_soon_warns() -> None:
    g = assess_operator(ANN, PLAN, at(2026, 6, 20))
    assert g.allowed
    assert g.warnings == ("qualification DIM-2 expires on 2026-06-30 (in 10 days)",)


def test_plan_without_requirements_only_needs_an_active_operator() -> None:
    open_plan = Plan("P-2", "A", "released", ("PN-1",), PLAN.characteristics)
    assert assess_operator(Operator("op-1", "D", "B1"), open_plan, at(2026, 5, 1)).allowed


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        assess_operator(ANN, PLAN, datetime(2026, 5, 1))
