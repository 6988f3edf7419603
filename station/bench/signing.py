"""Signing at the bench: the session, the pending request, the badge step and the PIN.

21 CFR Part 11 at the bench (the rules themselves are pure, in `station.core.signing`):

- 11.200(a)(1): the signing session runs from login to logout (`BenchState.signing`; a
  logout replaces the state, so it ends the session whatever path logs out). The first
  signing, or one after `session_timeout_s` without a signing, needs the badge scanned
  again and the PIN (`badge+pin`); a later one the PIN alone (`pin`). An approver never has a
  session here: always badge and PIN.
- 11.50 / 11.70: what is signed gets the manifestation (id, printed name, meaning, time,
  method) in its own body, so it is inside the hashed envelope; the statement shown before
  signing is "I sign this calibration as its author" (`SignRequest.statement`).
- 11.300(d): every wrong PIN is a `pin-failed` event (never the PIN); at `max_pin_failures`
  an `operator-locked` event, the request is cancelled and a locked author is logged out;
  the lock is re-derived from the store (`station.bench.pinledger`), so it survives a restart
  and refuses the operator's login until the QMS publishes the operator again.

A step that needs a signature calls `request` with what to do once signed (`on_signed`,
called with the signatures' bodies); while a request is pending the bench takes no other scan
or reading (`busy`). Without `[signatures]` nothing asks for a signature.

Threads: scrypt costs ~110-125 ms at the shipped cost (`station.core.pin`). `submit_pin`
verifies on the calling thread (tests, scripts: the workflow call blocks that long); the UI
keeps its thread free by splitting it: `pin_target` (UI thread), `check_pin` (a worker thread:
pure, no store), `pin_result` (UI thread, where the store is used). A result is applied only
to the request and verifier it was computed for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from station.bench.notice import Notice, error, info, warn
from station.bench.pinledger import OPERATOR_LOCKED, PIN_ACCEPTED, PIN_FAILED
from station.core.model import Operator
from station.core.pin import VerifierError, verify_pin
from station.core.signing import (
    REDO_REASONS,
    Meaning,
    Method,
    PinState,
    SignAction,
    Signature,
    SigningSession,
    approver_problems,
    manifestation,
    meaning_of,
    required_method,
    signed,
    signing_refusal,
    statement,
)
from station.store import StoreError

if TYPE_CHECKING:
    from station.bench.context import BenchContext

log = logging.getLogger(__name__)

OnSigned = Callable[[list[dict[str, Any]]], Notice]


@dataclass
class Signer:
    """One signature still to collect. `operator` None: an approver, named by their badge."""

    meaning: Meaning
    operator: Operator | None
    method: Method
    badge_seen: bool = False


@dataclass
class SignRequest:
    """A step waiting for its signature(s): what is signed, by whom, and what follows."""

    action: SignAction
    subject: str  # what is signed, e.g. "calibration of CAL-0042"
    signers: list[Signer]
    on_signed: OnSigned
    qualification: str | None = None  # what an approver must hold
    again: str = ""  # how to ask for it again once cancelled
    signatures: list[Signature] = field(default_factory=list)

    @property
    def signer(self) -> Signer:
        """The signer whose signature is collected now."""
        return self.signers[len(self.signatures)]

    def statement(self) -> str:
        """What the signer declares (11.50(a)(3)), e.g. "I sign this calibration as its
        author"."""
        return statement(self.action, self.signer.meaning)

    @property
    def awaiting_badge(self) -> bool:
        """True while the signer's badge must be scanned before the PIN."""
        s = self.signer
        return s.operator is None or (s.method == "badge+pin" and not s.badge_seen)

    def prompt(self) -> str:
        """What the signer does next."""
        s = self.signer
        if s.operator is None:
            held = f" holding {self.qualification}" if self.qualification else ""
            return f"the approver (another person{held}) scans their badge"
        who = f"{s.operator.name} ({s.operator.id})"
        if self.awaiting_badge:
            return f"{who}: scan your badge again, then type your PIN"
        return f"{who}: type your PIN"


@dataclass(frozen=True)
class PinTarget:
    """What a PIN is checked against: the pending request's signer and their verifier."""

    request: SignRequest
    operator: Operator
    verifier: str = field(repr=False)


def needs(ctx: BenchContext, action: SignAction) -> bool:
    """True when `[signatures] required` lists `action`."""
    return ctx.config.signatures.needs(action)


def redo_refusal(ctx: BenchContext, reason: str | None) -> Notice | None:
    """Why a redo with `reason` is refused: a signed redo names one of `REDO_REASONS`."""
    codes = "codes: " + ", ".join(REDO_REASONS)
    if reason is None and needs(ctx, "redo"):
        return error("a redo is signed here: give its reason", codes)
    if reason is not None and reason not in REDO_REASONS:
        return error(f"unknown redo reason {reason!r}", codes)
    return None


def replaced_event(
    ctx: BenchContext,
    reason: tuple[str, str] | None,
    signatures: list[dict[str, Any]] | None,
    **detail: Any,
) -> dict[str, Any]:
    """The `reading-replaced` event of a redo (inspection or study): the old and new value
    in `detail`, the redo's reason code and note, and the signatures of a signed redo. The
    replaced value stays in the audit trail (21 CFR 11.10(e))."""
    why = {} if reason is None else {"reason": reason[0], "note": reason[1]}
    body = ctx.event_body("reading-replaced", **detail, **why)
    if signatures:
        body["signatures"] = signatures
    return body


def _pin_state(ctx: BenchContext, operator_id: str) -> PinState:
    return ctx.pins.state(ctx.store, operator_id, ctx.config.signatures.max_pin_failures)


def _session(ctx: BenchContext) -> SigningSession:
    st = ctx.state
    assert st.operator is not None
    s = st.signing
    if s is None or s.operator != st.operator.id:
        # No login seen (a resumed state): badge and PIN, the safe side.
        s = SigningSession(st.operator.id, ctx.clock())
        st.signing = s
    return s


def request(
    ctx: BenchContext,
    action: SignAction,
    subject: str,
    on_signed: OnSigned,
    *,
    approver: str | None = None,
    again: str = "",
) -> Notice:
    """Ask the logged-in operator (and, with `approver` = the qualification an approver must
    hold, a second person) to sign; `on_signed` runs once every signature is collected."""
    st = ctx.state
    op = st.operator
    if op is None:
        return error("scan your badge first: a signature names who signs")
    ctx.refresh_master()  # the PIN verifier the QMS holds now
    current = ctx.master.operator_by_badge(op.badge) or op
    why = signing_refusal(current.pin, _pin_state(ctx, op.id), current)
    if why is not None:
        return error(f"the {subject} needs your signature, which is refused", why)
    method = required_method(_session(ctx), ctx.clock(), ctx.config.signatures.session_timeout_s)
    signers = [Signer(meaning_of(action), current, method)]
    if approver is not None:
        signers.append(Signer(meaning_of(action, approver=True), None, "badge+pin"))
    req = SignRequest(action, subject, signers, on_signed, qualification=approver, again=again)
    st.sign_request = req
    return info(f"signature needed: {req.statement()} ({subject})", req.prompt())


def busy(ctx: BenchContext) -> Notice:
    """Why nothing else is taken while a signature is pending."""
    req = ctx.state.sign_request
    assert req is not None
    return error(f"sign the {req.subject} first, or cancel it (Esc)", req.prompt())


def cancel(ctx: BenchContext) -> Notice:
    """Drop the pending request: nothing of it is recorded."""
    req = ctx.state.sign_request
    if req is None:
        return info("no signature is pending")
    ctx.state.sign_request = None
    tail = f": {req.again}" if req.again else ""
    return warn(f"not signed: the {req.subject} is NOT recorded{tail}")


def badge(
    ctx: BenchContext, operator: Operator, login: Callable[[BenchContext, Operator], Notice]
) -> Notice:
    """A badge scanned: the badge step of a pending signature, else a login through `login`
    (`station.bench.session.badge`, which refuses an operator locked at this station), which
    starts the signing session."""
    st = ctx.state
    req = st.sign_request
    if req is not None:
        return _badge_step(ctx, req, operator)
    notice = login(ctx, operator)  # refuses an operator locked here (`session.badge`)
    if st is ctx.state and st.operator is not None and st.signing is None:
        st.signing = SigningSession(st.operator.id, ctx.clock())
    return notice


def _badge_step(ctx: BenchContext, req: SignRequest, operator: Operator) -> Notice:
    s = req.signer
    if s.operator is None:  # the approver presents themself
        author = req.signers[0].operator
        assert author is not None and req.qualification is not None
        problems = list(
            approver_problems(
                author, operator, qualification=req.qualification, now=ctx.clock(), zone=ctx.zone
            )
        )
        why = signing_refusal(operator.pin, _pin_state(ctx, operator.id), operator)
        if why is not None and why not in problems:
            problems.append(why)
        if problems:
            ctx.record_attempt(
                "approver-refused",
                f"{author.id} {operator.id}",
                approver=operator.id,
                action=req.action,
                reasons=problems,
            )
            return error(f"{operator.name} ({operator.id}) may not approve", *problems)
        s.operator, s.badge_seen = operator, True
        return info(f"{req.statement()} ({req.subject})", req.prompt())
    if operator.id != s.operator.id:
        return error(f"this is the badge of {operator.name}: {req.prompt()}")
    s.badge_seen = True
    return info(f"{req.statement()} ({req.subject})", req.prompt())


def pin_target(ctx: BenchContext) -> PinTarget | Notice:
    """What the typed PIN is checked against now, or why no PIN is taken."""
    st = ctx.state
    req = st.sign_request
    if req is None:
        return error("no signature is pending")
    s = req.signer
    if s.method == "pin" and st.operator is not None and s.operator is not None:
        # Judged again now: a request left waiting past the timeout needs the badge again.
        timeout = ctx.config.signatures.session_timeout_s
        if s.operator.id == st.operator.id:
            s.method = required_method(_session(ctx), ctx.clock(), timeout)
    if req.awaiting_badge:
        return error(f"badge first: {req.prompt()}")
    op = req.signer.operator
    assert op is not None
    why = signing_refusal(op.pin, _pin_state(ctx, op.id), op)
    if why is not None:
        return error(why)
    assert op.pin is not None
    return PinTarget(req, op, op.pin)


def check_pin(target: PinTarget, pin: str) -> bool | None:
    """scrypt: True when `pin` matches, None when the verifier itself is broken. Pure (no
    store): safe in a worker thread."""
    try:
        return verify_pin(target.verifier, pin)
    except VerifierError:
        return None


def submit_pin(ctx: BenchContext, pin: str) -> Notice:
    """Check `pin` for the pending request on this thread (blocks for the scrypt cost)."""
    target = pin_target(ctx)
    if isinstance(target, Notice):
        return target
    return pin_result(ctx, target, check_pin(target, pin))


def pin_result(ctx: BenchContext, target: PinTarget, matched: bool | None) -> Notice:
    """Apply a PIN check: sign, count a failure (and lock), or report a broken verifier."""
    st = ctx.state
    req = st.sign_request
    op = target.operator
    if req is not target.request or req.signer.operator is not op:
        return error("the signature request changed meanwhile: type the PIN again")
    if matched is None:
        log.error("operator %s: the PIN verifier in the master data is unusable", op.id)
        return error(
            f"the PIN verifier of {op.id} in the master data is unusable: the QMS must "
            "publish the operator again (not counted as a wrong PIN)"
        )
    cfg = ctx.config.signatures
    before = _pin_state(ctx, op.id)
    if not matched:
        return _failed(ctx, req, op, before.failures + 1, cfg.max_pin_failures)
    now = ctx.clock()
    if before.failures:
        ctx.store.append(
            "event",
            {"kind": PIN_ACCEPTED, "operator": op.id, "detail": {"after": before.failures}},
        )
    s = req.signer
    req.signatures.append(manifestation(op, s.meaning, now, s.method))
    if len(req.signatures) == 1 and st.signing is not None and st.signing.operator == op.id:
        st.signing = signed(st.signing, now)
    if len(req.signatures) < len(req.signers):
        return info(f"signed by {op.name}: {req.statement()} ({req.subject})", req.prompt())
    st.sign_request = None
    return req.on_signed([sig.body() for sig in req.signatures])


def _failed(ctx: BenchContext, req: SignRequest, op: Operator, n: int, limit: int) -> Notice:
    detail = {"action": req.action, "failures": n, "max_pin_failures": limit}
    try:
        ctx.store.append("event", {"kind": PIN_FAILED, "operator": op.id, "detail": detail})
        if n >= limit:
            ctx.store.append(
                "event",
                {"kind": OPERATOR_LOCKED, "operator": op.id, "detail": {"failures": n}},
            )
    except StoreError as exc:
        # Fail closed: a failure the store cannot count must not give another free guess.
        ctx.state.sign_request = None
        return error("wrong PIN, and the failure could not be recorded: not signed", str(exc))
    left = limit - n
    if left > 0:
        return error(f"wrong PIN: {left} attempt(s) left before {op.id} is locked", req.prompt())
    ctx.state.sign_request = None
    head = f"wrong PIN: {op.name} ({op.id}) is locked at this station"
    tail = "until the QMS publishes the operator again; nothing was signed or recorded"
    st = ctx.state
    if st.operator is not None and st.operator.id == op.id:
        ctx.logout("locked after wrong PINs")
    return error(head, tail)


__all__ = [
    "PinTarget",
    "SignRequest",
    "Signer",
    "badge",
    "busy",
    "cancel",
    "check_pin",
    "needs",
    "pin_result",
    "pin_target",
    "redo_refusal",
    "replaced_event",
    "request",
    "submit_pin",
]
