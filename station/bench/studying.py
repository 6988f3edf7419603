"""The workflow's side of study mode: scans, badges, readings and decisions routed, the
writes in safe order (issue 17).

`station.bench.studymode.Study` holds the study and decides; this module checks who may run
or appraise it (ISO 9001 7.2 via `station.core.gate`: active, qualified, unexpired), that the
instrument under study is fit (the same interlock as an inspection's, `BenchContext.fitness`:
a study with an overdue or quarantined gauge proves nothing about the gauge in use), performs
the writes and only then lets the state show them (issue 13.7: a step the store failed to
keep is undone). A redo's replaced reading is a `reading-replaced` event written with the new
draft in one transaction, as in inspections; a finished study is its `study` record written
with the cleared draft in one transaction.

Badges while a `grr` or `attribute-agreement` study runs (contract station.md: "a scan of
another operator's badge switches the appraiser"): another operator's badge makes them the
appraiser (an `appraiser-switched` event); the logged-in operator's own badge switches the
appraiser back to them when someone else was appraising, and otherwise logs out as always
(the study is kept and resumed at their next login). So a switch never logs anyone out by
surprise, and logging out is still one scan away for the operator who started the study.
A `type-1` study has one operator: badges behave as everywhere.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from drivers.base import Reading
from station.bench import jobdraft, session, signing
from station.bench.binding import study_fitness
from station.bench.context import BenchContext
from station.bench.notice import Notice, bad_news, error, info, ok, warn
from station.bench.state import Mode
from station.bench.studydraft import from_doc, to_doc
from station.bench.studymode import NAMES, Study, Taken
from station.core.gate import assess_operator
from station.core.model import Instrument, Operator, Plan, Procedure, Standard
from station.core.msa_attribute import Decision
from station.core.msa_tables import MsaError
from station.core.scan import InstrumentScan, Scan, StandardScan, normalize
from station.core.study_record import STUDY_KINDS
from station.core.units import UnitError, convert
from station.store import StoreError

log = logging.getLogger(__name__)

ESC = "Esc abandons it (recorded as an event)"


def is_study_procedure(ctx: BenchContext, procedure_id: str) -> bool:
    """True when `procedure_id` is a released gauge study procedure."""
    proc = ctx.master.released_procedure(procedure_id)
    return proc is not None and proc.kind in STUDY_KINDS


def _as_plan(proc: Procedure) -> Plan:
    """The operator gate judges a plan's qualifications; a procedure's are the same kind."""
    return Plan(proc.id, proc.rev, proc.status, (), (), qualifications=proc.qualifications)


def _owner_problem(ctx: BenchContext, study: Study) -> Notice | None:
    op = ctx.state.operator
    if op is not None and op.id != study.operator:
        return error(
            f"{study.operator} left a {NAMES[study.kind]} to {study.procedure.id} unfinished: "
            + ESC
        )
    return None


def procedure_scan(ctx: BenchContext, procedure_id: str) -> Notice:
    """A study procedure scanned: start the study (the scan again: retry its record)."""
    st = ctx.state
    study = st.study
    if study is not None:
        problem = _owner_problem(ctx, study)
        if problem is not None:
            return problem
        if study.procedure.id == procedure_id and study.complete and study.record is None:
            return finish(ctx, study)
        if study.procedure.id == procedure_id:
            return info(study.prompt())
        return error(f"{NAMES[study.kind]} to {study.procedure.id} in progress: {study.prompt()}")
    if st.calibration is not None:
        return error(f"the calibration to {st.calibration.procedure.id} is unfinished: Esc first")
    if st.mode is not Mode.READY or st.draft is not None:
        return error(f"procedure {procedure_id} not started: {st.mode.value} first")
    proc = ctx.master.released_procedure(procedure_id)
    if proc is None:
        return error(f"procedure {procedure_id} has no released revision")
    assert st.operator is not None and proc.kind in STUDY_KINDS
    lacks = _procedure_problem(proc)
    if lacks is not None:
        return error(f"procedure {proc.id} cannot be run: {lacks}")
    gate = assess_operator(st.operator, _as_plan(proc), ctx.clock(), zone=ctx.zone)
    if not gate.allowed:
        reasons = [r.replace(" by plan ", " by procedure ") for r in gate.reasons]
        ctx.record_attempt(
            "study-refused",
            f"{st.operator.id} {proc.id}",
            procedure={"id": proc.id, "rev": proc.rev},
            reasons=reasons,
        )
        return error(f"{st.operator.name} may not run {proc.id}", *reasons)
    study = Study(proc, st.operator.id, ctx.clock(), appraiser=st.operator.id)
    try:  # written first, like a calibration's draft: a restart offers it again
        ctx.store.save_draft(to_doc(study))
    except StoreError as exc:
        return error(f"study {proc.id} not started: the record store failed", str(exc))
    st.study = study
    st.mode = Mode.STUDY
    title = f" ({proc.title})" if proc.title else ""
    return ok(
        f"{NAMES[proc.kind]} {proc.id} rev {proc.rev}{title}: {study.prompt()}", *gate.warnings
    )


def _procedure_problem(proc: Procedure) -> str | None:
    """What the procedure lacks to be run (the schema requires it; a bench checks anyway)."""
    if proc.kind == "type-1":
        if not proc.readings or not proc.tolerance:
            return "a type-1 study needs `readings` and `tolerance`"
        return None
    if not proc.appraisers or not proc.trials or not (proc.parts or proc.references):
        return f"a {proc.kind} study needs `parts`, `appraisers` and `trials`"
    if proc.kind == "grr" and not proc.tolerance:
        return "a grr study needs `tolerance`"
    if proc.kind == "attribute-agreement" and len(proc.references) != (proc.parts or 0):
        return f"{len(proc.references)} reference decisions for {proc.parts} parts"
    return None


def scan(ctx: BenchContext, s: Scan, raw: str) -> Notice:
    """A scan other than a badge or a procedure while a study is loaded."""
    study = ctx.state.study
    assert study is not None
    problem = _owner_problem(ctx, study)
    if problem is not None:
        return problem
    if study.record is not None:
        return error(f"the {NAMES[study.kind]} is recorded: press Esc to leave it first")
    before = copy.deepcopy(study)
    if isinstance(s, InstrumentScan):
        return instrument_scan(ctx, study, s.instrument)
    if isinstance(s, StandardScan):
        return standard_scan(ctx, study, s.standard)
    # A sample part's label: its whole text (a GS1 label too), as the procedure names it.
    return _kept(ctx, study, before, study.set_part(normalize(raw).text))


def instrument_scan(ctx: BenchContext, study: Study, inst: Instrument) -> Notice:
    """The instrument under study scanned: it must be fit (as for an inspection)."""
    before = copy.deepcopy(study)
    notice = study.set_instrument(inst, ctx.fitness(inst, None))
    if notice.refused:
        ctx.record_attempt(
            "instrument-refused",
            inst.id,
            instrument=inst.id,
            context="study",
            reasons=list(notice.details) or [notice.text],
        )
        return notice
    return _kept(ctx, study, before, notice)


def standard_scan(ctx: BenchContext, study: Study, std: Standard) -> Notice:
    """The type-1 reference standard scanned: it must be fit (active, not overdue)."""
    before = copy.deepcopy(study)
    notice = study.set_standard(std, ctx.clock(), ctx.zone)
    if notice.refused:
        ctx.record_attempt(
            "standard-refused",
            std.id,
            standard=std.id,
            context="study",
            reasons=list(notice.details) or [notice.text],
        )
        return notice
    return _kept(ctx, study, before, notice)


# -- badges ------------------------------------------------------------------------------


def badge(ctx: BenchContext, operator: Operator) -> Notice:
    """A badge scanned: a login resuming a study, an appraiser switch, or as always."""
    st = ctx.state
    study = st.study
    if study is None:
        return session.badge(ctx, operator)
    if st.operator is None:
        notice = session.badge(ctx, operator)
        if ctx.state.operator is None:  # refused (inactive, store failure)
            return notice
        st.mode = Mode.STUDY  # nothing else starts before the study is resumed or abandoned
        if operator.id != study.operator:
            return warn(
                f"welcome {operator.name}: {study.operator} left a {NAMES[study.kind]} to "
                f"{study.procedure.id} unfinished; {ESC}"
            )
        if study.complete and study.record is None:
            return finish(ctx, study)
        return info(f"welcome {operator.name}: {NAMES[study.kind]} resumed: {study.prompt()}")
    own = st.operator.id == operator.id
    if study.type1 or study.record is not None or st.operator.id != study.operator:
        return logout(ctx, "badge scanned again") if own else session.badge(ctx, operator)
    if own and study.appraiser == operator.id:
        return logout(ctx, "badge scanned again")
    return switch_appraiser(ctx, study, operator)


def switch_appraiser(ctx: BenchContext, study: Study, operator: Operator) -> Notice:
    """`operator` appraises next: active and qualified for the procedure, like its runner."""
    proc = study.procedure
    gate = assess_operator(operator, _as_plan(proc), ctx.clock(), zone=ctx.zone)
    if not gate.allowed:
        reasons = [r.replace(" by plan ", " by procedure ") for r in gate.reasons]
        ctx.record_attempt(
            "appraiser-refused",
            f"{operator.id} {proc.id}",
            appraiser=operator.id,
            procedure={"id": proc.id, "rev": proc.rev},
            reasons=reasons,
        )
        return error(f"{operator.name} may not appraise in {proc.id}", *reasons)
    before = copy.deepcopy(study)
    notice = study.switch_appraiser(operator.id)
    if notice.refused or study.appraiser == before.appraiser:
        return notice
    doc = to_doc(study)
    body = ctx.event_body(
        "appraiser-switched",
        procedure={"id": proc.id, "rev": proc.rev},
        previous=before.appraiser,
        appraiser=operator.id,
    )
    try:  # the event and the draft naming the new appraiser: one transaction
        ctx.store.append_and_clear_draft("event", body, next_draft=lambda _r: doc)
    except StoreError as exc:
        study.__dict__.update(before.__dict__)
        return error("appraiser NOT switched: the record store failed; scan again", str(exc))
    return Notice(notice.level, notice.text, (*notice.details, *gate.warnings))


def logout(ctx: BenchContext, why: str) -> Notice:
    """Log out; a study not yet recorded is kept (its draft is saved) for its operator."""
    study = ctx.state.study
    notice = session.logout(ctx, why)
    if study is not None and study.record is None:
        ctx.state.study = study  # the session's new state knows nothing of studies
        return Notice(notice.level, f"{notice.text}: the unfinished study is kept", notice.details)
    return notice


# -- readings and decisions ----------------------------------------------------------------


def reading(ctx: BenchContext, input_name: str, r: Reading) -> Notice:
    """A value from an input while a study runs: debounced as every reading
    (`station.bench.debounce`, issue 13.6: one press is one reading), then taken."""
    verdict, gap_ms = ctx.debounce.classify(input_name, r.monotonic, r.raw)
    if verdict == "bounce":
        ctx.record_attempt(
            "reading-debounced", input_name, input=input_name, raw=r.raw, gap_ms=gap_ms
        )
        return info(f"input {input_name}: the same frame again {gap_ms:.0f} ms later: taken once")
    if verdict == "too-soon":
        ctx.debounce.seen(input_name, r.monotonic, r.raw, taken=False)
        return error(
            f"reading {r.value:g} not taken: too soon after the previous one; "
            "press the data button again to take it"
        )
    study = ctx.state.study
    assert study is not None
    count = (len(study.readings), study.redo)
    try:
        notice = _value(ctx, study, input_name, r)
    except StoreError as exc:
        notice = error(f"reading {r.value:g} NOT recorded: the record store failed", str(exc))
    ctx.debounce.seen(
        input_name,
        r.monotonic,
        r.raw,
        taken=(len(study.readings), study.redo) != count or study.record is not None,
    )
    return notice


def _value(ctx: BenchContext, study: Study, input_name: str, r: Reading) -> Notice:
    problem = _owner_problem(ctx, study)
    if problem is not None:
        return problem
    fixed = ctx.fixed_instrument(input_name)
    refused = study.refuse(False, input_name, fixed)
    if refused is not None:
        return refused
    inst = study.instrument
    assert inst is not None
    fit = study_fitness(ctx, inst)  # quarantined or overdue since the scan: no more readings
    if not fit.usable:
        ctx.record_attempt(
            "reading-refused",
            f"{input_name} {inst.id}",
            input=input_name,
            instrument=inst.id,
            raw=r.raw,
            reasons=list(fit.reasons),
        )
        return error(f"reading refused: instrument {inst.id} is blocked", *fit.reasons)
    unit = r.unit or inst.unit
    try:
        value = convert(r.value, unit, study.procedure.unit)
    except UnitError as exc:
        return error(f"reading {r.value:g} {unit} refused: {exc}")
    if fixed is None and ctx.store.bindings().get(input_name) != inst.id:
        ctx.store.bind_instrument(input_name, inst.id)
    taken, replaces = study.next_reading(value, None, r.raw, r.wall)
    return _commit(ctx, study, taken, replaces, input_name)


def decision(ctx: BenchContext, passed: bool) -> Notice:
    """Ctrl+P (accept) / Ctrl+F (reject): the appraiser's decision on the current part."""
    study = ctx.state.study
    assert study is not None
    problem = _owner_problem(ctx, study) or study.refuse(True)
    if problem is not None:
        return problem
    verdict: Decision = "accept" if passed else "reject"
    taken, replaces = study.next_reading(None, verdict, None, ctx.clock())
    return _commit(ctx, study, taken, replaces, None)


def redo(ctx: BenchContext, reason: str | None = None, note: str = "") -> Notice:
    """Ctrl+R: the next value or decision replaces the last reading; with `reason` (one of
    `REDO_REASONS`, required when redos are signed) and a free `note`."""
    study = ctx.state.study
    assert study is not None
    refused = signing.redo_refusal(ctx, reason)
    if refused is not None:
        return refused
    before = copy.deepcopy(study)
    why = None if reason is None else (reason, note.strip())
    return _kept(ctx, study, before, _owner_problem(ctx, study) or study.start_redo(why))


def _shown(study: Study, t: Taken) -> str:
    return t.decision or f"{t.value:g} {study.procedure.unit}"


def _commit(
    ctx: BenchContext,
    study: Study,
    taken: Taken,
    replaces: int | None,
    input_name: str | None,
    *,
    signatures: list[dict[str, Any]] | None = None,
) -> Notice:
    """Take a reading: written first (with its replaced one's event), then shown; a
    replacement is signed first where `[signatures] required` lists "redo"."""
    old = None if replaces is None else study.readings[replaces]
    if old is not None and signatures is None and signing.needs(ctx, "redo"):
        return signing.request(
            ctx,
            "redo",
            f"replacement of {old.label()} ({_shown(study, old)} by {_shown(study, taken)})",
            lambda sigs: _commit(ctx, study, taken, replaces, input_name, signatures=sigs),
            again="take the reading again",
        )
    reason = study.redo_reason
    before = copy.deepcopy(study)
    study.take(taken, replaces)
    if input_name is not None:
        study.inputs.add(input_name)
    text = f"{taken.label()}: {_shown(study, taken)}"
    doc = to_doc(study)
    try:
        if old is None:
            ctx.store.save_draft(doc)
        else:  # the replaced reading stays in the audit trail (21 CFR 11.10(e) spirit)
            body = signing.replaced_event(
                ctx,
                reason,
                signatures,
                procedure={"id": study.procedure.id, "rev": study.procedure.rev},
                study=study.kind,
                old=old.body(),
                new=taken.body(),
            )
            ctx.store.append_and_clear_draft("event", body, next_draft=lambda _r: doc)
    except StoreError as exc:
        study.__dict__.update(before.__dict__)
        return error(f"{text} NOT recorded: the record store failed; take it again", str(exc))
    if study.complete:
        return finish(ctx, study)
    return Notice("info", f"{text}; next: {study.prompt()}", recorded=True)


def finish(
    ctx: BenchContext, study: Study, signatures: list[dict[str, Any]] | None = None
) -> Notice:
    """Record the complete study (`study` record, draft cleared in the same transaction),
    signed first by its author when `[signatures] required` lists `study`."""
    try:
        body = study.body(ctx.clock())
    except (MsaError, ValueError, ZeroDivisionError) as exc:
        return error(
            f"the {NAMES[study.kind]} cannot be evaluated: {exc}",
            "redo a reading (Ctrl+R) or abandon the study (Esc)",
        )
    if signatures is None and signing.needs(ctx, "study"):
        # 21 CFR 11.50/11.70: the author signs the figures shown, and the signature is
        # recorded inside the body; every reading is in the draft meanwhile.
        asked = signing.request(
            ctx,
            "study",
            f"{NAMES[study.kind]} of {body['instrument']}",
            lambda sigs: finish(ctx, study, sigs),
            again=f"scan {study.procedure.id} again to sign it",
        )
        head = f"{body['verdict'].upper()}: " if not asked.refused else ""
        return Notice(asked.level, head + asked.text, (*asked.details, *result_lines(body)))
    if signatures:
        body["signatures"] = signatures
    try:
        record = ctx.store.append_and_clear_draft("study", body)
    except StoreError as exc:
        # Every reading is in the draft: scanning the procedure again retries the record.
        return error(
            f"{NAMES[study.kind]} NOT recorded: the record store failed; "
            f"scan {study.procedure.id} again to retry",
            str(exc),
        )
    study.record = record
    return verdict_notice(study, record.body)


def verdict_notice(study: Study, body: dict[str, Any]) -> Notice:
    """The recorded study's verdict with its key figures."""
    verdict = str(body["verdict"])
    lines = result_lines(body)
    head = f"{NAMES[study.kind]} of {body['instrument']}: {verdict.upper()}"
    if verdict == "unacceptable":
        return bad_news(head, *lines)
    return Notice("ok" if verdict == "acceptable" else "warn", head, tuple(lines), recorded=True)


def result_lines(body: dict[str, Any]) -> list[str]:
    """The study's figures, one line each (the screen and the verdict notice)."""
    res, kind = body["results"], body["kind"]

    def num(x: Any, fmt: str = ".3g") -> str:
        return "-" if x is None else format(x, fmt)

    if kind == "type-1":
        return [
            f"n {res['n']}  mean {num(res['mean'], '.6g')}  s {num(res['s'])}  "
            f"bias {num(res['bias'])}",
            f"Cg {num(res['cg'])}  Cgk {num(res['cgk'])}  resolution "
            f"{num(res['resolution_pct'])} % of T",
            *res["notes"],
        ]
    if kind == "grr":
        out = []
        for method in ("average-range", "anova"):
            m = res[method]
            out.append(
                f"{method}: %GRR {num(m['pct_grr'])}  %tol {num(m['pct_tolerance'])}  "
                f"ndc {num(m['ndc'], 'd')}  {m['verdict']}"
            )
        p = res["anova"]["p_interaction"]
        out.append(f"interaction p {num(p)}" + (" (pooled)" if res["anova"]["pooled"] else ""))
        beyond = res["average-range"]["beyond_ucl"]
        if beyond:
            out.append(
                "ranges beyond UCL: " + ", ".join(f"{b['appraiser']}/{b['part']}" for b in beyond)
            )
        return out
    out = [
        f"{a['appraiser']}: kappa within {num(a['kappa_within'])}  vs reference "
        f"{num(a['kappa_reference']['kappa'])}  effectiveness {num(a['effectiveness'])}"
        for a in res["appraisers"]
    ]
    out += [
        f"{b['appraisers'][0]}*{b['appraisers'][1]}: kappa {num(b['kappa'])}"
        for b in res["between"]
    ]
    return out + list(res["notes"])


# -- leave, resume -----------------------------------------------------------------------


def leave(ctx: BenchContext) -> Notice:
    """Esc: leave study mode; an unrecorded study is abandoned (an event, no record)."""
    st = ctx.state
    study = st.study
    if study is None:
        return info("no study loaded")
    if study.record is None:
        refused = jobdraft.abandon(ctx, "study", "study-abandoned", study=to_doc(study))
        if refused is not None:
            return refused
    st.study = None
    if st.mode is Mode.STUDY:
        st.mode = Mode.READY
    if study.record is None:
        return warn(f"study {study.procedure.id} abandoned: no study recorded")
    return info("scan a part")


def resume(ctx: BenchContext, doc: dict[str, Any]) -> Notice:
    """At start: the study in progress when the bench stopped, for its operator."""
    try:
        study = from_doc(doc, ctx.master)
    except (ValueError, KeyError, TypeError) as exc:
        return jobdraft.unreadable(ctx, doc, exc, "study")
    ctx.state.study = study
    return warn(
        f"unfinished {NAMES[study.kind]} to {study.procedure.id} rev {study.procedure.rev}: "
        f"log in as {study.operator} to resume it, or log in and abandon it (Esc)"
    )


def _kept(ctx: BenchContext, study: Study, before: Study, notice: Notice) -> Notice:
    return jobdraft.kept(ctx, study, before, to_doc, notice)


__all__ = [
    "badge",
    "decision",
    "finish",
    "instrument_scan",
    "is_study_procedure",
    "leave",
    "logout",
    "procedure_scan",
    "reading",
    "redo",
    "resume",
    "scan",
    "standard_scan",
    "switch_appraiser",
]
