"""The operator's session: badge in, badge out.

A login is written before it happens (issue 13.7: a login the store could not record does
not happen); a logout happens even when it cannot be recorded (fail closed: an unattended
session is worse than an unrecorded logout). Refused logins are audit events (21 CFR
11.10(e)), rate-limited by `station.bench.audit`. What outlives a session: the inspection in
progress, an owed nonconformance, unacknowledged SPC signals and the inputs' refusals.
"""

from __future__ import annotations

import logging

from station.bench.calibrating import write_suspect
from station.bench.context import BenchContext
from station.bench.notice import Notice, error, info, ok, warn
from station.bench.state import BenchState, Mode
from station.core.model import Operator
from station.core.signing import signing_refusal
from station.store import StoreError

log = logging.getLogger(__name__)


def _login_refusal(ctx: BenchContext, operator: Operator) -> str | None:
    """Why `operator` may not log in here at all: inactive, or locked at this station after
    wrong PINs (21 CFR 11.300(d): until the QMS publishes the operator again)."""
    if not operator.active:
        return f"operator {operator.id} ({operator.name}) is not active"
    if ctx.config.signatures.required:
        limit = ctx.config.signatures.max_pin_failures
        state = ctx.pins.state(ctx.store, operator.id, limit)
        if state.locked:
            return signing_refusal(operator.pin or "", state, operator) or "locked"
    return None


def badge(ctx: BenchContext, operator: Operator) -> Notice:
    """A badge scanned: log in, log out (the same badge again) or refuse."""
    st = ctx.state
    current = st.operator
    if current is not None:
        if current.id == operator.id:
            return logout(ctx, "badge scanned again")
        ctx.record_attempt(
            "login-refused",
            operator.id,
            badge=operator.badge,
            operator_id=operator.id,
            reasons=[f"{current.id} is logged in"],
        )
        return error(
            f"{current.name} ({current.id}) is logged in: scan that badge to log out first"
        )
    why = _login_refusal(ctx, operator)
    if why is not None:
        ctx.record_attempt(
            "login-refused",
            operator.id,
            badge=operator.badge,
            operator_id=operator.id,
            reasons=[why],
        )
        return error(f"{why}: login refused")
    # Written first: a login the store could not record does not happen (issue 13.7).
    ctx.store.append(
        "event", {"kind": "login", "operator": operator.id, "detail": {"badge": operator.badge}}
    )
    st.operator = operator
    st.mode = Mode.READY
    d = st.draft
    cal = st.calibration
    if cal is not None and cal.operator == operator.id:
        st.mode = Mode.CALIBRATION
        return info(f"welcome {operator.name}: calibration resumed: {cal.prompt()}")
    if cal is not None:
        return warn(
            f"welcome {operator.name}: {cal.operator} left a calibration to "
            f"{cal.procedure.id} unfinished; abandon it (Esc) before starting another"
        )
    if st.nc_for is not None:
        st.mode = Mode.NONCONFORMANCE
        part = st.nc_for.body["part"]["number"]
        return warn(f"welcome {operator.name}: part {part} was rejected; describe the NC")
    if st.spc_alerts and d is None:
        st.mode = Mode.SPC_SIGNAL
        return warn(f"welcome {operator.name}: an SPC signal awaits its assignable cause")
    if d is not None and d.operator == operator.id:
        st.mode = Mode.INSPECTING
        return info(f"welcome {operator.name}: inspection of part {d.part.number} resumed")
    if d is not None:
        return warn(
            f"welcome {operator.name}: {d.operator} left part {d.part.number} unfinished; "
            "abandon it (F8) before starting another"
        )
    return ok(f"welcome {operator.name}: scan a part")


def logout(ctx: BenchContext, why: str) -> Notice:
    """Log the operator out; an inspection in progress stays saved for resumption."""
    op = ctx.state.operator
    if op is None:
        return info("nobody is logged in")
    ctx.flush_attempts()
    # Fail closed: an unattended session is worse than a logout the store could not
    # record, so the operator is logged out either way, and told.
    unrecorded = ""
    try:
        ctx.event("logout", why=why)
    except StoreError as exc:
        log.warning("logout of %s not recorded: %s", op.id, exc)
        unrecorded = f"the logout could not be recorded: {exc}"
    st = ctx.state
    kept = st.draft is not None
    cal = st.calibration
    if cal is not None:
        # What the calibration recorded stays; an owed suspect list is written now if the
        # store takes it. One in progress is kept (its draft is saved) for its technician.
        problem = write_suspect(ctx, cal)
        if problem is not None:
            log.warning("suspect list of %s not written at logout: %s", op.id, problem)
        elif cal.record is not None:
            cal = None
    # The inspection in progress, unacknowledged SPC signals and the inputs' refusals
    # outlive the session.
    ctx.state = BenchState(
        draft=st.draft,
        plan=st.plan,
        spc_alerts=st.spc_alerts,
        nc_for=st.nc_for,
        refusals=st.refusals,
        calibration=cal,
    )
    kept_what = "inspection" if kept else "calibration" if cal and cal.record is None else ""
    tail = f": the unfinished {kept_what} is kept" if kept_what else ""
    text = f"{op.name} logged out ({why}){tail}"
    return warn(text, unrecorded) if unrecorded else info(text)


__all__ = ["badge", "logout"]
