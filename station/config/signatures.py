"""`[signatures]` (contract 1.1) and `[interlock]` (extension): what must be signed at the
bench (21 CFR Part 11) and whether the instrument interlock has a signed override.

Both tables are optional: without them nothing is signed and the interlock has no door, the
behaviour before contract 1.1. Problems are collected like every other table's.
"""

from __future__ import annotations

from station.config.table import Table, one_of
from station.core.signing import OVERRIDE_REASONS, SIGN_ACTIONS, OverrideReason, SignAction
from station.settings import InterlockSettings, SignatureSettings

SIGNATURES_KEYS = ("required", "session_timeout_s", "max_pin_failures")
INTERLOCK_KEYS = (
    "allow_override",
    "override_grace_days",
    "override_reasons",
    "approver_qualification",
)
MAX_SESSION_TIMEOUT_S = 86_400  # a signing session longer than a day is no session
MAX_PIN_FAILURES = 100  # NIST SP 800-63B §5.2.2: at most 100 consecutive failed attempts
MAX_GRACE_DAYS = 365


def _names(t: Table, key: str, choices: tuple[str, ...], *, required: bool) -> list[str] | None:
    """A list of distinct names from `choices`; None when absent or wrong (problems noted)."""
    if key not in t.data:
        if required:
            t.problem(key, "required key is missing")
        return None
    value = t.data[key]
    if not isinstance(value, list):
        t.problem(key, "must be a list of strings", value)
        return None
    ok, seen = True, set[str]()
    for i, item in enumerate(value):
        if not isinstance(item, str) or item not in choices:
            t.problem(f"{key}[{i}]", one_of(choices), item)
            ok = False
        elif item in seen:
            t.problem(f"{key}[{i}]", "listed twice", item)
            ok = False
        else:
            seen.add(item)
    return list(value) if ok else None


def parse_signatures(t: Table) -> SignatureSettings:
    """`[signatures]`: `required` (which actions), `session_timeout_s`, `max_pin_failures`."""
    d = SignatureSettings()
    required = _names(t, "required", SIGN_ACTIONS, required=True)
    timeout = t.integer("session_timeout_s", 1, MAX_SESSION_TIMEOUT_S)
    failures = t.integer("max_pin_failures", 1, MAX_PIN_FAILURES)
    t.leftovers(SIGNATURES_KEYS)
    actions: list[SignAction] = [a for a in SIGN_ACTIONS if a in (required or ())]
    return SignatureSettings(
        required=tuple(actions),
        session_timeout_s=d.session_timeout_s if timeout is None else timeout,
        max_pin_failures=d.max_pin_failures if failures is None else failures,
    )


def parse_interlock(t: Table, override_signed: bool | None) -> InterlockSettings:
    """`[interlock]`. With `allow_override = true` an approver qualification is required, and
    `[signatures] required` must list "override": the override is a signed act.
    `override_signed` is None when `[signatures] required` is itself wrong (already reported)."""
    d = InterlockSettings()
    allow = t.boolean("allow_override")
    grace = t.integer("override_grace_days", 0, MAX_GRACE_DAYS)
    reasons = _names(t, "override_reasons", OVERRIDE_REASONS, required=False)
    approver = t.string("approver_qualification")
    if allow:
        if "approver_qualification" not in t.data:
            t.problem(
                "approver_qualification",
                "required with interlock.allow_override = true (who may approve)",
            )
        if override_signed is False:
            t.problem(
                "allow_override",
                'needs "override" in signatures.required (the approver signs the override)',
                True,
            )
    t.leftovers(INTERLOCK_KEYS)
    chosen: list[OverrideReason] = [r for r in OVERRIDE_REASONS if r in (reasons or ())]
    return InterlockSettings(
        allow_override=bool(allow),
        override_grace_days=d.override_grace_days if grace is None else grace,
        override_reasons=d.override_reasons if reasons is None else tuple(chosen),
        approver_qualification=approver,
    )


__all__ = [
    "INTERLOCK_KEYS",
    "MAX_GRACE_DAYS",
    "MAX_PIN_FAILURES",
    "MAX_SESSION_TIMEOUT_S",
    "SIGNATURES_KEYS",
    "parse_interlock",
    "parse_signatures",
]
