"""A value from an input's driver: debounced, interlocked, judged, and recorded or refused.

One press of a data button is one reading (`station.bench.debounce`, issue 13.6). No reading
from an unfit instrument is ever accepted (ISO 9001 7.1.5.2: measuring equipment shall be
verified, identified and safeguarded; `station.bench.binding`). Refused readings are `event`
records, rate-limited (`station.bench.audit`). In instrument-check mode every reading goes to
the check (`station.bench.checking`), in calibration mode to the calibration
(`station.bench.calibrating`), which judges its instruments itself.
"""

from __future__ import annotations

import dataclasses
import logging

from drivers.base import Reading
from station.bench.binding import instrument_for
from station.bench.calibrating import reading as calibration_reading
from station.bench.checking import check_reading
from station.bench.context import BenchContext
from station.bench.inspecting import accept
from station.bench.interlock import Refusal
from station.bench.notice import Notice, error, info, warn
from station.bench.state import Mode
from station.core.inspection import InspectionError, measure_variable
from station.core.model import Characteristic, Instrument
from station.core.units import UnitError
from station.core.verdict import ConfigurationError
from station.store import StoreError

log = logging.getLogger(__name__)


def reading(ctx: BenchContext, input_name: str, r: Reading) -> Notice:
    """A value arrived from an input's driver: judge it and record it, or refuse it."""
    shown = f"{r.value:g} {r.unit or ''}".strip()
    verdict, gap_ms = ctx.debounce.classify(input_name, r.monotonic, r.raw)
    window = ctx.debounce.window_ms(input_name)
    if verdict == "bounce":
        log.info("input %s: frame %r again after %.1f ms: one reading", input_name, r.raw, gap_ms)
        ctx.record_attempt(
            "reading-debounced", input_name, input=input_name, raw=r.raw, gap_ms=gap_ms
        )
        return info(
            f"input {input_name}: the same frame again {gap_ms:.0f} ms later "
            "(a bouncing switch): taken once"
        )
    if verdict == "too-soon":
        ctx.debounce.seen(input_name, r.monotonic, r.raw, taken=False)
        why = (
            f"it came {gap_ms:.0f} ms after the previous reading, within the "
            f"{window:g} ms debounce window of input {input_name}"
        )
        _attempt(ctx, input_name, r, None, [why])
        return error(
            f"reading {shown} not taken: too soon after the previous one; "
            "press the data button again to take it"
        )
    try:
        notice, taken = _take(ctx, input_name, r, shown)
    except StoreError as exc:  # each step writes before it changes the state
        notice, taken = (
            error(
                f"reading {shown} NOT recorded: the record store failed; take it again", str(exc)
            ),
            False,
        )
    ctx.debounce.seen(input_name, r.monotonic, r.raw, taken=taken)
    return notice


def _take(ctx: BenchContext, input_name: str, r: Reading, shown: str) -> tuple[Notice, bool]:
    """The reading after the debounce: (what to tell, whether it filled a sample)."""
    st = ctx.state
    if st.mode is Mode.CHECK and st.check is not None:
        check = st.check
        before, was_done = len(check.readings), check.done
        notice = check_reading(ctx, check, input_name, r)
        return notice, len(check.readings) > before or (check.done and not was_done)
    if st.mode is Mode.CALIBRATION and st.calibration is not None:
        cal = st.calibration
        progress = cal.progress
        notice = calibration_reading(ctx, cal, input_name, r)
        return notice, cal.progress != progress
    if st.mode is not Mode.INSPECTING or st.draft is None:
        return warn(f"reading {shown} from input {input_name} ignored: {st.mode.value}"), False
    ctx.refresh_master()
    instrument, refusal = instrument_for(ctx, input_name)
    if refusal is not None:
        text = (
            f"reading refused: instrument {refusal.instrument} is blocked"
            if refusal.instrument is not None and refusal.reasons
            else f"reading {shown} from input {input_name} refused: " + "; ".join(refusal.reasons)
        )
        details = [*refusal.reasons, refusal.text()] if refusal.instrument else []
        _attempt(ctx, input_name, r, refusal.instrument, list(refusal.reasons))
        return error(text, *details), False
    assert instrument is not None
    target = target_for(ctx, instrument)
    if isinstance(target, Notice):
        _attempt(ctx, input_name, r, instrument.id, [target.text])
        return target, False
    characteristic, sample = target
    fit = ctx.fitness(instrument, characteristic)
    fixed = ctx.fixed_instrument(input_name) is not None
    if not fit.usable:
        if not fixed:
            # Sticky until a fit instrument is scanned, even if the QMS lifts the cause.
            st.refusals[input_name] = Refusal(instrument.id, fit.reasons)
        _attempt(ctx, input_name, r, instrument.id, list(fit.reasons))
        return error(f"reading refused: instrument {instrument.id} is blocked", *fit.reasons), False
    try:
        m = measure_variable(
            characteristic,
            sample,
            r.value,
            r.unit or instrument.unit,
            instrument=instrument,
            ts=r.wall,
            raw=r.raw,
        )
    except (UnitError, ConfigurationError, InspectionError, ValueError) as exc:
        _attempt(ctx, input_name, r, instrument.id, [str(exc)])
        return error(f"reading {shown} refused: {exc}"), False
    notice = accept(ctx, m)
    if fit.warnings:
        notice = dataclasses.replace(notice, details=(*notice.details, *fit.warnings))
    return notice, not notice.refused


def _attempt(
    ctx: BenchContext, input_name: str, r: Reading, instrument: str | None, reasons: list[str]
) -> None:
    """A refused reading in the audit trail (rate-limited); the caller tells the screen."""
    ctx.record_attempt(
        "reading-refused",
        f"{input_name} {instrument}",
        input=input_name,
        instrument=instrument,
        raw=r.raw,
        reasons=reasons,
    )


def target_for(ctx: BenchContext, instrument: Instrument) -> tuple[Characteristic, int] | Notice:
    """The (characteristic, sample) a reading with `instrument` fills, or why none."""
    st = ctx.state
    assert st.draft is not None
    if st.redo is not None:
        c = st.draft.plan.characteristic(st.redo[0])
        if c.kind != "variable":
            return error(f"{c.id} is an attribute: judge it with Ctrl+P (pass) or Ctrl+F (fail)")
        if c.instrument_type != instrument.type:
            return error(
                f"{c.id} is measured with a {c.instrument_type}; "
                f"instrument {instrument.id} is a {instrument.type}"
            )
        return c, st.redo[1]
    todo = [(c, s) for c, s in ctx.pending_samples() if c.kind == "variable"]
    for c, s in todo:
        if c.instrument_type == instrument.type:
            return c, s
    if not todo:
        return error("no characteristic left to measure with an instrument")
    needed = sorted({str(c.instrument_type) for c, _ in todo})
    return error(
        f"wrong instrument type: {instrument.id} is a {instrument.type}; "
        f"the characteristics left need: {', '.join(needed)}"
    )


__all__ = ["reading", "target_for"]
