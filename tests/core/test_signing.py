"""Signing rules at the bench (21 CFR Part 11; issue 16): the session (11.200(a)(1)), the
manifestation (11.50) against the contract's `signature` schema, PIN failures and lockout
(11.300(d)), and the interlock override's eligibility and its approver."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from station.core.model import Characteristic, Instrument, Operator, Qualification
from station.core.signing import (
    SIGN_ACTIONS,
    OverrideDecision,
    OverrideReason,
    PinEvent,
    PinState,
    SigningSession,
    after_pin,
    approver_problems,
    manifestation,
    meaning_of,
    override_eligibility,
    replay_pin_events,
    required_method,
    signed,
    signing_refusal,
    statement,
)

ROOT = Path(__file__).resolve().parents[2]
LOGIN = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
TIMEOUT = 900
BERLIN = ZoneInfo("Europe/Berlin")
ALICE = Operator("op-17", "A. Inspector", "B-1017", (Qualification("DIM-2"),))
BOB = Operator("op-23", "B. Trainee", "B-1023", (Qualification("CAL-1"),))
QA = Operator("op-40", "C. Quality", "B-1040", (Qualification("QA-APPROVER"),))
BOTH: tuple[OverrideReason, ...] = ("overdue-within-grace", "check-missing")


def at(seconds: float) -> datetime:
    return LOGIN + timedelta(seconds=seconds)


# --- the session -------------------------------------------------------------------------


def test_the_first_signing_after_login_needs_badge_and_pin() -> None:
    session = SigningSession("op-17", LOGIN)
    assert required_method(session, at(5), TIMEOUT) == "badge+pin"


def test_later_signings_in_the_session_need_the_pin_alone() -> None:
    session = signed(SigningSession("op-17", LOGIN), at(60))
    assert required_method(session, at(120), TIMEOUT) == "pin"
    session = signed(session, at(120 + TIMEOUT))  # each signing restarts the timeout
    assert required_method(session, at(120 + 2 * TIMEOUT), TIMEOUT) == "pin"


def test_the_timeout_counts_from_the_last_signing_and_is_inclusive() -> None:
    session = signed(SigningSession("op-17", LOGIN), at(60))
    assert required_method(session, at(60 + TIMEOUT), TIMEOUT) == "pin"  # exactly 900 s
    assert required_method(session, at(60 + TIMEOUT + 0.001), TIMEOUT) == "badge+pin"


def test_a_signing_before_this_login_does_not_carry_over() -> None:
    # Logging out ends the session: a new login is a new session even within the timeout.
    session = SigningSession("op-17", at(300), last_signed_at=at(200))
    assert required_method(session, at(310), TIMEOUT) == "badge+pin"


def test_a_last_signing_in_the_future_is_not_trusted() -> None:
    session = SigningSession("op-17", LOGIN, last_signed_at=at(600))
    assert required_method(session, at(100), TIMEOUT) == "badge+pin"  # the clock moved back


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        required_method(SigningSession("op-17", LOGIN), datetime(2026, 12, 2, 8), TIMEOUT)


# --- the manifestation ----------------------------------------------------------------------


def signature_validator() -> jsonschema.Draft202012Validator:
    record = json.loads((ROOT / "station" / "schemas" / "record.schema.json").read_text())
    schema = {"$defs": record["$defs"], "$ref": "#/$defs/signatures"}
    return jsonschema.Draft202012Validator(schema)


def test_the_manifestation_is_valid_against_the_contract_schema() -> None:
    author = manifestation(ALICE, "authorship", at(61.2345), "badge+pin")
    approver = manifestation(QA, meaning_of("override", approver=True), at(90), "badge+pin")
    bodies = [author.body(), approver.body()]
    signature_validator().validate(bodies)
    assert bodies[0] == {
        "operator": "op-17",
        "name": "A. Inspector",
        "meaning": "authorship",
        "ts": "2026-12-02T08:01:01.234Z",
        "method": "badge+pin",
    }
    assert bodies[1]["meaning"] == "approval"


def test_the_schema_refuses_a_manifestation_without_its_parts() -> None:
    body = manifestation(ALICE, "authorship", at(1), "pin").body()
    for key in ("operator", "name", "meaning", "ts", "method"):
        partial = {k: v for k, v in body.items() if k != key}
        assert not signature_validator().is_valid([partial])


def test_an_operator_without_a_printed_name_cannot_sign() -> None:
    with pytest.raises(ValueError, match="no printed name"):
        manifestation(Operator("op-9", " ", "B-9"), "authorship", at(1), "pin")


def test_the_statement_shown_when_signing_names_the_meaning() -> None:
    assert statement("calibration", "authorship") == "I sign this calibration as its author"
    assert statement("override", "approval") == (
        "I sign this override of the instrument interlock as its approver"
    )
    for action in SIGN_ACTIONS:
        assert statement(action, meaning_of(action)).startswith("I sign this ")


def test_only_an_override_has_an_approver() -> None:
    with pytest.raises(ValueError, match="only an override has an approver"):
        meaning_of("calibration", approver=True)


# --- PIN failures and lockout ---------------------------------------------------------------


def test_the_operator_is_locked_at_max_pin_failures() -> None:
    state = PinState()
    for expected in (PinState(1), PinState(2), PinState(3, locked=True)):
        state = after_pin(state, "failure", 3)
        assert state == expected
    assert signing_refusal("$scrypt$...", state, ALICE) == (
        "operator op-17 (A. Inspector) is locked at this station after 3 wrong PINs, "
        "until the QMS publishes the operator again"
    )


def test_failures_are_consecutive_a_right_pin_resets_the_count() -> None:
    state = replay_pin_events(["failure", "failure", "success", "failure", "failure"], 3)
    assert state == PinState(2)


def test_a_lock_holds_until_the_qms_publishes_the_operator_again() -> None:
    locked = replay_pin_events(["failure"] * 3, 3)
    assert after_pin(locked, "success", 3).locked
    assert after_pin(locked, "failure", 3) == locked
    events: list[PinEvent] = ["failure", "failure", "failure", "unlock"]
    assert replay_pin_events(events, 3) == PinState()


def test_the_lockout_is_rebuilt_from_the_stored_events_after_a_restart() -> None:
    stored: list[PinEvent] = ["failure", "success", "failure", "failure", "failure", "failure"]
    assert replay_pin_events(stored, 3) == PinState(3, locked=True)
    assert replay_pin_events(stored, 5) == PinState(4)


def test_an_operator_without_a_pin_or_inactive_cannot_sign() -> None:
    assert signing_refusal(None, PinState(), ALICE) == (
        "operator op-17 (A. Inspector) has no signing PIN in the master data"
    )
    gone = Operator("op-5", "D. Left", "B-5", active=False)
    assert (
        signing_refusal("$scrypt$...", PinState(), gone) == "operator op-5 (D. Left) is not active"
    )
    assert signing_refusal("$scrypt$...", PinState(2), ALICE) is None


# --- the override ---------------------------------------------------------------------------

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def caliper(**changes: object) -> Instrument:
    base: dict[str, object] = {
        "id": "CAL-0007",
        "type": "caliper",
        "status": "active",
        "cal_due": date(2026, 11, 30),  # 2 days overdue on 2026-12-02
        "unit": "mm",
        "resolution": 0.01,
    }
    base.update(changes)
    return Instrument(**base)  # type: ignore[arg-type]


def eligibility(instrument: Instrument, **kwargs: object) -> OverrideDecision:
    args: dict[str, object] = {"allowed_reasons": BOTH, "grace_days": 7}
    args.update(kwargs)
    return override_eligibility(instrument, now=NOW, zone=BERLIN, **args)  # type: ignore[arg-type]


def test_overdue_within_the_grace_may_be_overridden() -> None:
    assert eligibility(caliper()) == OverrideDecision(True, ("overdue-within-grace",))
    assert eligibility(caliper(), grace_days=2).allowed  # the last day of grace


def test_overdue_beyond_the_grace_may_not() -> None:
    d = eligibility(caliper(), grace_days=1)
    assert d == OverrideDecision(
        False, (), ("instrument CAL-0007 is 2 days overdue, beyond the 1-day grace",)
    )


def test_a_missing_or_expired_check_may_be_overridden() -> None:
    checked = caliper(cal_due=date(2027, 6, 30), check_interval_h=24)
    assert eligibility(checked) == OverrideDecision(True, ("check-missing",))
    old = NOW - timedelta(hours=25)
    assert eligibility(checked, last_passing_check_at=old).overridden == ("check-missing",)
    fresh = NOW - timedelta(hours=1)
    assert eligibility(checked, last_passing_check_at=fresh).refusals == (
        "instrument CAL-0007 is fit for use: there is nothing to override",
    )


def test_both_reasons_at_once_are_both_named() -> None:
    d = eligibility(caliper(check_interval_h=24))
    assert d.allowed and d.overridden == ("overdue-within-grace", "check-missing")


@pytest.mark.parametrize("status", ["quarantined", "retired"])
def test_quarantined_or_retired_is_never_overridden(status: str) -> None:
    d = eligibility(caliper(status=status), grace_days=365)
    assert not d.allowed and d.overridden == ()
    assert f"instrument CAL-0007 is {status}: never overridden" in d.refusals


def test_a_local_quarantine_is_never_overridden() -> None:
    d = eligibility(caliper(), local_quarantine_reason="check failed: bias 0.05 mm > MPE")
    assert not d.allowed
    assert d.refusals == ("instrument CAL-0007 is quarantined at this station: never overridden",)


def test_only_the_reasons_the_plant_allows() -> None:
    d = eligibility(caliper(check_interval_h=24), allowed_reasons=("check-missing",))
    assert not d.allowed
    assert d.refusals == ("instrument CAL-0007 is overdue: the plant allows no override for it",)


def test_a_check_dated_in_the_future_is_not_overridden() -> None:
    checked = caliper(cal_due=date(2027, 6, 30), check_interval_h=24)
    d = eligibility(checked, last_passing_check_at=NOW + timedelta(hours=2))
    assert d.refusals == ("the check of CAL-0007 is dated in the future: check the clock",)


def test_a_wrong_instrument_for_the_characteristic_is_never_overridden() -> None:
    bore = Characteristic("bore", "variable", unit="mm", instrument_type="micrometer")
    d = eligibility(caliper(), characteristic=bore)
    assert not d.allowed
    assert len(d.refusals) == 1 and "micrometer" in d.refusals[0]


def test_the_grace_is_counted_in_site_calendar_days() -> None:
    # 2026-12-01 23:30 UTC is already 2026-12-02 in Berlin: 2 days overdue there.
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    d = override_eligibility(caliper(), now=late, zone=BERLIN, allowed_reasons=BOTH, grace_days=1)
    assert not d.allowed
    utc = override_eligibility(caliper(), now=late, zone=UTC, allowed_reasons=BOTH, grace_days=1)
    assert utc.allowed


def test_the_approver_is_another_person_with_the_qualification() -> None:
    kw = {"qualification": "QA-APPROVER", "now": NOW, "zone": BERLIN}
    assert approver_problems(ALICE, QA, **kw) == ()  # type: ignore[arg-type]
    assert approver_problems(QA, QA, **kw) == (  # type: ignore[arg-type]
        "the approver must be another person than op-40 (C. Quality)",
    )
    assert approver_problems(ALICE, BOB, **kw) == (  # type: ignore[arg-type]
        "operator op-23 does not hold QA-APPROVER (approver)",
    )


def test_an_expired_or_inactive_approver_may_not_approve() -> None:
    expired = Operator(
        "op-41", "E. Former", "B-1041", (Qualification("QA-APPROVER", date(2026, 12, 1)),)
    )
    assert approver_problems(ALICE, expired, qualification="QA-APPROVER", now=NOW, zone=BERLIN) == (
        "operator op-41's qualification QA-APPROVER expired on 2026-12-01",
    )
    last_day = Operator(
        "op-42", "F. Today", "B-1042", (Qualification("QA-APPROVER", date(2026, 12, 2)),)
    )
    assert (
        approver_problems(ALICE, last_day, qualification="QA-APPROVER", now=NOW, zone=BERLIN) == ()
    )
    inactive = Operator("op-43", "G. Away", "B-1043", QA.qualifications, active=False)
    assert approver_problems(
        ALICE, inactive, qualification="QA-APPROVER", now=NOW, zone=BERLIN
    ) == ("operator op-43 (G. Away) is not active",)
