"""Electronic signatures at the bench: who must present what, and what a signature records.

21 CFR Part 11, the clauses these rules implement:

- 11.200(a)(1): a signature is two components, the badge (identification) and the PIN (the
  secret). (i) The first signing of a continuous session uses both; later signings in the
  same session at least the PIN. The session starts at login and ends at logout; a signing
  more than `session_timeout_s` after the previous one starts over (badge and PIN), because
  the bench may have been left unattended. Logging in is not a signing: the first signing
  after login needs the badge again.
- 11.50: the manifestation names the signer (id and printed name), the time and the meaning
  (authorship, review, approval, responsibility); 11.70 binds it to its record (the bench puts
  it in the body, inside the hashed envelope).
- 11.300(d): failed attempts are detected; at `max_pin_failures` consecutive failures the
  operator is locked at this station until the QMS publishes the operator again (a new
  master document is the QMS's deliberate act).
- 11.10(g) (authority checks), for the interlock's override: a second, different person who
  holds the approver qualification signs as approver. Only an instrument refused because it
  is overdue within the plant's grace or lacks a valid daily check may be overridden; a
  quarantined or retired instrument never (ISO 9001 7.1.5.2: equipment found unfit shall not
  be used), nor one refused for its characteristic (type, unit, resolution, uncertainty).

Time rules, stated because an off-by-one is an audit finding: a session is still continuous
at exactly `session_timeout_s` after the last signing; a last signing dated after `now` (the
clock moved back) or before the login is not trusted: badge and PIN again. Overdue by d
calendar days (site zone) may be overridden when 1 <= d <= grace_days.

Pure: frozen dataclasses, `now` passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import Literal, get_args

from station.core.fitness import assess_instrument
from station.core.model import Characteristic, Instrument, Operator
from station.core.timefmt import format_ts, require_aware, site_date

SignAction = Literal["calibration", "study", "override", "nonconformance", "redo", "spc-ack"]
SIGN_ACTIONS: tuple[SignAction, ...] = get_args(SignAction)
Method = Literal["badge+pin", "pin"]
Meaning = Literal["authorship", "review", "approval", "responsibility"]
OverrideReason = Literal["overdue-within-grace", "check-missing"]
OVERRIDE_REASONS: tuple[OverrideReason, ...] = get_args(OverrideReason)
PinEvent = Literal["failure", "success", "unlock"]

# What the signer's act is, in the words shown when signing (11.50(a)(3)): "I sign this
# calibration as its author".
_NOUN: dict[SignAction, str] = {
    "calibration": "calibration",
    "study": "gauge study",
    "override": "override of the instrument interlock",
    "nonconformance": "nonconformance report",
    "redo": "replacement of a reading",
    "spc-ack": "assignable cause of the SPC signal",
}
# Why a reading was taken again (`[signatures] required` lists "redo": the replacement is
# signed with one of these). A closed list, so the QMS can count them; the free text beside
# it says the rest.
REDO_REASONS: tuple[str, ...] = (
    "misread",  # the value shown or sent was not the one measured
    "not-seated",  # the gauge or the part was not seated / positioned
    "wrong-sample",  # taken on the wrong part, feature or sample
    "dirty",  # dirt, burr or coolant on the part or the gauge faces
    "other",
)
_ROLE: dict[Meaning, str] = {
    "authorship": "its author",
    "review": "its reviewer",
    "approval": "its approver",
    "responsibility": "the person responsible",
}


# --- the session (11.200(a)(1)) ----------------------------------------------------------


@dataclass(frozen=True)
class SigningSession:
    """The logged-in operator's signing session: from login to logout."""

    operator: str
    logged_in_at: datetime
    last_signed_at: datetime | None = None


def required_method(session: SigningSession, now: datetime, session_timeout_s: float) -> Method:
    """What the next signing of the session's operator needs (module docstring: the rules).

    Raises:
        ValueError: a timestamp is naive.
    """
    now = require_aware(now, "now")
    login = require_aware(session.logged_in_at, "logged_in_at")
    last = session.last_signed_at
    if last is None:
        return "badge+pin"
    last = require_aware(last, "last_signed_at")
    if last < login or last > now:
        return "badge+pin"
    if now - last > timedelta(seconds=session_timeout_s):
        return "badge+pin"
    return "pin"


def signed(session: SigningSession, at: datetime) -> SigningSession:
    """The session after a successful signing at `at` (the timeout counts from here)."""
    return replace(session, last_signed_at=require_aware(at, "at"))


# --- the manifestation (11.50, 11.70) ----------------------------------------------------


def meaning_of(action: SignAction, *, approver: bool = False) -> Meaning:
    """The meaning of a signature on `action`: the approver of an override approves, every
    other signer is the author of what they sign."""
    if approver:
        if action != "override":
            raise ValueError(f"only an override has an approver, not {action!r}")
        return "approval"
    return "authorship"


def statement(action: SignAction, meaning: Meaning) -> str:
    """The sentence shown when signing, e.g. "I sign this calibration as its author"."""
    return f"I sign this {_NOUN[action]} as {_ROLE[meaning]}"


@dataclass(frozen=True)
class Signature:
    """One signature manifestation (contract `record.schema.json`, `$defs/signature`)."""

    operator: str
    name: str
    meaning: Meaning
    ts: datetime
    method: Method

    def body(self) -> dict[str, object]:
        """The JSON object that goes into the record body's `signatures`."""
        return {
            "operator": self.operator,
            "name": self.name,
            "meaning": self.meaning,
            "ts": format_ts(self.ts),
            "method": self.method,
        }


def manifestation(operator: Operator, meaning: Meaning, at: datetime, method: Method) -> Signature:
    """The signature of `operator` at `at`. The printed name is the QMS's `name`; an empty one
    cannot make a manifestation (11.50(a)(1): the printed name of the signer).

    Raises:
        ValueError: the operator has no printed name, or `at` is naive.
    """
    if not operator.name.strip():
        raise ValueError(f"operator {operator.id} has no printed name to sign with")
    return Signature(operator.id, operator.name, meaning, require_aware(at, "at"), method)


# --- PIN failures (11.300(d)) ------------------------------------------------------------


@dataclass(frozen=True)
class PinState:
    """One operator's consecutive PIN failures at this station, and whether they are locked."""

    failures: int = 0
    locked: bool = False


def after_pin(state: PinState, event: PinEvent, max_pin_failures: int) -> PinState:
    """The state after one event: a wrong PIN, a right one, or the QMS publishing the
    operator again (`unlock`). A right PIN resets the count (failures are consecutive, NIST
    SP 800-63B §5.2.2) but does not unlock: a locked operator's attempts are refused before
    the PIN is checked, so `success` never reaches a locked state from the bench."""
    if event == "unlock":
        return PinState()
    if state.locked:
        return state
    if event == "success":
        return PinState()
    failures = state.failures + 1
    return PinState(failures, failures >= max_pin_failures)


def replay_pin_events(events: Iterable[PinEvent], max_pin_failures: int) -> PinState:
    """Rebuild the state from the stored events, oldest first: a lockout survives a restart
    because it is re-derived from the append-only record, not kept in memory."""
    state = PinState()
    for event in events:
        state = after_pin(state, event, max_pin_failures)
    return state


def signing_refusal(pin: str | None, state: PinState, operator: Operator) -> str | None:
    """Why `operator` cannot sign at all right now, or None."""
    if not operator.active:
        return f"operator {operator.id} ({operator.name}) is not active"
    if pin is None:
        return f"operator {operator.id} ({operator.name}) has no signing PIN in the master data"
    if state.locked:
        return (
            f"operator {operator.id} ({operator.name}) is locked at this station after "
            f"{state.failures} wrong PINs, until the QMS publishes the operator again"
        )
    return None


# --- the interlock's override ------------------------------------------------------------


@dataclass(frozen=True)
class OverrideDecision:
    """Whether the refused instrument may be used for the current part after a signed override.

    Attributes:
        allowed: True when every refusal is one the plant allows to override.
        overridden: the reasons being overridden (what the `override` event names).
        refusals: why no override is possible (empty when allowed).
    """

    allowed: bool
    overridden: tuple[OverrideReason, ...] = ()
    refusals: tuple[str, ...] = ()


def override_eligibility(
    instrument: Instrument,
    *,
    now: datetime,
    zone: tzinfo,
    allowed_reasons: Sequence[OverrideReason],
    grace_days: int,
    characteristic: Characteristic | None = None,
    local_quarantine_reason: str | None = None,
    last_passing_check_at: datetime | None = None,
) -> OverrideDecision:
    """May `instrument`, refused by `fitness.assess_instrument`, be used after an override?

    The caller passes `[interlock]`'s settings; `allow_override = false` means the bench never
    asks. Raises ValueError for a naive timestamp.
    """
    now = require_aware(now, "now")
    iid = instrument.id
    refusals: list[str] = []
    overridden: list[OverrideReason] = []
    if instrument.status in ("retired", "quarantined"):
        refusals.append(f"instrument {iid} is {instrument.status}: never overridden")
    if local_quarantine_reason is not None:
        refusals.append(f"instrument {iid} is quarantined at this station: never overridden")
    days = (site_date(now, zone) - instrument.cal_due).days
    if days > 0:
        if "overdue-within-grace" not in allowed_reasons:
            refusals.append(f"instrument {iid} is overdue: the plant allows no override for it")
        elif days > grace_days:
            refusals.append(
                f"instrument {iid} is {days} days overdue, beyond the {grace_days}-day grace"
            )
        else:
            overridden.append("overdue-within-grace")
    if instrument.check_interval_h is not None:
        last = last_passing_check_at
        if last is not None and require_aware(last, "last_passing_check_at") > now:
            refusals.append(f"the check of {iid} is dated in the future: check the clock")
        elif last is None or last + timedelta(hours=instrument.check_interval_h) < now:
            if "check-missing" in allowed_reasons:
                overridden.append("check-missing")
            else:
                refusals.append(
                    f"instrument {iid} lacks a valid check: the plant allows no override for it"
                )
    if characteristic is not None:
        # What fitness finds for the characteristic alone (type, unit, U, resolution): a
        # wrong instrument for the job, which no signature makes right.
        last = last_passing_check_at
        base = assess_instrument(instrument, now=now, zone=zone, last_passing_check_at=last)
        full = assess_instrument(
            instrument,
            now=now,
            zone=zone,
            characteristic=characteristic,
            last_passing_check_at=last,
        )
        refusals += [r for r in full.reasons if r not in set(base.reasons)]
    if not refusals and not overridden:
        refusals.append(f"instrument {iid} is fit for use: there is nothing to override")
    allowed = not refusals
    return OverrideDecision(allowed, tuple(overridden) if allowed else (), tuple(refusals))


def approver_problems(
    author: Operator,
    approver: Operator,
    *,
    qualification: str,
    now: datetime,
    zone: tzinfo,
) -> tuple[str, ...]:
    """Every reason `approver` may not approve `author`'s override (empty: may approve).

    The approver is a different person (11.10(g), 11.300(a): one person's signature is not
    two) holding `[interlock] approver_qualification`, valid on the site's date.
    """
    today = site_date(now, zone)
    problems: list[str] = []
    if approver.id == author.id or approver.badge == author.badge:
        problems.append(f"the approver must be another person than {author.id} ({author.name})")
    if not approver.active:
        problems.append(f"operator {approver.id} ({approver.name}) is not active")
    held = [q for q in approver.qualifications if q.code == qualification]
    if not held:
        problems.append(f"operator {approver.id} does not hold {qualification} (approver)")
    elif all(q.expires is not None and q.expires < today for q in held):
        last = max(q.expires for q in held if q.expires is not None)
        problems.append(
            f"operator {approver.id}'s qualification {qualification} expired on {last.isoformat()}"
        )
    return tuple(problems)


__all__ = [
    "OVERRIDE_REASONS",
    "REDO_REASONS",
    "SIGN_ACTIONS",
    "Meaning",
    "Method",
    "OverrideDecision",
    "OverrideReason",
    "PinEvent",
    "PinState",
    "SignAction",
    "Signature",
    "SigningSession",
    "after_pin",
    "approver_problems",
    "manifestation",
    "meaning_of",
    "override_eligibility",
    "replay_pin_events",
    "required_method",
    "signed",
    "signing_refusal",
    "statement",
]
