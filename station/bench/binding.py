"""Which instrument each input reads with, and the calibration interlock in front of it.

An input's instrument is fixed in the config or bound by scanning its label; the scan is
bound on the input's next reading (`instrument_for`). A refused scan or a failed check keeps
the affected inputs refused until a fit instrument is scanned (issue 12.1, see
`station.bench.interlock`), and `input_refusal` says why for the screen. `poll_inputs_for`
chooses the poll input a poll key asks, from what the bench waits for.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol, TypeVar

from station.bench.context import BenchContext
from station.bench.interlock import Refusal, characteristic_in_hand
from station.bench.notice import Notice, error, ok, warn
from station.bench.state import Mode
from station.core.fitness import Fitness
from station.core.model import Characteristic, Instrument
from station.store import StoreError

log = logging.getLogger(__name__)


class PollInput(Protocol):
    """What choosing a poll input needs of a reader (`station.bench.inputs.InputReader`)."""

    @property
    def name(self) -> str: ...

    @property
    def mode(self) -> str: ...


R = TypeVar("R", bound=PollInput)


def in_hand(ctx: BenchContext, instrument: Instrument) -> Characteristic | None:
    """The characteristic the instrument's next reading would fill, if any."""
    d = ctx.state.draft
    if d is None:
        return None
    redo = None if ctx.state.redo is None else d.plan.characteristic(ctx.state.redo[0])
    return characteristic_in_hand(instrument, ctx.pending_samples(), redo)


def unfit(ctx: BenchContext, instrument: Instrument, *, fixed: bool) -> Refusal | None:
    """The interlock's refusal of `instrument` for what is in hand now, or None when fit."""
    fit = ctx.fitness(instrument, in_hand(ctx, instrument))
    return None if fit.usable else Refusal(instrument.id, fit.reasons, fixed)


def input_refusal(ctx: BenchContext, input_name: str) -> str | None:
    """None when `input_name` may take a reading now, else the full reason it takes none.

    For the screen (e.g. "CAL-0007 refused: calibration of instrument CAL-0007 is
    overdue: it was due on 2026-09-30; scan a fit instrument"). In instrument-check mode
    the check takes every reading and judges it itself, so nothing is refused here; so does
    a calibration (its instrument under test may well be overdue). In a gauge study every
    input reads the instrument under study, bound at its first reading.
    """
    st = ctx.state
    if st.mode in (Mode.CHECK, Mode.CALIBRATION):
        return None
    ctx.refresh_master()
    if st.mode is Mode.STUDY and st.study is not None:
        return _study_refusal(ctx, st.study.instrument, input_name)
    fixed = ctx.fixed_instrument(input_name)
    if fixed is None and st.selected_instrument is not None:
        # The next reading here binds the selection: it is what counts.
        selected = ctx.master.instrument(st.selected_instrument.id)
        if selected is None:
            return f"instrument {st.selected_instrument.id} is no longer in the master data"
        refusal = unfit(ctx, selected, fixed=False)
        return None if refusal is None else refusal.text()
    if fixed is None and input_name in st.refusals:
        return st.refusals[input_name].text()
    iid = fixed or ctx.store.bindings().get(input_name)
    if iid is None:
        return f"no instrument bound to input {input_name}: scan the instrument's label"
    instrument = ctx.master.instrument(iid)
    if instrument is None:
        return f"instrument {iid} is not in the master data"
    refusal = unfit(ctx, instrument, fixed=fixed is not None)
    return None if refusal is None else refusal.text()


def _study_refusal(ctx: BenchContext, inst: Instrument | None, input_name: str) -> str | None:
    """Why `input_name` takes no study reading now (`studying.reading` decides the same)."""
    if inst is None:
        return "no instrument under study yet: scan the instrument's label"
    fixed = ctx.fixed_instrument(input_name)
    if fixed is not None and fixed != inst.id:
        return f"input {input_name} is fixed to instrument {fixed}, not {inst.id} under study"
    fit = study_fitness(ctx, inst)
    return None if fit.usable else Refusal(inst.id, fit.reasons, fixed is not None).text()


def study_fitness(ctx: BenchContext, inst: Instrument) -> Fitness:
    """The interlock for the instrument under study by the master data the QMS holds now
    (the study keeps the instrument as scanned: it may since have been quarantined or fallen
    overdue); no characteristic, so no study gate."""
    ctx.refresh_master()
    return ctx.fitness(ctx.master.instrument(inst.id) or inst, None)


def refuse_inputs(ctx: BenchContext, refusal: Refusal, *, bound_to: str | None = None) -> list[str]:
    """Make scan-bound inputs take no reading until a fit instrument is scanned.

    Every input without a fixed instrument (or only those bound to `bound_to`) keeps
    `refusal` for the screen. Without `bound_to` (a refused scan: the inspector now
    holds another instrument than the bound one) the inputs are also unbound in the
    store, so a restart does not bring the old binding back; fail safe, the refusal
    holds even if unbinding fails. With `bound_to` (a failed check) the binding stays:
    the local quarantine is durable and blocks it after a restart too.
    """
    bindings = ctx.store.bindings()
    names = [
        i.name
        for i in ctx.config.inputs
        if i.instrument is None and (bound_to is None or bindings.get(i.name) == bound_to)
    ]
    for name in names:
        ctx.state.refusals[name] = refusal
        if bound_to is None and name in bindings:
            try:
                ctx.store.bind_instrument(name, None)
            except StoreError as exc:
                log.warning("input %s: could not unbind %s: %s", name, bindings[name], exc)
    return names


def select_instrument(ctx: BenchContext, instrument: Instrument) -> Notice:
    """An instrument label scanned during work: selected for the next reading, or refused."""
    characteristic = in_hand(ctx, instrument)
    fit = ctx.fitness(instrument, characteristic)
    if not fit.usable:
        # The inspector now holds this instrument: no input may go on reading under the
        # one scanned before (issue 12.1).
        ctx.state.selected_instrument = None
        names = refuse_inputs(ctx, Refusal(instrument.id, fit.reasons))
        ctx.record_attempt(
            "instrument-refused",
            instrument.id,
            instrument=instrument.id,
            characteristic=None if characteristic is None else characteristic.id,
            reasons=list(fit.reasons),
        )
        held = (
            [f"input {', '.join(names)} takes no reading until a fit instrument is scanned"]
            if names
            else []
        )
        return error(f"instrument {instrument.id} is blocked", *fit.reasons, *held)
    ctx.state.selected_instrument = instrument
    text = f"instrument {instrument.id} ({instrument.type}) selected: take a reading with it"
    return warn(text, *fit.warnings) if fit.warnings else ok(text)


def instrument_for(ctx: BenchContext, input_name: str) -> tuple[Instrument | None, Refusal | None]:
    """The instrument a reading on `input_name` is taken with, binding the scanned one.

    Raises:
        StoreError: the selection could not be bound; nothing changed.
    """
    st = ctx.state
    fixed = ctx.fixed_instrument(input_name)
    if fixed is None and st.selected_instrument is not None:
        ctx.store.bind_instrument(input_name, st.selected_instrument.id)
        st.selected_instrument = None
        st.refusals.pop(input_name, None)  # a fit instrument was scanned for it
    elif fixed is None and input_name in st.refusals:
        return None, st.refusals[input_name]
    iid = fixed or ctx.store.bindings().get(input_name)
    if iid is None:
        return None, Refusal(
            None, ("no instrument bound to it: scan the instrument's label first",)
        )
    instrument = ctx.master.instrument(iid)
    if instrument is None:
        return None, Refusal(None, (f"instrument {iid} is not in the master data",))
    return instrument, None


def poll_inputs_for(ctx: BenchContext, readers: Sequence[R]) -> tuple[list[R], str]:
    """The poll input a poll key should ask, from what the workflow waits for.

    In an instrument check: the input bound to the instrument being checked; in a
    calibration, to the instrument the current point reads; in a gauge study, to the
    instrument under study (before its first reading: an input bound to one of its type).
    In an inspection: the input whose instrument has the type the next (or redo) characteristic
    needs. With a single poll input, that one. Otherwise none, and why (the operator then
    types the input's name).
    """
    polls = [r for r in readers if r.mode == "poll"]
    if not polls:
        return [], "no poll input is configured: press the gauge's data button"
    st = ctx.state

    def bound_type(name: str) -> str | None:
        iid = ctx.bound_instrument_id(name)
        inst = ctx.master.instrument(iid) if iid else None
        return inst.type if inst else None

    wanted: str | None = None  # an instrument id (check) or type (inspection)
    cal = st.calibration
    if cal is not None and cal.reading_instrument is not None:
        wanted = cal.reading_instrument.id
        hits = [r for r in polls if ctx.bound_instrument_id(r.name) == wanted]
    elif st.check is not None and st.check.instrument is not None:
        wanted = st.check.instrument.id
        hits = [r for r in polls if ctx.bound_instrument_id(r.name) == wanted]
    elif st.mode is Mode.STUDY and st.study is not None and st.study.instrument is not None:
        studied = st.study.instrument
        wanted = studied.id
        hits = [r for r in polls if ctx.bound_instrument_id(r.name) == wanted] or [
            r
            for r in polls
            if ctx.fixed_instrument(r.name) is None and bound_type(r.name) == studied.type
        ]
    else:
        todo = [c for c, _ in ctx.pending_samples() if c.kind == "variable"]
        if st.redo is not None and st.draft is not None:
            todo = [st.draft.plan.characteristic(st.redo[0])]
        wanted = todo[0].instrument_type if todo else None
        hits = [r for r in polls if bound_type(r.name) == wanted]
    if hits:
        return hits[:1], ""
    if len(polls) == 1:
        return polls, ""
    names = ", ".join(r.name for r in polls)
    return [], (
        f"no poll input has a {wanted or 'suitable'} instrument: "
        f"type the input's name ({names}) and Enter"
    )


__all__ = [
    "PollInput",
    "in_hand",
    "input_refusal",
    "instrument_for",
    "poll_inputs_for",
    "refuse_inputs",
    "select_instrument",
    "study_fitness",
    "unfit",
]
